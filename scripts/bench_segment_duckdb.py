#!/usr/bin/env python3
"""The anchor for the segment benchmark (BENCHMARKS.md): the five-condition segment as one SQL
query in DuckDB over the same generated data, timed warm.

usage: bench_segment_duckdb.py GEN_DIR ENISHI_SQLITE_DB AS_OF [RUNS]

GEN_DIR holds `enishi gen`'s customers.csv and orders.csv; the RFM segments come from the
Enishi database (after `enishi analyze rfm`), copied into DuckDB first. Prints the count and
each run's time; the count must equal `enishi segment count`'s.
"""
import sqlite3
import sys
import time

import duckdb

gen, enishi_db, as_of = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5

con = duckdb.connect()
con.execute(f"CREATE TABLE customers AS SELECT * FROM read_csv_auto('{gen}/customers.csv', all_varchar=true)")
con.execute(
    f"CREATE TABLE lines AS SELECT order_id, customer_id, CAST(placed_at AS TIMESTAMP) AS placed_at, sku, "
    f"CAST(quantity AS BIGINT) AS quantity, category, return_of FROM read_csv_auto('{gen}/orders.csv', all_varchar=true)"
)
scores = sqlite3.connect(enishi_db).execute(
    "SELECT c.external_id, s.rfm_segment FROM customer_scores s JOIN customers c ON c.id = s.customer_id"
).fetchall()
con.execute("CREATE TABLE scores (customer_id VARCHAR, rfm_segment VARCHAR)")
con.executemany("INSERT INTO scores VALUES (?, ?)", scores)

QUERY = """
WITH bought AS (   -- units per purchase and product, less the units returned
  SELECT p.customer_id, p.order_id, p.sku, p.category, p.day, p.units - COALESCE(r.units, 0) AS kept
  FROM (SELECT customer_id, order_id, sku, any_value(category) AS category,
               CAST(min(placed_at) AS DATE) AS day, sum(quantity) AS units
        FROM lines WHERE quantity > 0 AND CAST(placed_at AS DATE) <= DATE '{as_of}'
        GROUP BY customer_id, order_id, sku) p
  LEFT JOIN (SELECT return_of, sku, -sum(quantity) AS units FROM lines
             WHERE quantity < 0 AND CAST(placed_at AS DATE) <= DATE '{as_of}' GROUP BY return_of, sku) r
    ON r.return_of = p.order_id AND r.sku = p.sku
)
SELECT count(*) FROM customers c
WHERE c.email_consent = 'opted_in'
  AND c.external_id IN (SELECT customer_id FROM bought WHERE kept > 0 AND category = 'coffee'
                        AND day > DATE '{as_of}' - INTERVAL 90 DAY)
  AND c.external_id NOT IN (SELECT customer_id FROM bought WHERE kept > 0 AND sku = 'MUG-02S')
  AND c.external_id IN (SELECT customer_id FROM scores
                        WHERE rfm_segment IN ('champions', 'loyal', 'potential_loyalist'))
  AND c.external_id IN (SELECT customer_id FROM lines WHERE quantity > 0
                        AND CAST(placed_at AS DATE) <= DATE '{as_of}'
                        GROUP BY customer_id HAVING count(DISTINCT order_id) >= 2)
""".format(as_of=as_of)

for run in range(1, runs + 1):
    start = time.perf_counter()
    n = con.execute(QUERY).fetchone()[0]
    print(f"duckdb run {run}: {n} customers in {1000 * (time.perf_counter() - start):.1f} ms")
