-- Each customer's recommended next products, best first, refreshed by `enishi analyze
-- recommend` and the daily scheduler; segments and message templates read them.
CREATE TABLE customer_recommendations (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  rank BIGINT NOT NULL,
  sku TEXT NOT NULL,
  score REAL NOT NULL,
  as_of_day BIGINT NOT NULL,
  PRIMARY KEY (customer_id, rank)
);
CREATE INDEX customer_recommendations_sku ON customer_recommendations (sku);
