-- Loyalty: programme versions, an append-only points ledger with dated lots, per-customer
-- loyalty state, per-order effects (what to take back on a return), coupons, memberships,
-- and an outbox of announcements.
CREATE TABLE loyalty_programs (
  version BIGINT PRIMARY KEY,
  document TEXT NOT NULL,
  effective_from BIGINT NOT NULL,
  applied_at BIGINT NOT NULL,
  applied_by TEXT NOT NULL
);

CREATE TABLE loyalty_accounts (
  customer_id BIGINT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
  balance BIGINT NOT NULL DEFAULT 0,
  tier TEXT,
  tier_since BIGINT,
  tier_locked_until BIGINT,
  referral_code TEXT NOT NULL UNIQUE,
  cards TEXT NOT NULL DEFAULT '{}',
  updated_at BIGINT NOT NULL
);

CREATE TABLE loyalty_ledger (
  id BIGSERIAL PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  points BIGINT NOT NULL,
  source TEXT NOT NULL,
  source_ref TEXT,
  program_version BIGINT,
  idempotency_key TEXT NOT NULL UNIQUE,
  reason TEXT,
  detail TEXT NOT NULL DEFAULT '{}',
  occurred_at BIGINT NOT NULL,
  available_at BIGINT NOT NULL,
  expires_at BIGINT,
  created_at BIGINT NOT NULL
);
CREATE INDEX loyalty_ledger_customer ON loyalty_ledger (customer_id, occurred_at);
CREATE INDEX loyalty_ledger_source ON loyalty_ledger (source, source_ref);

CREATE TABLE loyalty_lots (
  ledger_id BIGINT PRIMARY KEY REFERENCES loyalty_ledger(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  remaining BIGINT NOT NULL,
  available_at BIGINT NOT NULL,
  expires_at BIGINT
);
CREATE INDEX loyalty_lots_customer ON loyalty_lots (customer_id, remaining);
CREATE INDEX loyalty_lots_expiry ON loyalty_lots (expires_at) WHERE remaining > 0;

CREATE TABLE loyalty_order_effects (
  order_id BIGINT PRIMARY KEY REFERENCES orders(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  program_version BIGINT NOT NULL,
  placed_at BIGINT NOT NULL,
  placed_day BIGINT NOT NULL,
  points BIGINT NOT NULL,
  qualifying BIGINT NOT NULL,
  reversed_points BIGINT NOT NULL DEFAULT 0,
  reversed_qualifying BIGINT NOT NULL DEFAULT 0,
  stamps TEXT NOT NULL DEFAULT '[]',
  stamps_undone BIGINT NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX loyalty_order_effects_customer ON loyalty_order_effects (customer_id, placed_at);

CREATE TABLE loyalty_promotions (
  promotion_id TEXT PRIMARY KEY,
  spent BIGINT NOT NULL DEFAULT 0,
  announced_at BIGINT
);

CREATE TABLE loyalty_tier_history (
  id BIGSERIAL PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  from_tier TEXT,
  to_tier TEXT NOT NULL,
  changed_at BIGINT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX loyalty_tier_history_customer ON loyalty_tier_history (customer_id, changed_at);

CREATE TABLE loyalty_coupons (
  id BIGSERIAL PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  reward_id TEXT NOT NULL,
  source TEXT NOT NULL,
  source_ref TEXT,
  issued_at BIGINT NOT NULL,
  valid_until BIGINT NOT NULL,
  max_uses BIGINT NOT NULL,
  uses BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX loyalty_coupons_customer ON loyalty_coupons (customer_id, issued_at);

CREATE TABLE loyalty_coupon_uses (
  id BIGSERIAL PRIMARY KEY,
  coupon_id BIGINT NOT NULL REFERENCES loyalty_coupons(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  use_ref TEXT NOT NULL UNIQUE,
  used_at BIGINT NOT NULL
);

CREATE TABLE loyalty_memberships (
  id BIGSERIAL PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  plan_id TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  period_end BIGINT NOT NULL,
  cancelled_at BIGINT,
  updated_at BIGINT NOT NULL
);
CREATE INDEX loyalty_memberships_customer ON loyalty_memberships (customer_id, status);

CREATE TABLE loyalty_membership_payments (
  id BIGSERIAL PRIMARY KEY,
  membership_id BIGINT NOT NULL REFERENCES loyalty_memberships(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  plan_id TEXT NOT NULL,
  amount BIGINT NOT NULL,
  paid_at BIGINT NOT NULL,
  period_start BIGINT NOT NULL,
  period_end BIGINT NOT NULL
);

CREATE TABLE outbox (
  id BIGSERIAL PRIMARY KEY,
  topic TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  delivered_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (topic, id) WHERE delivered_at IS NULL;
