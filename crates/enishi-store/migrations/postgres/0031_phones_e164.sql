-- Phone numbers are stored in E.164 (enishi_core::Phone): Japanese numbers stored before in
-- the national form (a trunk 0 and 10 or 11 digits) or with the trunk 0 after +81 get the
-- +81 form, so that looking a customer up by the normalised number finds every record.
-- Numbers in a national form are read as Japanese only in a Japanese workspace (yen, or the
-- Tokyo time zone): a shop elsewhere keeps its numbers as they were.
UPDATE customers SET phone = '+81' || substr(phone, 5) WHERE phone LIKE '+810%';
UPDATE customers SET phone = '+81' || substr(phone, 2)
WHERE phone LIKE '0%' AND phone NOT LIKE '00%' AND phone NOT LIKE '010%' AND length(phone) IN (10, 11)
  AND EXISTS (SELECT 1 FROM settings
              WHERE (key = 'currency' AND value = 'JPY') OR (key = 'business_time_zone' AND value = 'Asia/Tokyo'));
