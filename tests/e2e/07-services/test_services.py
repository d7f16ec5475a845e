#!/usr/bin/python3
"""07-services: `quail up` runs its services under supervise (man/supervise.8,
quail-up(8), quail-status(8)).

kill -9 of queue-send: supervise logs the exit, restarts it, and mail is still
delivered; kill -9 of the SMTP side (tcpserver): the listening socket, held by
supervise, still takes connections, which the restarted tcpserver serves;
control/listeners remembers --smtp so `quail down; quail up` restores it;
--smtp localhost:P is resolved once and its address stored, an unresolvable name
starts nothing;
`quail status` shows each service's address, pid, uptime and restart count and
exits 1 when a configured service is not running; `quail up` exits non-zero when
it leaves one down. `quail reload` makes a new domain local in the running
queue-send, rebuilds a stale aliases table and refuses a bad file; a bad edit
of control/databytes keeps SMTP serving with the last good value and logs
event=control_refused; `quail config check` shows values with their sources
and warns about control/maxrcpts; a malformed control/smtproutes edit keeps
remote delivery on the last good routes (logged, and reported by config check)
and a good edit takes effect at the next delivery.
"""
import sys
sys.dont_write_bytecode = True
import os
import shutil
import signal
import smtplib
import socket
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "65-remote"))
from smtp_peer import Peer  # noqa: E402

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "quail-status", "supervise",
           "queue-send", "local-spawn", "tcpserver", "smtpd", "sendmail")

ALICE = "alice@example.test"


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


class ServicesCase(unittest.TestCase):
    def setUp(self):
        self.q = qt.Instance(prefix="quail-e2e-sv-")
        self.addCleanup(self.q.cleanup)
        self.q.init("mx.example.test", ["example.test"])
        self.q.add_user(ALICE)

    def status(self):
        """(exit code, {service: {"state": ..., "pid": ..., "listen": ..., "up": ..., "restarts": ...}})"""
        r = self.q.quail("status", check=False)
        out = {}
        for line in r.out.splitlines():
            words = line.split()
            rec = {"state": words[1]}
            rec.update(w.split("=", 1) for w in words[2:])
            out[words[0]] = rec
        return r.returncode, out

    def pid(self, service):
        return read_int(self.q.path("run", service + ".pid"))

    def restarted(self, service, old):
        """Waits for supervise to run a new child of service; its pid."""
        qt.wait_for(lambda: self.pid(service) not in (0, old) and self.status()[1][service]["state"] == "running",
                    30, service + " restarted")
        return self.pid(service)

    def supervise_events(self, service, event):
        return [r for r in self.q.log_lines(service) if r.get("prog") == "supervise" and r.get("event") == event
                and r.get("service") == service]

    def greeting(self, port, timeout=30):
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(512)

    def smtp_send(self, port, n):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            msg = qt.make_message(n, to=ALICE, sender="bob@remote.test").replace(b"\n", b"\r\n")
            c.sendmail("bob@remote.test", [ALICE], msg)


