#!/usr/bin/python3
"""The one client of make-audit-samples.sh that swaks cannot play: several AUTH attempts in
one session (swaks makes one, then QUITs).  Python's smtplib, recorded byte for byte by
smtpclients.RecSMTP into a transcript (format: smtpclients.py), for expect.py.

  auditclients.py auth SERVER_IP PORT CLIENT_IP OUT.json MECH:USER:PASSWORD...
      connect from CLIENT_IP, EHLO client.sample.test, then one AUTH exchange per
      MECH:USER:PASSWORD in order (PLAIN with its initial response; LOGIN without, so
      Postfix asks 334 Username: / 334 Password:), whatever each one's reply; then QUIT.
      Prints one line per attempt: the mechanism and the final reply code.

All waits are bounded by smtpclients.TIMEOUT (socket timeout).
"""
import sys

import smtplib

from smtpclients import HELO, Recorder, RecSMTP, save


def auth_attempts(server_ip, port, client_ip, out, attempts):
    rec = Recorder("smtplib", server_ip, int(port))
    s = RecSMTP(rec, server_ip, int(port), client_ip)
    try:
        s.ehlo(HELO)
        for a in attempts:
            mech, user, password = a.split(":", 2)
            if mech == "PLAIN":
                obj, first = (lambda challenge=None: "\0%s\0%s" % (user, password)), True
            elif mech == "LOGIN":
                obj = lambda challenge=None, u=user, p=password: \
                    u if challenge == b"Username:" else p
                first = False
            else:
                raise SystemExit("auditclients.py: unknown mechanism %r" % mech)
            try:
                code = s.auth(mech, obj, initial_response_ok=first)[0]
            except smtplib.SMTPAuthenticationError as e:
                code = e.smtp_code
            print("%s %s: %d" % (mech, user, code))
        s.finish()
    finally:
        save(out, rec.t)


def main():
    if len(sys.argv) >= 7 and sys.argv[1] == "auth":
        auth_attempts(*sys.argv[2:6], sys.argv[6:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
