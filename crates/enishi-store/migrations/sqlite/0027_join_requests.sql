-- Sign-ups on the public join page (docs/join.md) waiting for their email to be confirmed
-- (double opt-in). The form as checked waits here, as JSON, until the signed link in the
-- confirmation email is followed: only then is the customer created or matched and the email
-- consent recorded. A confirmed request keeps only whom it made and when (the form and the
-- address are cleared); one never confirmed is deleted once its link has expired.
CREATE TABLE join_requests (
  id INTEGER PRIMARY KEY,
  customer_id BIGINT REFERENCES customers(id) ON DELETE CASCADE,
  email TEXT,
  form TEXT NOT NULL,
  language TEXT NOT NULL,
  requested_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  confirmed_at BIGINT
);
CREATE INDEX join_requests_email ON join_requests (email, requested_at);
CREATE INDEX join_requests_expires ON join_requests (expires_at);
CREATE INDEX join_requests_customer ON join_requests (customer_id);
