-- Orders a manager left out of the analytics (an outlier such as a one-off wholesale order
-- that would flatten every chart and the Gini). The order itself, its points and the
-- customer's stats are untouched; deleting the row includes the order again.
CREATE TABLE analytics_exclusions (
  order_id BIGINT PRIMARY KEY REFERENCES orders(id) ON DELETE CASCADE,
  excluded_by TEXT NOT NULL,
  excluded_at BIGINT NOT NULL
);
