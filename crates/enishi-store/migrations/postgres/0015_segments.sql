-- Saved segments (a rule in its JSON form), the members of each one's last evaluation (to tell
-- who joined and who left), membership snapshots (exactly who was in an audience when a
-- campaign used it), and static lists of customers.
CREATE TABLE segments (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  rule TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_count BIGINT,
  last_evaluated_at BIGINT
);

CREATE TABLE segment_members (
  segment_id BIGINT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  PRIMARY KEY (segment_id, customer_id)
);
CREATE INDEX segment_members_customer ON segment_members (customer_id);

CREATE TABLE segment_snapshots (
  id BIGSERIAL PRIMARY KEY,
  segment_id BIGINT REFERENCES segments(id) ON DELETE SET NULL,
  label TEXT NOT NULL,
  rule TEXT NOT NULL,
  as_of_day BIGINT NOT NULL,
  member_count BIGINT NOT NULL,
  taken_at BIGINT NOT NULL
);
CREATE INDEX segment_snapshots_segment ON segment_snapshots (segment_id, taken_at);

CREATE TABLE segment_snapshot_members (
  snapshot_id BIGINT NOT NULL REFERENCES segment_snapshots(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  PRIMARY KEY (snapshot_id, customer_id)
);
CREATE INDEX segment_snapshot_members_customer ON segment_snapshot_members (customer_id);

CREATE TABLE static_lists (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE static_list_members (
  list_id BIGINT NOT NULL REFERENCES static_lists(id) ON DELETE CASCADE,
  customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (list_id, customer_id)
);
CREATE INDEX static_list_members_customer ON static_list_members (customer_id);
