-- Lifecycle stages, stored with the other scores, and every change of stage with its day
-- (win-back journeys trigger on a change).
ALTER TABLE customer_scores ADD COLUMN lifecycle_stage TEXT;
ALTER TABLE customer_scores ADD COLUMN lifecycle_as_of_day BIGINT;
CREATE INDEX customer_scores_lifecycle ON customer_scores (lifecycle_stage);

CREATE TABLE lifecycle_changes (
  id INTEGER PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  from_stage TEXT,
  to_stage TEXT NOT NULL,
  changed_day BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX lifecycle_changes_customer ON lifecycle_changes (customer_id, changed_day);
CREATE INDEX lifecycle_changes_day ON lifecycle_changes (changed_day, to_stage);
