-- Each customer's loyal class of seed practice (loyal, semi_loyal, other) is kept with the
-- other scores, so that segments can select on it and the profile can show it.
ALTER TABLE customer_scores ADD COLUMN loyal_class TEXT;
CREATE INDEX customer_scores_loyal_class ON customer_scores (loyal_class);
