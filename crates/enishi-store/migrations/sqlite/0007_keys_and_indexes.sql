-- Tables keyed by one integer get it as their rowid: SQLite makes only a column declared
-- exactly `INTEGER PRIMARY KEY` the row's key, so the `BIGINT PRIMARY KEY` of 0001 and 0003
-- kept a second B-tree beside each table. Rebuilding them saves one B-tree write per row
-- (every order writes an effect, a lot and its stats) and one lookup per read.
CREATE TABLE customer_stats_new (
  customer_id INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
  first_order_at BIGINT,
  last_order_at BIGINT,
  order_count BIGINT NOT NULL DEFAULT 0,
  purchase_days BIGINT NOT NULL DEFAULT 0,
  total_spend BIGINT NOT NULL DEFAULT 0,
  returned_amount BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
INSERT INTO customer_stats_new SELECT customer_id, first_order_at, last_order_at, order_count, purchase_days,
  total_spend, returned_amount, updated_at FROM customer_stats;
DROP TABLE customer_stats;
ALTER TABLE customer_stats_new RENAME TO customer_stats;

CREATE TABLE loyalty_accounts_new (
  customer_id INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
  balance BIGINT NOT NULL DEFAULT 0,
  tier TEXT,
  tier_since BIGINT,
  tier_locked_until BIGINT,
  referral_code TEXT NOT NULL UNIQUE,
  cards TEXT NOT NULL DEFAULT '{}',
  updated_at BIGINT NOT NULL
);
INSERT INTO loyalty_accounts_new SELECT customer_id, balance, tier, tier_since, tier_locked_until, referral_code,
  cards, updated_at FROM loyalty_accounts;
DROP TABLE loyalty_accounts;
ALTER TABLE loyalty_accounts_new RENAME TO loyalty_accounts;

CREATE TABLE loyalty_lots_new (
  ledger_id INTEGER PRIMARY KEY REFERENCES loyalty_ledger(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  remaining BIGINT NOT NULL,
  available_at BIGINT NOT NULL,
  expires_at BIGINT
);
INSERT INTO loyalty_lots_new SELECT ledger_id, customer_id, remaining, available_at, expires_at FROM loyalty_lots;
DROP TABLE loyalty_lots;
ALTER TABLE loyalty_lots_new RENAME TO loyalty_lots;
CREATE INDEX loyalty_lots_customer ON loyalty_lots (customer_id, remaining);
CREATE INDEX loyalty_lots_expiry ON loyalty_lots (expires_at) WHERE remaining > 0;

CREATE TABLE loyalty_order_effects_new (
  order_id INTEGER PRIMARY KEY REFERENCES orders(id) ON DELETE CASCADE,
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
INSERT INTO loyalty_order_effects_new SELECT order_id, customer_id, program_version, placed_at, placed_day, points,
  qualifying, reversed_points, reversed_qualifying, stamps, stamps_undone, detail FROM loyalty_order_effects;
DROP TABLE loyalty_order_effects;
ALTER TABLE loyalty_order_effects_new RENAME TO loyalty_order_effects;
CREATE INDEX loyalty_order_effects_customer ON loyalty_order_effects (customer_id, placed_at);

-- Customers are looked up by email, phone and account only with a value in hand, so those
-- indexes need only the customers that have one (an order import creates customers with none
-- of the three: three index writes saved per customer). The index on the lower-cased name
-- served no query: search matches anywhere in the name, which no index helps.
DROP INDEX customers_email;
CREATE INDEX customers_email ON customers (lower(email)) WHERE lower(email) IS NOT NULL;
DROP INDEX customers_phone;
CREATE INDEX customers_phone ON customers (phone) WHERE phone IS NOT NULL;
DROP INDEX customers_account;
CREATE INDEX customers_account ON customers (account_id) WHERE account_id IS NOT NULL;
DROP INDEX customers_name;
