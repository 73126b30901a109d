"""A real SMTP server (aiosmtpd) for the email tests, on a free loopback port.

Prints the port on its first line, then serves until killed. Every accepted
message is written to OUTDIR as NNNN.eml (the bytes received) and NNNN.json:
the envelope, the login, and the message as Python's own MIME parser reads
it (decoded headers, each text part decoded). Recipients choose the
server's verdict:

  tempfail*@…    451 at RCPT (temporary: the sender should retry)
  nosuchuser*@…  550 at RCPT (permanent: no such mailbox)

Logins: any user with password "rahasia" is accepted; others get 535.

  smtp_peer.py OUTDIR [starttls|implicit CERT.pem KEY.pem]

With a mode, the server offers STARTTLS (and requires it before MAIL), or
speaks TLS from the first byte, with the given certificate.
"""

import asyncio
import email
import email.policy
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Peer:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("tempfail"):
            return "451 4.2.1 Mailbox busy, try again later"
        if local.startswith("nosuchuser"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.outdir, f"{self.count:04}")
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        login = session.auth_data.login.decode() if session.authenticated else None
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {
            part.get_content_type(): part.get_content()
            for part in parsed.walk()
            if part.get_content_maintype() == "text"
        }
        with open(base + ".json", "w") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "login": login,
                    "tls": server.transport.get_extra_info("ssl_object") is not None,
                    # The client's port: the same one across messages means
                    # one reused connection.
                    "client_port": session.peer[1],
                    "content_type": parsed.get_content_type(),
                    "headers": {k.lower(): str(v) for k, v in parsed.items()},
                    "parts": parts,
                },
                f,
                ensure_ascii=False,
            )
        return f"250 2.0.0 Ok: queued as peer-{self.count}"


def authenticate(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.password == b"rahasia":
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


# Refused handshakes are part of the tests; aiosmtpd would print each one.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", category=DeprecationWarning)


async def main(outdir, mode=None, cert=None, key=None):
    peer = Peer(outdir)
    context = None
    if mode:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            peer,
            hostname="peer.test",
            authenticator=authenticate,
            auth_require_tls=False,
            tls_context=context if mode == "starttls" else None,
            require_starttls=mode == "starttls",
        ),
        "127.0.0.1",
        0,
        ssl=context if mode == "implicit" else None,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
