"""A real SMTP server for the campaign tests (aiosmtpd on loopback).

Every message the server accepts is appended to --out as one JSON line
({"from", "to", "data"}) and flushed before the server answers 250, so the file is exactly
what the server took. Misbehaviour for the tests:
  --refuse N        answer 421 to the first N messages' final dot (then accept)
  --reject ADDR     answer 550 to RCPT TO:<ADDR>
  --stall-after N   after N accepted messages, take the next one (write it) and never answer
Encryption and login:
  --tls implicit|starttls --cert FILE --key FILE
                    TLS from the first byte (smtps), or STARTTLS offered and required before
                    any mail; the certificate and key are PEM files
  --auth USER:PASS  require AUTH with this login (over TLS only when --tls is given)
Each record also says whether the message came over TLS ("tls") and after a login ("login").
"""
import argparse
import asyncio
import json
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult


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
                  "data": envelope.content.decode("utf-8", "replace"),
                  "tls": session.ssl is not None or self.args.tls == "implicit",
                  "login": bool(session.authenticated)}
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
    p.add_argument("--tls", choices=["implicit", "starttls"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth")
    args = p.parse_args()
    args.reject = [a.lower() for a in args.reject]
    handler = Handler(args)
    kwargs = {"data_size_limit": 10 * 1024 * 1024}
    controller_kwargs = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "implicit":
            controller_kwargs["ssl_context"] = context
            kwargs["auth_require_tls"] = False  # the whole connection is TLS
        else:
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = True
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = data.login == user.encode() and data.password == password.encode()
            return AuthResult(success=ok, handled=False)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        if not args.tls:
            kwargs["auth_require_tls"] = False
    controller = Controller(handler, hostname="127.0.0.1", port=args.port,
                            server_kwargs=kwargs, **controller_kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
