-- The ledger's index on (source, source_ref) served one lookup: a return's search for the
-- entries of its order's own points. Those entries are the customer's, dated when the order was
-- placed, so the index on (customer_id, occurred_at) finds them; without the text-keyed index
-- each entry writes one B-tree fewer.
DROP INDEX loyalty_ledger_source;
