-- Customers erased on request (GDPR, APPI), by the SHA-256 of the shop's id: imports and the
-- API skip them, so an old file cannot bring them back. The list holds no personal data.
CREATE TABLE erased_customers (
  external_id_hash TEXT PRIMARY KEY,
  erased_at BIGINT NOT NULL
);
