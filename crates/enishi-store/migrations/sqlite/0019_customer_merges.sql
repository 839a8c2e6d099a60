-- Customers kept in the console: the furigana (reading) of a name, and merges. Merging two
-- records of one person moves everything of the record merged away to the one kept and
-- deletes it; its shop id and email stay here, so that they resolve to the kept customer
-- (an order or an import naming the old id goes to the kept one), and the merge shows on the
-- kept customer's timeline.
ALTER TABLE customers ADD COLUMN furigana TEXT;

CREATE TABLE customer_merges (
  id INTEGER PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  merged_id BIGINT NOT NULL,
  merged_external_id TEXT NOT NULL UNIQUE,
  merged_name TEXT,
  merged_email TEXT,
  merged_by TEXT NOT NULL,
  merged_at BIGINT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX customer_merges_customer ON customer_merges (customer_id);
CREATE INDEX customer_merges_email ON customer_merges (lower(merged_email)) WHERE merged_email IS NOT NULL;
