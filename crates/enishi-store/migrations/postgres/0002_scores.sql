-- Per-customer analytics scores, refreshed by `enishi analyze` (and, later, a scheduled job).
CREATE TABLE customer_scores (
  customer_id BIGINT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
  rfm_as_of_day BIGINT,
  rfm_r BIGINT,
  rfm_f BIGINT,
  rfm_m BIGINT,
  rfm_segment TEXT,
  clv_as_of_day BIGINT,
  p_alive DOUBLE PRECISION,
  expected_purchases DOUBLE PRECISION,
  expected_days BIGINT,
  expected_value DOUBLE PRECISION,
  clv DOUBLE PRECISION,
  updated_at BIGINT NOT NULL
);
CREATE INDEX customer_scores_segment ON customer_scores (rfm_segment);
