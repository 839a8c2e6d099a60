-- A customer's referrals are counted by `referred_by` (the loyalty summary of every message,
-- the customer's page, the `referrals` condition): without an index each count read every
-- customer. Only referred customers have a value, so the index holds only them.
CREATE INDEX customers_referred_by ON customers (referred_by) WHERE referred_by IS NOT NULL;
