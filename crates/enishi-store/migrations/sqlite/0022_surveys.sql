-- Surveys (docs/listening.md): NPS (0–10), CSAT (five levels, 1–5) and "why did you stop
-- buying?" (a fixed reason), each with free text. A customer is invited by an invitation that
-- the public page reaches through a signed link that expires; the answer is kept on the
-- invitation itself, so there is one answer per invitation. The survey's kind is copied onto
-- each invitation so that segment conditions read one table. An invitation made by a rule
-- carries the rule's key, unique, so running a rule again invites once.
CREATE TABLE surveys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  valid_days BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE survey_invitations (
  id INTEGER PRIMARY KEY,
  survey_id BIGINT NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  order_id BIGINT,
  rule_key TEXT UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  answered_at BIGINT,
  score BIGINT,
  reason TEXT,
  comment TEXT
);
CREATE INDEX survey_invitations_customer ON survey_invitations (customer_id, kind, answered_at);
CREATE INDEX survey_invitations_survey ON survey_invitations (survey_id, answered_at);
