-- Listening and following up (docs/listening.md). Interactions get an assignee, a resolution
-- note and when staff asked the customer how a resolved concern is now; customers and B2B
-- accounts get an owner (a console user); tasks are follow-ups (a call, an email, a letter, a
-- meeting) with a due time, an assignee and an outcome. A task made by a rule carries the
-- rule's key, unique, so running a rule twice makes one task. campaign_id is for the
-- campaigns work (no table to reference yet).
ALTER TABLE interactions ADD COLUMN assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE interactions ADD COLUMN resolution TEXT;
ALTER TABLE interactions ADD COLUMN asked_at BIGINT;
CREATE INDEX interactions_assignee ON interactions (assignee_id, status);
CREATE INDEX interactions_resolved ON interactions (customer_id, resolved_at);

ALTER TABLE customers ADD COLUMN owner_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX customers_owner ON customers (owner_id);
ALTER TABLE accounts ADD COLUMN owner_id BIGINT REFERENCES users(id) ON DELETE SET NULL;

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  interaction_id BIGINT REFERENCES interactions(id) ON DELETE SET NULL,
  campaign_id BIGINT,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  due_at BIGINT NOT NULL,
  assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
  status TEXT NOT NULL,
  outcome TEXT,
  rule_key TEXT UNIQUE,
  created_by TEXT,
  created_at BIGINT NOT NULL,
  done_at BIGINT
);
CREATE INDEX tasks_assignee ON tasks (assignee_id, status, due_at);
CREATE INDEX tasks_customer ON tasks (customer_id, status);
CREATE INDEX tasks_due ON tasks (status, due_at);
