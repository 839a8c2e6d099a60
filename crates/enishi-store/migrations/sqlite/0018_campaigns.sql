-- Campaigns: message templates, campaigns, one row per audience member and campaign (who was
-- sent what, who was held out, who was skipped and why — the row is also the message's place in
-- the send queue), and the suppression list. Messages sent are also written to `communications`
-- (the customer's communication history), which gains the campaign, the purpose (marketing
-- messages count towards the frequency cap; transactional ones do not) and the recipient key.
CREATE TABLE templates (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  locale TEXT NOT NULL,
  subject TEXT NOT NULL,
  html TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE campaigns (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  mailing TEXT NOT NULL,
  version TEXT NOT NULL DEFAULT '',
  channel TEXT NOT NULL CHECK (channel IN ('email', 'postal', 'webhook', 'call')),
  definition TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
  send_at BIGINT,
  snapshot_id BIGINT REFERENCES segment_snapshots(id) ON DELETE SET NULL,
  started_at BIGINT,
  finished_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX campaigns_mailing ON campaigns (mailing, created_at);

CREATE TABLE campaign_recipients (
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
  PRIMARY KEY (campaign_id, customer_id)
);
CREATE INDEX campaign_recipients_queue ON campaign_recipients (status, run_after) WHERE status IN ('queued', 'handed_over');
CREATE INDEX campaign_recipients_customer ON campaign_recipients (customer_id);

CREATE TABLE suppressions (
  channel TEXT NOT NULL,
  address TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'erased', 'manual')),
  detail TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (channel, address)
);

ALTER TABLE communications ADD COLUMN campaign_id BIGINT REFERENCES campaigns(id) ON DELETE SET NULL;
ALTER TABLE communications ADD COLUMN purpose TEXT NOT NULL DEFAULT 'marketing';
CREATE INDEX communications_recent ON communications (channel, sent_at, customer_id);
CREATE UNIQUE INDEX communications_campaign ON communications (campaign_id, customer_id, COALESCE(step, '')) WHERE campaign_id IS NOT NULL;
