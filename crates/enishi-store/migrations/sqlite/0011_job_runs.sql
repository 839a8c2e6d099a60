-- Periodic jobs run once per period however many servers share the database: a server claims
-- a job's period with a lease, runs it, and records the period as done. The last done period
-- is stored, so a restart neither repeats nor skips one.
CREATE TABLE job_runs (
  job TEXT PRIMARY KEY,
  done_period BIGINT,
  holder TEXT,
  lease_until BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT
);
