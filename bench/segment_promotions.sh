#!/usr/bin/env bash
# Batch import with a promotion limited to a segment, against the same promotion limited to
# tiers (today's rules), on one generated file: issue 20's "as fast as today's rules".
#   bench/segment_promotions.sh [ENISHI_BINARY] [RUNS]
# Prints the wall seconds of `enishi import orders` for each programme, alternating, on the
# generated file as written (orders in random time order: a batch of 2,000 spans ~600 business
# days) and sorted by time (as a till or shop export is). The promotions do not pay the same
# number of bonuses (Gold customers are fewer than the segment's members, everyone is more),
# so each line also says how many bonus entries the import wrote (with sqlite3, if installed).
set -euo pipefail
bin=${1:-target/release/enishi}
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -f /tmp/gen20k/orders.csv ] || "$bin" gen --customers 20000 --seed 7 --out /tmp/gen20k >/dev/null
[ -f /tmp/gen20k/orders-by-time.csv ] ||
  { head -1 /tmp/gen20k/orders.csv; tail -n +2 /tmp/gen20k/orders.csv | sort -t, -k3,3 -s; } >/tmp/gen20k/orders-by-time.csv

program() { # $1: the promotion's limit as JSON fields, $2: starts, $3: ends
  cat <<JSON
{"name": "bench", "effective_from": "2020-01-01", "earning": {"points_per_unit": 1, "minimum_order": "10"},
 "tiers": {"basis": "spend", "window": {"rolling_days": 365},
           "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                      {"id": "gold", "name": "Gold", "threshold": "300", "multiplier": "1.5"}]},
 "promotions": [{"id": "p", "name": "Triple", "starts": "$2", "ends": "$3", "multiplier": 3, $1}]}
JSON
}

run() { # $1: label, $2: limit, $3: starts, $4: ends, $5: file
  local db="$work/$RANDOM.db"
  "$bin" segment create --database-url "$db" "Regulars" 'orders >= 3 and bought(category: "coffee")' >/dev/null 2>&1
  "$bin" segment create --database-url "$db" "Loyal or regular" \
    'loyal_class in ("loyal", "semi_loyal") or (orders >= 3 and not tag = "staff")' >/dev/null 2>&1
  program "$2" "$3" "$4" >"$work/p.json"
  "$bin" loyalty apply --database-url "$db" "$work/p.json" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" import orders --database-url "$db" "$5" >/dev/null 2>&1
  t1=$(date +%s.%N)
  local bonuses=""
  command -v sqlite3 >/dev/null && bonuses=$(sqlite3 "$db" "SELECT COUNT(*) FROM loyalty_ledger WHERE kind = 'bonus'")
  printf '%-56s %6.2f s %8s bonuses\n' "$1, $(basename "$5")" "$(echo "$t1 - $t0" | bc)" "$bonuses"
  rm -f "$db" "$db"-*
}

for _ in $(seq "$runs"); do
  for file in /tmp/gen20k/orders-by-time.csv /tmp/gen20k/orders.csv; do
    run "tiers, whole history" '"tiers": ["gold"]' 2020-01-01 2030-01-01 "$file"
    run "segment, whole history" '"segment": "Regulars"' 2020-01-01 2030-01-01 "$file"
    run "every tier, whole history" '"tiers": ["member", "gold"]' 2020-01-01 2030-01-01 "$file"
    run "scores and history, whole history" '"segment": "Loyal or regular"' 2020-01-01 2030-01-01 "$file"
    run "tiers, one month" '"tiers": ["gold"]' 2026-06-01 2026-07-01 "$file"
    run "segment, one month" '"segment": "Regulars"' 2026-06-01 2026-07-01 "$file"
  done
done