class TestSupervision(ServicesCase):
    def test_kill_9_of_queue_send_is_logged_restarted_and_mail_still_delivered(self):
        self.q.up()
        old = self.pid("queue-send")
        self.assertIn(old, self.q.pids("queue-send"))
        os.kill(old, signal.SIGKILL)
        new = self.restarted("queue-send", old)
        self.assertIn(new, self.q.pids("queue-send"))
        exits = self.supervise_events("queue-send", "exit")
        self.assertEqual(len(exits), 1, exits)
        self.assertEqual(exits[0]["status"], "signal 9")
        restarts = self.supervise_events("queue-send", "restart")
        self.assertEqual([r["pid"] for r in restarts], [str(new)])
        code, st = self.status()
        self.assertEqual(code, 0)
        self.assertEqual(st["queue-send"]["restarts"], "1")
        self.assertEqual(st["queue-send"]["pid"], str(new))
        r = self.q.sendmail(["-i", ALICE], qt.make_message(1, to=ALICE))
        self.assertEqual(r.returncode, 0, r.err)
        qt.wait_for(lambda: self.q.maildir_count(ALICE) == 1, 30, "delivery after the restart")

    def test_restarts_back_off_while_the_service_keeps_dying(self):
        self.q.up()
        pid = self.pid("queue-send")
        for _ in range(3):
            os.kill(pid, signal.SIGKILL)
            pid = self.restarted("queue-send", pid)
        delays = [int(r["restart_in_ms"]) for r in self.supervise_events("queue-send", "exit")]
        self.assertEqual(delays, [1000, 2000, 4000])
        self.assertEqual(self.status()[1]["queue-send"]["restarts"], "3")

    def test_kill_9_of_the_smtp_side_keeps_the_listener(self):
        port = qt.free_port()
        self.q.up(smtp="127.0.0.1:%d" % port)
        self.assertTrue(self.greeting(port).startswith(b"220 "))
        old = self.pid("smtp")
        os.kill(old, signal.SIGKILL)
        qt.wait_for(lambda: old not in self.q.pids("tcpserver"), 10, "tcpserver to die")
        # No tcpserver runs now: the socket supervise holds queues the connection
        # until the restarted one accepts it (a closed socket would refuse it).
        self.assertTrue(self.greeting(port).startswith(b"220 "))
        self.restarted("smtp", old)
        self.smtp_send(port, 2)
        qt.wait_for(lambda: self.q.maildir_count(ALICE) == 1, 30, "delivery through the restarted listener")
        self.assertEqual(self.supervise_events("smtp", "exit")[0]["status"], "signal 9")

    def test_down_stops_supervise_and_its_children(self):
        port = qt.free_port()
        self.q.up(smtp="127.0.0.1:%d" % port)
        self.assertTrue(self.q.pids("supervise"))
        self.assertEqual(self.q.quail("down").returncode, 0)
        qt.wait_for(lambda: not self.q.pids("supervise") and not self.q.pids("tcpserver")
                    and not self.q.pids("queue-send"), 10, "services gone")
        self.assertEqual(sorted(os.listdir(self.q.path("run"))), [".lock", "control.good"])
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


