-- Each saved segment's size per business day, from its evaluations (the daily scheduler's, a
-- save, a "count now", the API's members call): the segments page reads these instead of
-- evaluating every segment on each view, and draws the trend from them. `joined` and
-- `left_count` add up the changes of the day's evaluations.
CREATE TABLE segment_counts (
  segment_id BIGINT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
  day BIGINT NOT NULL,
  members BIGINT NOT NULL,
  joined BIGINT NOT NULL,
  left_count BIGINT NOT NULL,
  evaluated_at BIGINT NOT NULL,
  PRIMARY KEY (segment_id, day)
);
