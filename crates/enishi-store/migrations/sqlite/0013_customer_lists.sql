-- A customer's tags, sales channels and custom attributes move out of JSON text into their
-- own indexed tables, so that a segment condition on one ("tagged vip", "buys online",
-- "attribute favourite_bean = 'Kenya'", "attribute visits >= 10") reads an index on both
-- databases instead of parsing JSON with different functions on each. An attribute keeps its
-- JSON value as given and, beside it, the value as text (strings) or as a number (numbers),
-- each indexed with the key. Tags and channels keep the order they were given in.
CREATE TABLE customer_tags (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  position BIGINT NOT NULL,
  PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_by_tag ON customer_tags (tag, customer_id);

CREATE TABLE customer_channels (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  position BIGINT NOT NULL,
  PRIMARY KEY (customer_id, channel)
);
CREATE INDEX customer_channels_by_channel ON customer_channels (channel, customer_id);

CREATE TABLE customer_attributes (
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  text_value TEXT,
  number_value DOUBLE PRECISION,
  PRIMARY KEY (customer_id, key)
);
CREATE INDEX customer_attributes_text ON customer_attributes (key, text_value);
CREATE INDEX customer_attributes_number ON customer_attributes (key, number_value);

INSERT INTO customer_tags (customer_id, tag, position)
SELECT c.id, j.value, MIN(j.key) FROM customers c, json_each(c.tags) j WHERE j.type = 'text' GROUP BY c.id, j.value;

INSERT INTO customer_channels (customer_id, channel, position)
SELECT c.id, j.value, MIN(j.key) FROM customers c, json_each(c.channels) j WHERE j.type = 'text' GROUP BY c.id, j.value;

INSERT INTO customer_attributes (customer_id, key, value, text_value, number_value)
SELECT c.id, j.key,
       CASE j.type WHEN 'text' THEN json_quote(j.value) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                   WHEN 'null' THEN 'null' ELSE CAST(j.value AS TEXT) END,
       CASE WHEN j.type = 'text' THEN j.value END,
       CASE WHEN j.type IN ('integer', 'real') THEN j.value END
FROM customers c, json_each(c.attributes) j WHERE j.type <> 'null';

ALTER TABLE customers DROP COLUMN tags;
ALTER TABLE customers DROP COLUMN channels;
ALTER TABLE customers DROP COLUMN attributes;
