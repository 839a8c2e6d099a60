-- Enishi schema v1 (PostgreSQL). Money: BIGINT in 1/10,000 units. Time: BIGINT Unix seconds UTC.
-- Days: BIGINT days since 1970-01-01 in the business time zone. Every table that grows with
-- customers carries customer_id so that it can be distributed by it.
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE api_tokens (
  id BIGSERIAL PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE TABLE accounts (
  id BIGSERIAL PRIMARY KEY,
  external_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  industry TEXT,
  region TEXT,
  size_band TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE customers (
  id BIGSERIAL PRIMARY KEY,
  external_id TEXT NOT NULL UNIQUE,
  name TEXT,
  email TEXT,
  phone TEXT,
  address_line1 TEXT,
  address_line2 TEXT,
  city TEXT,
  region TEXT,
  postal_code TEXT,
  country TEXT,
  birthday TEXT,
  locale TEXT,
  channels TEXT NOT NULL DEFAULT '[]',
  tags TEXT NOT NULL DEFAULT '[]',
  attributes TEXT NOT NULL DEFAULT '{}',
  account_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
  acquisition_source TEXT,
  referred_by BIGINT REFERENCES customers(id) ON DELETE SET NULL,
  first_seen_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX customers_email ON customers (lower(email));
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_name ON customers (lower(name));
CREATE INDEX customers_account ON customers (account_id);

CREATE TABLE customer_consents (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  status TEXT NOT NULL,
  changed_at BIGINT NOT NULL,
  source TEXT NOT NULL,
  PRIMARY KEY (customer_id, channel)
);

CREATE TABLE consent_log (
  id BIGSERIAL PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  status TEXT NOT NULL,
  changed_at BIGINT NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX consent_log_customer ON consent_log (customer_id);

CREATE TABLE customer_stats (
  customer_id BIGINT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
  first_order_at BIGINT,
  last_order_at BIGINT,
  order_count BIGINT NOT NULL DEFAULT 0,
  purchase_days BIGINT NOT NULL DEFAULT 0,
  total_spend BIGINT NOT NULL DEFAULT 0,
  returned_amount BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);

CREATE TABLE products (
  id BIGSERIAL PRIMARY KEY,
  sku TEXT NOT NULL UNIQUE,
  name TEXT,
  category TEXT,
  price BIGINT,
  currency TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE orders (
  id BIGSERIAL PRIMARY KEY,
  order_ref TEXT NOT NULL UNIQUE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  placed_at BIGINT NOT NULL,
  placed_day BIGINT NOT NULL,
  channel TEXT NOT NULL,
  currency TEXT NOT NULL,
  total BIGINT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, placed_at);

-- Lines are stored clustered by their order: an order's lines are read together, and a
-- customer's lines are reached through the customer's orders.
CREATE TABLE order_lines (
  order_id BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line_no BIGINT NOT NULL,
  customer_id BIGINT NOT NULL,
  sku TEXT NOT NULL,
  product_name TEXT,
  category TEXT,
  quantity BIGINT NOT NULL,
  unit_price BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  PRIMARY KEY (order_id, line_no)
);

CREATE TABLE returns (
  id BIGSERIAL PRIMARY KEY,
  return_ref TEXT NOT NULL UNIQUE,
  order_id BIGINT REFERENCES orders(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  returned_at BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  reason TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX returns_order ON returns (order_id);
CREATE INDEX returns_customer ON returns (customer_id);

CREATE TABLE return_lines (
  id BIGSERIAL PRIMARY KEY,
  return_id BIGINT NOT NULL REFERENCES returns(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL,
  sku TEXT NOT NULL,
  quantity BIGINT NOT NULL,
  unit_price BIGINT NOT NULL,
  amount BIGINT NOT NULL
);
CREATE INDEX return_lines_return ON return_lines (return_id);

CREATE TABLE communications (
  id BIGSERIAL PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  campaign TEXT,
  step TEXT,
  variant TEXT,
  subject TEXT,
  sent_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX communications_customer ON communications (customer_id, sent_at);

CREATE TABLE interactions (
  id BIGSERIAL PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  channel TEXT,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  staff TEXT,
  occurred_at BIGINT NOT NULL,
  resolved_at BIGINT,
  created_at BIGINT NOT NULL
);
CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);
CREATE INDEX interactions_open ON interactions (status, occurred_at);

CREATE TABLE events (
  id BIGSERIAL PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  properties TEXT NOT NULL DEFAULT '{}',
  event_ref TEXT UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE INDEX events_customer ON events (customer_id, occurred_at);
CREATE INDEX events_name ON events (name, occurred_at);
CREATE INDEX events_time ON events (occurred_at);

CREATE TABLE imports (
  id BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL,
  format TEXT NOT NULL,
  file_name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  summary TEXT NOT NULL
);
