"""82-attacks: issue 18's attack sets, the bounded subset (the complete sets and
their figures: tests/long/attacks.py).

Every try checks an outcome a user would notice and counts as a success of the
attacker when it happens: a smuggled second message in the queue, a command
injected before STARTTLS/STLS obeyed inside TLS, a relay recipient queued, an
injected header in a queued message, a MIME bomb that crashes or hangs smtpd or
remote-deliver, a right password taken for a locked login, remote-deliver
hanging, dying or bloating on a hostile server's replies. Each test asserts 0
successes and notes its count of tries. Slow-loris and connection floods
(tcpserver's limits) run only in the long script.
"""
import unittest

import quailtest as qt

qt.require("quail", "smtpd", "pop3d", "tlsd", "checkpassword", "queue-inject", "remote-deliver")

import attack_lib as al  # noqa: E402
import sets_auth  # noqa: E402
import sets_client  # noqa: E402
import sets_mime  # noqa: E402
import sets_relay  # noqa: E402
import sets_smuggling  # noqa: E402
import sets_starttls  # noqa: E402


class AttackSets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = al.Workdir()

    @classmethod
    def tearDownClass(cls):
        cls.work.cleanup()

    def run_set(self, fn, *names):
        tally = al.Tally()
        fn(self.work, tally, False)
        for name in names:
            qt.note(tally.line(name))
            self.assertGreater(tally.sets.get(name, [0])[0], 0, "no tries in " + name)
        self.assertEqual(tally.successes(), [], "attacks that succeeded")

    def test_smtp_smuggling_inbound(self):
        self.run_set(sets_smuggling.inbound, "smuggling-in")

    def test_smtp_smuggling_outbound_never_sends_a_stray_cr(self):
        self.run_set(sets_smuggling.outbound, "smuggling-out")

    def test_starttls_injection_smtp(self):
        self.run_set(sets_starttls.smtp, "starttls-smtp")

    def test_stls_injection_pop3(self):
        self.run_set(sets_starttls.pop3, "starttls-pop3")

    def test_open_relay_forms(self):
        self.run_set(lambda w, t, f: (sets_relay.relay(w, t, f), sets_relay.relay_rules(w, t, f)), "open-relay")

    def test_header_injection_through_the_envelope(self):
        self.run_set(lambda w, t, f: (sets_relay.headers(w, t, f), sets_relay.headers_sendmail(w, t, f)),
                     "header-injection")

    def test_mime_bombs(self):
        self.run_set(lambda w, t, f: (sets_mime.inbound(w, t, f), sets_mime.outbound(w, t, f)), "mime-bomb")

    def test_auth_locks_hold_against_the_right_password(self):
        self.run_set(sets_auth.locks, "auth-brute-force")

    def test_remote_deliver_against_starttls_response_injection(self):
        self.run_set(sets_client.starttls_injection, "starttls-client")

    def test_remote_deliver_against_hostile_replies(self):
        self.run_set(sets_client.hostile_replies, "hostile-peer")


if __name__ == "__main__":
    unittest.main()