class TestListeners(ServicesCase):
    def test_down_up_restores_the_listeners(self):
        port = qt.free_port()
        self.q.up(smtp="127.0.0.1:%d" % port)
        with open(self.q.path("control", "listeners")) as f:
            lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
        self.assertEqual(lines, ["smtp 127.0.0.1:%d" % port])
        self.q.quail("down")
        r = self.q.up()  # no flags: control/listeners says what to run
        self.assertIn("smtp started", r.out)
        self.assertTrue(self.greeting(port).startswith(b"220 "))
        code, st = self.status()
        self.assertEqual(code, 0)
        self.assertEqual(st["smtp"]["listen"], "127.0.0.1:%d" % port)

    def test_a_flag_replaces_its_listener_and_keeps_the_others(self):
        self.q.write_control("listeners", "# mine\nsmtp 127.0.0.1:1\n")
        port = qt.free_port("::1")
        self.q.up(smtp="[::1]:%d" % port)
        with socket.create_connection(("::1", port), timeout=30) as s:
            s.settimeout(30)
            self.assertTrue(s.recv(512).startswith(b"220 "))
        with open(self.q.path("control", "listeners")) as f:
            self.assertIn("smtp [::1]:%d\n" % port, f.read())

    def test_a_host_name_is_resolved_once_and_its_address_kept(self):
        # "localhost" comes from /etc/hosts: no DNS query.
        want = socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)[0][4][0]
        port = qt.free_port(want)
        r = self.q.up(smtp="localhost:%d" % port)
        self.assertIn("--smtp localhost is %s; listening there" % want, r.out)
        shown = "[%s]:%d" % (want, port) if ":" in want else "%s:%d" % (want, port)
        with open(self.q.path("control", "listeners")) as f:
            self.assertIn("smtp %s\n" % shown, f.read())
        with socket.create_connection((want, port), timeout=30) as s:
            s.settimeout(30)
            self.assertTrue(s.recv(512).startswith(b"220 "))
        self.assertEqual(self.status()[1]["smtp"]["listen"], shown)
        # The stored address needs no resolver at the next start.
        self.q.quail("down")
        self.assertIn("smtp started", self.q.up().out)

    def test_a_name_that_does_not_resolve_starts_nothing(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.skipTest("needs root and unshare to keep the lookup off the network")
        # A private mount namespace whose nsswitch.conf reads /etc/hosts only, so the
        # failed lookup never reaches the machine's resolver.
        nss = self.q.path("nsswitch.conf")
        with open(nss, "w") as f:
            f.write("hosts: files\n")
        script = 'mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"'
        r = self.q.run(["/usr/bin/unshare", "-m", "sh", "-c", script, "sh", nss, qt.bin_path("quail"),
                        "--root", self.q.root, "up", "--smtp", "nosuch.example.test:2525"], check=False)
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("nosuch.example.test does not resolve", r.err)
        self.assertEqual(self.q.pids("queue-send"), [])
        self.assertFalse(os.path.exists(self.q.path("control", "listeners")) and
                         "nosuch" in open(self.q.path("control", "listeners")).read())
        r = self.q.up(smtp="local_host:2525", check=False)  # not a host name: never looked up
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("expected ADDRESS:PORT or HOSTNAME:PORT", r.err)

    def test_a_malformed_listeners_file_starts_nothing(self):
        self.q.write_control("listeners", "smtp 127.0.0.1:25\nsmtp nowhere\n")
        r = self.q.up(check=False)
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("control/listeners", r.err)
        self.assertEqual(self.q.pids("queue-send"), [])


class TestStatus(ServicesCase):
    def test_status_shows_each_service_and_exits_1_when_one_is_down(self):
        port = qt.free_port()
        self.q.up(smtp="127.0.0.1:%d" % port)
        code, st = self.status()
        self.assertEqual(code, 0)
        # tlsd: the resident tlsd, since quail init made a certificate.
        self.assertEqual(sorted(st), ["queue-send", "smtp", "tlsd"])
        for name in ("queue-send", "smtp", "tlsd"):
            self.assertEqual(st[name]["state"], "running")
            self.assertEqual(st[name]["pid"], str(self.pid(name)))
            self.assertRegex(st[name]["up"], r"^\d+s$")
            self.assertEqual(st[name]["restarts"], "0")
        self.assertEqual(st["queue-send"]["listen"], "-")
        self.q.quail("down")
        code, st = self.status()
        self.assertEqual(code, 1)
        self.assertEqual(st["smtp"]["state"], "stopped")
        self.assertEqual(st["smtp"]["listen"], "127.0.0.1:%d" % port)
        self.assertEqual(st["queue-send"]["state"], "stopped")
        self.assertEqual(st["tlsd"]["state"], "stopped")

    def test_up_exits_non_zero_when_it_leaves_a_listener_down(self):
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = self.q.up(check=False, smtp="127.0.0.1:%d" % port)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("smtp did not start", r.err)
        self.assertIn("queue-send started", r.out)  # the rest still came up
        code, st = self.status()
        self.assertEqual(code, 1)
        self.assertEqual(st["smtp"]["state"], "stopped")
        self.assertEqual(st["queue-send"]["state"], "running")



class TestReload(ServicesCase):
    def test_reload_makes_a_new_domain_local_in_queue_send(self):
        self.q.up()
        with open(self.q.path("control", "virtualdomains"), "a") as f:
            f.write("new.test\n")
        carol = "carol@new.test"
        self.q.add_user(carol)
        r = self.q.quail("reload")
        self.assertIn("queue-send reloaded", r.out)
        qt.wait_for(lambda: any(l.get("event") == "reload" for l in self.q.log_lines("queue-send")), 30,
                    "queue-send to reload")
        r = self.q.sendmail(["-i", carol], qt.make_message(1, to=carol))
        self.assertEqual(r.returncode, 0, r.err)
        qt.wait_for(lambda: self.q.maildir_count(carol) == 1, 30, "local delivery to the new domain")

    def test_reload_rebuilds_a_stale_aliases_table(self):
        self.q.up()
        self.q.write_control("aliases", "helpdesk: alice@example.test\n")
        r = self.q.quail("reload")
        self.assertIn("users/aliases.cdb rebuilt", r.out)
        r = self.q.quail("reload")  # fresh now: nothing to rebuild
        self.assertNotIn("rebuilt", r.out)

    def test_reload_refuses_a_bad_file_and_changes_nothing(self):
        self.q.up()
        with open(self.q.path("run", "control.good"), "rb") as f:
            good = f.read()
        self.q.write_control("databytes", "1MB\n")
        r = self.q.quail("reload", check=False)
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("control/databytes", r.err)
        self.assertIn("nothing reloaded", r.err)
        with open(self.q.path("run", "control.good"), "rb") as f:
            self.assertEqual(f.read(), good)


class TestLastGood(ServicesCase):
    def test_a_bad_databytes_edit_keeps_smtp_serving_with_the_old_value(self):
        self.q.write_control("databytes", "5000\n")
        port = qt.free_port()
        self.q.up(smtp="127.0.0.1:%d" % port)
        self.q.write_control("databytes", "1MB\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            c.ehlo()
            self.assertEqual(c.esmtp_features.get("size"), "5000")
            big = qt.make_message(1, to=ALICE, size=8000).replace(b"\n", b"\r\n")
            with self.assertRaises(smtplib.SMTPException) as caught:
                c.sendmail("bob@remote.test", [ALICE], big)
            self.assertIn("552", str(caught.exception))
        self.smtp_send(port, 2)
        qt.wait_for(lambda: self.q.maildir_count(ALICE) == 1, 30, "delivery of the small message")
        refused = [l for l in self.q.log_lines("smtp") if l.get("event") == "control_refused"]
        self.assertTrue(refused)
        self.assertTrue(refused[0]["file"].endswith("/control/databytes"), refused[0])
        self.assertEqual(refused[0]["level"], "error")


class TestLastGoodRoutes(ServicesCase):
    def test_a_malformed_smtproutes_edit_keeps_remote_delivery_on_the_last_good_routes(self):
        if qt.missing("remote-deliver", "quail-config"):
            self.skipTest("remote-deliver or quail-config not built")
        first, second = Peer().start(), Peer().start()
        self.addCleanup(first.stop)
        self.addCleanup(second.stop)
        self.q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % first.port)
        self.q.up(env={"QUAIL_RETRY_SCALE": "200"})
        # A route remote-deliver cannot parse (a port that is not a number): up and
        # reload would refuse it; the running instance keeps the last good routes.
        self.q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\nother.test:[127.0.0.1]:smtp\n" % second.port)
        r = self.q.sendmail(["-i", "-f", ALICE, "rita@remote.test"], qt.make_message(1, to="rita@remote.test"))
        self.assertEqual(r.returncode, 0, r.err)
        qt.wait_for(lambda: first.messages(), 30, "delivery through the last good route")
        self.assertEqual(second.messages(), [])
        refused = [l for l in self.q.log_lines() if l.get("event") == "control_refused"
                   and l.get("file", "").endswith("/control/smtproutes")]
        self.assertTrue(refused)
        self.assertEqual(refused[0]["level"], "error")
        self.assertIn("smtproutes:2: ", refused[0]["reason"])
        r = self.q.quail("config", "check", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("control/smtproutes", r.out + r.err)
        # A good edit takes effect at the next delivery, without a reload.
        self.q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % second.port)
        r = self.q.sendmail(["-i", "-f", ALICE, "rita@remote.test"], qt.make_message(2, to="rita@remote.test"))
        self.assertEqual(r.returncode, 0, r.err)
        qt.wait_for(lambda: second.messages(), 30, "delivery through the new route")
        self.assertEqual(len(first.messages()), 1)


class TestConfigCheck(ServicesCase):
    def config_check(self):
        r = self.q.quail("config", "check", check=False)
        values = {}
        for line in r.out.splitlines():
            name, rest = line.split(" = ", 1)
            value, source = rest.rsplit("  (", 1)
            values[name] = (value, source.rstrip(")"))
        return r, values

    def test_values_with_their_sources_and_a_warning_for_maxrcpts(self):
        self.q.write_control("maxrcpts", "5\n")
        r, values = self.config_check()
        self.assertEqual(r.returncode, 1, r.err)
        self.assertEqual(values["me"], ("mx.example.test", "control/me"))
        self.assertEqual(values["maxrcpt"], ("1000", "default"))
        self.assertEqual(values["databytes"], ("52428800", "default"))
        self.assertIn("control/maxrcpts is not a file quail reads", r.err)
        r = self.q.up()  # starts, and says so too
        self.assertIn("quail up: warning: control/maxrcpts is not a file quail reads", r.err)
        os.unlink(self.q.path("control", "maxrcpts"))
        r, _ = self.config_check()
        self.assertEqual(r.returncode, 0, r.err)

    def test_a_malformed_file_is_an_error_showing_the_last_good_value(self):
        self.q.write_control("databytes", "5000\n")
        self.q.up()
        self.q.write_control("databytes", "1MB\n")
        r, values = self.config_check()
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("control/databytes", r.err)
        self.assertEqual(values["databytes"][0], "5000")
        self.assertIn("last good value", values["databytes"][1])

if __name__ == "__main__":
    unittest.main()
