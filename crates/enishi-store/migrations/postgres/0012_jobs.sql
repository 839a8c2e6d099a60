-- A durable job queue (campaign sends, journeys, notifications, webhooks, announcements).
-- A worker claims ready jobs with a lease; a job whose worker dies is claimed again once the
-- lease runs out. A failed job waits longer after each attempt and, after its last attempt,
-- stays as 'dead' with its error. The idempotency key makes enqueueing the same work twice
-- one job. The loyalty outbox's messages become jobs of their topic.
CREATE TABLE jobs (
  id BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  payload TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
  run_after BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  max_attempts BIGINT NOT NULL CHECK (max_attempts >= 1),
  last_error TEXT,
  claimed_by TEXT,
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX jobs_ready ON jobs (state, run_after, id);
CREATE INDEX jobs_kind ON jobs (kind, state);

INSERT INTO jobs (kind, idempotency_key, payload, state, run_after, max_attempts, created_at, finished_at)
SELECT topic, 'outbox:' || id, payload, CASE WHEN delivered_at IS NULL THEN 'queued' ELSE 'done' END,
       created_at, 5, created_at, delivered_at
FROM outbox ORDER BY id;

DROP TABLE outbox;
