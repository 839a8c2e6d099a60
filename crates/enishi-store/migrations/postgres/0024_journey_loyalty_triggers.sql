-- Journeys entered on loyalty events (docs/campaigns.md "Journeys"): a tier upgrade reads the
-- tier changes of a recent window, a stamp card one short of full the stamping orders of one.
CREATE INDEX loyalty_tier_history_changed ON loyalty_tier_history (changed_at);
CREATE INDEX loyalty_order_effects_placed ON loyalty_order_effects (placed_at);

-- A paused journey enters nobody and sends nothing until it is resumed.
ALTER TABLE journeys ADD COLUMN paused_at BIGINT;
