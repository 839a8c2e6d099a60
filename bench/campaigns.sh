#!/usr/bin/env bash
# Campaign benchmarks (BENCHMARKS.md "Campaigns"): materialising a 1,000,000-customer audience,
# and personalised emails rendered and delivered to a local SMTP server: Python's aiosmtpd (the
# tests' server, one thread), then Postfix's smtp-sink (a C sink; `apt-get install postfix`
# provides /usr/sbin/smtp-sink) when it is installed.
# Usage: bench/campaigns.sh [CUSTOMERS] [SEND]   (defaults 1000000 and 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
SEND=${2:-20000}
E=./target/release/enishi
W=$(mktemp -d /tmp/enishi-campaign-bench.XXXX)
# The SMTP servers and the sleep that feeds aiosmtpd are this script's children: stopped with it.
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$W"' EXIT

echo "machine: $(nproc) cores; $N customers"
$E gen --customers "$N" --seed 1 --end 2026-06-30 --out "$W/gen" >/dev/null
$E --database-url "$W/big.db" import customers "$W/gen/customers.csv" >/dev/null
$E --database-url "$W/big.db" settings --quiet-hours none >/dev/null
$E --database-url "$W/big.db" segment create everyone 'consent.email or not consent.email' >/dev/null 2>&1
printf '<p>{{ customer.honorific }}</p><p>{{ points.balance }} pt</p>' > "$W/b.html"
printf '{{ customer.honorific }} {{ points.balance }} pt {{ unsubscribe_url }}' > "$W/b.txt"
$E --database-url "$W/big.db" template save t --locale ja --subject '{{ customer.honorific }}、お知らせ' --html "$W/b.html" --text "$W/b.txt" 2>/dev/null
echo '{"name": "all", "channel": "email", "audience": {"segment": "everyone"}, "holdout_percent": 10,
  "variants": [{"key": "A", "template": "t", "share": 50}, {"key": "B", "template": "t", "share": 50}]}' > "$W/all.json"
$E --database-url "$W/big.db" campaign create "$W/all.json" >/dev/null
echo "== materialise $N (SQLite)"
$E --database-url "$W/big.db" campaign start all

echo "== send $SEND personalised emails to aiosmtpd on loopback"
head -n $((SEND + 1)) "$W/gen/customers.csv" > "$W/some.csv"
$E --database-url "$W/send.db" import customers "$W/some.csv" >/dev/null
$E --database-url "$W/send.db" settings --quiet-hours none --frequency-cap 100/1 >/dev/null
$E --database-url "$W/send.db" segment create everyone 'consent.email' >/dev/null 2>&1
$E --database-url "$W/send.db" template save t --locale ja --subject '{{ customer.honorific }}、お知らせ' --html "$W/b.html" --text "$W/b.txt" 2>/dev/null
echo '{"name": "send", "channel": "email", "audience": {"segment": "everyone"}, "template": "t", "sender": {"email": "shop@example.com"}}' > "$W/send.json"
$E --database-url "$W/send.db" campaign create "$W/send.json" >/dev/null
sleep 86400 | python3 crates/enishi/tests/support/smtp_server.py --port 2626 --out "$W/received.jsonl" > /dev/null &
sleep 1
ENISHI_SMTP_URL=smtp://127.0.0.1:2626 $E --database-url "$W/send.db" campaign send send
echo "received: $(wc -l < "$W/received.jsonl")"

if [ -x /usr/sbin/smtp-sink ]; then
  echo "== send $SEND personalised emails to Postfix's smtp-sink on loopback"
  $E --database-url "$W/send.db" campaign create <(sed 's/"send"/"sink"/' "$W/send.json") >/dev/null
  /usr/sbin/smtp-sink -u nobody 127.0.0.1:2627 256 &
  sleep 1
  ENISHI_SMTP_URL=smtp://127.0.0.1:2627 $E --database-url "$W/send.db" campaign send sink
fi
