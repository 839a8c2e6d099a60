-- The rowid rebuilds of the SQLite script do not apply here (see it); the customer indexes do.

-- Customers are looked up by email, phone and account only with a value in hand, so those
-- indexes need only the customers that have one (an order import creates customers with none
-- of the three: three index writes saved per customer). The index on the lower-cased name
-- served no query: search matches anywhere in the name, which no index helps.
DROP INDEX customers_email;
CREATE INDEX customers_email ON customers (lower(email)) WHERE lower(email) IS NOT NULL;
DROP INDEX customers_phone;
CREATE INDEX customers_phone ON customers (phone) WHERE phone IS NOT NULL;
DROP INDEX customers_account;
CREATE INDEX customers_account ON customers (account_id) WHERE account_id IS NOT NULL;
DROP INDEX customers_name;
