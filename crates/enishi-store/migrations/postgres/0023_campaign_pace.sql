-- The send rate per channel (docs/campaigns.md "Send rate"): every sender of the database
-- reserves its send times on its channel's row, so that several processes keep one rate
-- together. next_at is the end of the last reserved slot, in Unix microseconds.
CREATE TABLE campaign_pace (
  channel TEXT PRIMARY KEY,
  next_at BIGINT NOT NULL
);

-- A campaign's coupon is looked up by the message it was issued for (source_ref).
CREATE INDEX loyalty_coupons_source ON loyalty_coupons (source_ref);
