#!/usr/bin/env bash
# Load test on loopback with wrk (apt-get install wrk): customer lookup, one customer, a console
# page, 10 s each, 2 threads and 16 connections, against a release build over a generated shop.
#   bench/load.sh                      # SQLite in a temporary directory
#   bench/load.sh postgres://postgres@127.0.0.1:5432/test   # PostgreSQL (a fresh schema)
# Order ingest under load is `enishi bench api-orders` (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p enishi
bin=$PWD/target/release/enishi
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
if [ -n "${1:-}" ]; then
  schema="enishi_load_$$"
  psql "$1" -q -c "CREATE SCHEMA $schema"
  trap 'kill $server 2>/dev/null || true; psql "$1" -q -c "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE"; rm -rf "$dir"' EXIT
  export ENISHI_DATABASE_URL="$1?options=-c%20search_path%3D$schema"
else
  export ENISHI_DATABASE_URL="$dir/enishi.db"
fi
"$bin" gen --customers 3000 --seed 7 --out "$dir/gen" >/dev/null
"$bin" import orders "$dir/gen/orders.csv" >/dev/null
token=$("$bin" token create --role admin | tail -1)
printf 'a long enough password\n' | "$bin" user create --email load@example.com --role admin --password-stdin >/dev/null
"$bin" serve --addr 127.0.0.1:18181 --jobs-every-minutes 0 >"$dir/serve.log" 2>&1 &
server=$!
sleep 2
base=http://127.0.0.1:18181
# Sign in through the form (it pairs a token with a cookie).
page=$(curl -s -c "$dir/jar" "$base/login")
login=$(printf '%s' "$page" | sed -n 's/.*name="login_token" value="\([^"]*\)".*/\1/p')
curl -s -b "$dir/jar" -c "$dir/jar" -o /dev/null --data-urlencode "login_token=$login" \
  --data-urlencode "email=load@example.com" --data-urlencode "password=a long enough password" "$base/login"
cookie=$(awk '$6 == "enishi_session" {print $7}' "$dir/jar")
run() {
  echo "== $1"
  wrk -t2 -c16 -d10s --latency -H "$2" "$base$3" | grep -E "Requests/sec|^ +(50|99)%|Non-2xx"
}
run "lookup by external id (API)" "Authorization: Bearer $token" "/api/v1/customers?external_id=C0000042"
run "one customer (API)" "Authorization: Bearer $token" "/api/v1/customers/42"
run "customer page (console)" "Cookie: enishi_session=$cookie" "/customers/42"
