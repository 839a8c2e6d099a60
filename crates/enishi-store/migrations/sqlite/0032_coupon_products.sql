-- A personal offer's coupon can name the product it applies to, chosen per customer from
-- their purchases ("10% off the coffee you buy most"). Other coupons leave it empty.
ALTER TABLE loyalty_coupons ADD COLUMN sku TEXT;
