"""A real SMTP server for the campaign tests (aiosmtpd on loopback).

Every message the server accepts is appended to --out as one JSON line
({"from", "to", "data"}) and flushed before the server answers 250, so the file is exactly
what the server took. Misbehaviour for the tests:
  --refuse N        answer 421 to the first N messages' final dot (then accept)
  --reject ADDR     answer 550 to RCPT TO:<ADDR>
  --stall-after N   after N accepted messages, take the next one (write it) and never answer
"""
import argparse
import asyncio
import json
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, args):
        self.args = args
        self.out = open(args.out, "a", encoding="utf-8")
        self.accepted = 0
        self.refused = 0
        self.stalled = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.args.reject:
            return "550 5.1.1 <%s>: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.args.refuse:
            self.refused += 1
            return "421 4.3.2 busy, try again later"
        record = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                  "data": envelope.content.decode("utf-8", "replace")}
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()
        self.accepted += 1
        if self.args.stall_after and self.accepted > self.args.stall_after and not self.stalled:
            self.stalled = True
            await asyncio.sleep(3600)
        return "250 2.0.0 queued"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--refuse", type=int, default=0)
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--stall-after", type=int, default=0)
    args = p.parse_args()
    args.reject = [a.lower() for a in args.reject]
    handler = Handler(args)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port,
                            server_kwargs={"data_size_limit": 10 * 1024 * 1024})
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
