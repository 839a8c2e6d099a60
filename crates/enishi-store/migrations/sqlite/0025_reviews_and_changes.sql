-- Reviews and closing the loop (docs/listening.md).
--
-- A review is a customer's stars (1–5) and words about one product of an order (`sku`), or
-- about the order as a whole (`sku` empty). The row is made when the customer is invited, and
-- the public page reached through its signed, expiring link fills it in once: one review per
-- order and product. It shows only once a moderator approved it: `status` is `invited` (not
-- written yet), `pending` (written, waiting), `approved` or `rejected`, with who moderated it
-- (a user's sign-in email, or the API token as the audit log names it) and when. Ratings are read from approved reviews by `sku`.
CREATE TABLE reviews (
  id INTEGER PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  order_id BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  sku TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  submitted_at BIGINT,
  stars BIGINT,
  body TEXT,
  moderated_by TEXT,
  moderated_at BIGINT,
  UNIQUE (order_id, sku)
);
CREATE INDEX reviews_customer ON reviews (customer_id, submitted_at);
CREATE INDEX reviews_status ON reviews (status, submitted_at);
CREATE INDEX reviews_sku ON reviews (sku, status);

-- A change the business made ("delivery now within 3 days"), known by a short key, and the
-- feedback it answers: interactions (complaints, requests), survey answers and reviews. Each
-- link copies the feedback's customer, so "the customers who raised it" reads one table.
CREATE TABLE changes (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  changed_on TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE change_feedback (
  id INTEGER PRIMARY KEY,
  change_id BIGINT NOT NULL REFERENCES changes(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  feedback_id BIGINT NOT NULL,
  linked_at BIGINT NOT NULL,
  UNIQUE (change_id, kind, feedback_id)
);
CREATE INDEX change_feedback_customer ON change_feedback (customer_id, change_id);
