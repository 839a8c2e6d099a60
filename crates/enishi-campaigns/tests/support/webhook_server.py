#!/usr/bin/env python3
"""A webhook receiver for the tests: checks each POST's signature the way docs/campaigns.md
tells receivers to, answers as told, and appends what it got to a JSON-lines file.

  webhook_server.py --port P --out FILE --secret S [--busy N] [--reject EXTERNAL_ID]

--busy N: the first N requests of every idempotency key are answered 503.
--reject ID: messages to the customer with this shop id are answered 400.
A request with a bad signature is answered 401. Prints "ready" once listening; stops when its
standard input closes.
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
seen = {}
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        timestamp = self.headers.get("X-Enishi-Timestamp", "")
        given = self.headers.get("X-Enishi-Signature", "")
        expected = "sha256=" + hmac.new(args.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(given, expected)
        payload = json.loads(body) if valid else None
        key = self.headers.get("Idempotency-Key", "")
        with lock:
            seen[key] = seen.get(key, 0) + 1
            attempt = seen[key]
        if not valid:
            status = 401
        elif attempt <= args.busy:
            status = 503
        elif payload["customer"]["external_id"] == args.reject:
            status = 400
        else:
            status = 200
        record = {"status": status, "key": key, "timestamp": timestamp, "valid": valid, "path": self.path,
                  "body": payload}
        with lock, open(args.out, "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--busy", type=int, default=0)
    p.add_argument("--reject", default="")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
