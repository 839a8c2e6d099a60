-- Journeys (step mails and triggers, docs/campaigns.md "Journeys"): a journey enters a customer
-- when its trigger fires — once per occurrence (the first purchase, an order, a birthday's
-- year, …) — and sends its steps one after another, each through a campaign of its own, until
-- the last step or an exit condition. A customer may be in a journey several times (an order
-- each), so a campaign's recipient rows gain `step`, naming the enrolment's step ('' for a
-- campaign's one message); at most one message per customer and campaign is in the send queue
-- at a time.
CREATE TABLE journeys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  trigger_kind TEXT NOT NULL,
  definition TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE journey_steps (
  journey_id BIGINT NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
  position BIGINT NOT NULL,
  step_key TEXT NOT NULL,
  campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  PRIMARY KEY (journey_id, position)
);

CREATE TABLE journey_enrolments (
  id INTEGER PRIMARY KEY,
  journey_id BIGINT NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  occurrence TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  entered_at BIGINT NOT NULL,
  next_step BIGINT NOT NULL DEFAULT 0,
  due_at BIGINT,
  status TEXT NOT NULL CHECK (status IN ('active', 'done', 'exited')),
  exit_reason TEXT,
  updated_at BIGINT NOT NULL,
  UNIQUE (journey_id, customer_id, occurrence)
);
CREATE INDEX journey_enrolments_due ON journey_enrolments (due_at) WHERE status = 'active';
CREATE INDEX journey_enrolments_customer ON journey_enrolments (customer_id);

CREATE TABLE campaign_recipients_new (
  campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  arm TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('skipped', 'holdout', 'queued', 'handed_over', 'sent', 'failed')),
  reason TEXT,
  attempts BIGINT NOT NULL DEFAULT 0,
  run_after BIGINT NOT NULL,
  claimed_by TEXT,
  lease_until BIGINT,
  sent_at BIGINT,
  step TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (campaign_id, customer_id, step)
);
INSERT INTO campaign_recipients_new (campaign_id, customer_id, arm, status, reason, attempts, run_after, claimed_by,
  lease_until, sent_at)
SELECT campaign_id, customer_id, arm, status, reason, attempts, run_after, claimed_by, lease_until, sent_at
FROM campaign_recipients;
DROP TABLE campaign_recipients;
ALTER TABLE campaign_recipients_new RENAME TO campaign_recipients;
CREATE INDEX campaign_recipients_queue ON campaign_recipients (status, run_after) WHERE status IN ('queued', 'handed_over');
CREATE INDEX campaign_recipients_customer ON campaign_recipients (customer_id);
CREATE UNIQUE INDEX campaign_recipients_active ON campaign_recipients (campaign_id, customer_id) WHERE status IN ('queued', 'handed_over');

-- Triggers on orders look at the orders of a recent window.
CREATE INDEX orders_placed ON orders (placed_at);
