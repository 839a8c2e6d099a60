-- What each customer bought and kept, per SKU and per category: the first and last business
-- day of a purchase line that was not returned in full. Segment conditions on purchases read
-- it, instead of every order line, when they are evaluated as of a day on or after the last
-- order and return (the horizon below). A sale through the API or the till keeps its
-- customer's rows up to date at once; a large import marks the summary stale and the
-- scheduler (or `enishi analyze purchases`) rebuilds it; until then segments read the lines.
CREATE TABLE customer_products (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  product TEXT NOT NULL,
  first_day BIGINT NOT NULL,
  last_day BIGINT NOT NULL,
  PRIMARY KEY (customer_id, kind, product)
);
CREATE INDEX customer_products_by_product ON customer_products (kind, product, last_day);

-- One row: the summary is fresh when built_generation = generation (an import that does not
-- update it adds one to generation); horizon_day and horizon_returned_at are the latest order
-- day and return instant ever stored, kept by every write of orders and returns.
CREATE TABLE purchase_summary (
  id BIGINT PRIMARY KEY,
  generation BIGINT NOT NULL,
  built_generation BIGINT,
  built_at BIGINT,
  horizon_day BIGINT,
  horizon_returned_at BIGINT
);
INSERT INTO purchase_summary (id, generation, built_generation, horizon_day, horizon_returned_at)
SELECT 1, 1, CASE WHEN EXISTS (SELECT 1 FROM orders) THEN NULL ELSE 1 END,
       (SELECT MAX(placed_day) FROM orders), (SELECT MAX(returned_at) FROM returns);

-- Consent and score conditions select the customers of one value from an index that holds
-- their ids, without reading the rows.
CREATE INDEX customer_consents_by_status ON customer_consents (channel, status, customer_id);
DROP INDEX customer_scores_segment;
CREATE INDEX customer_scores_segment ON customer_scores (rfm_segment, customer_id);
DROP INDEX customer_scores_lifecycle;
CREATE INDEX customer_scores_lifecycle ON customer_scores (lifecycle_stage, customer_id);
DROP INDEX customer_scores_loyal_class;
CREATE INDEX customer_scores_loyal_class ON customer_scores (loyal_class, customer_id);
