"""85-lists: mailing lists on extension addresses (issue 12), with real processes:
`quail init`, `quail up`, virtual users as subscribers, mail sent with sendmail.

A list is created by `quail list create`; three addresses subscribe by mail
(the confirmation round trip), a post reaches each subscriber once with the
List-* fields and its own VERP return path; unsubscription by mail; forged,
expired and reused cookies change nothing; a non-subscriber's post is refused
(members-only) or held and accepted by the moderator; automatic mail is never
distributed; a subscriber whose mail bounces is probed and removed; concurrent
posts and changes lose nothing and number without gaps. As root, a system login
creates a list on its own home without root and the list programs run as it.
"""
import base64
import email
import email.policy
import hashlib
import hmac
import os
import pwd
import re
import subprocess
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-list", "list-post", "list-manage", "sendmail", "queue-send", "local-deliver")

D = "example.test"
USERS = ("alice", "bob", "carol", "dave", "eve")


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def b32(data):
    return base64.b32encode(data).decode().lower().rstrip("=")


def cookie(secret, action, address, when):
    """A cookie as lists.md specifies it: 7 base32 digits of time, then the first
    13 base32 characters of HMAC-SHA-512-256(secret, action NUL address NUL time)."""
    t = ""
    v = when
    for _ in range(7):
        t = "abcdefghijklmnopqrstuvwxyz234567"[v & 31] + t
        v >>= 5
    mac = hmac.new(secret, b"%s\0%s\0%s" % (action.encode(), address.lower().encode(), t.encode()),
                   hashlib.sha512).digest()[:32]
    return t + b32(mac[:9])[:13]


class Lists(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance(prefix="quail-lists-")
        try:
            cls.q.init("mx." + D, [D])
            for u in USERS:
                cls.q.add_user(u + "@" + D)
            cls.q.up(env={"QUAIL_RETRY_SCALE": "100"})
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    # -- helpers
    def list_cmd(self, *args, check=True, user=None):
        return self.q.quail("list", *args, check=check)

    def create(self, name, *opts):
        r = self.list_cmd("create", "alice-%s@%s" % (name, D), *opts)
        self.assertIn("created", r.out)
        return os.path.join(self.q.home("alice@" + D), "lists", name)

    def send(self, sender, rcpt, subject="hi", body="text\n", extra=""):
        msg = "From: <%s>\nTo: <%s>\nSubject: %s\n%s\n%s" % (sender, rcpt, subject, extra, body)
        r = self.q.sendmail(["-f", sender, rcpt], msg.encode())
        self.assertEqual(r.returncode, 0, r.err)

    def mails(self, user):
        return [parse(m) for m in self.q.maildir_messages(user + "@" + D)]

    def wait_mail(self, user, pred, what, count=1, timeout=60):
        def found():
            hits = [m for m in self.mails(user) if pred(m)]
            return hits if len(hits) >= count else None
        return qt.wait_for(found, timeout, what)

    def subject_is(self, text):
        return lambda m: (m["Subject"] or "") == text

    def subscribers(self, name):
        return self.list_cmd("subscribers", "alice-%s@%s" % (name, D)).out.split()

    def settle(self):
        qt.wait_for(self.q.queue_empty, 60, "an empty queue")

    def subscribe_by_mail(self, name, user, action="subscribe"):
        """The round trip: request, the confirmation's Reply-To, a reply to it."""
        before = len([m for m in self.mails(user) if (m["Subject"] or "").startswith("confirm: " + action)])
        self.send(user + "@" + D, "alice-%s-%s@%s" % (name, action, D), subject=action)
        conf = self.wait_mail(user, lambda m: (m["Subject"] or "") == "confirm: %s alice-%s@%s" % (action, name, D),
                              "the %s confirmation for %s" % (action, user), count=before + 1)[-1]
        reply_to = str(conf["Reply-To"])
        code = {"subscribe": "sc", "unsubscribe": "uc", "digest-subscribe": "dsc", "digest-unsubscribe": "duc"}
        prefix = "alice-%s-%s." % (name, code[action])
        self.assertTrue(reply_to.startswith(prefix), reply_to)
        self.assertTrue(reply_to.endswith("-%s=%s@%s" % (user, D, D)), reply_to)
        self.assertLessEqual(len(reply_to.split("@")[0]), 64)
        self.send(user + "@" + D, reply_to, subject="Re: confirm")
        greeting = (("welcome to " if action.endswith("-subscribe") or action == "subscribe" else "goodbye from ") +
                    ("the digest of " if action.startswith("digest-") else "") + "alice-%s@%s" % (name, D))
        self.wait_mail(user, self.subject_is(greeting), greeting + " for " + user)
        return reply_to

    # -- tests
    def test_create_writes_the_list_and_refuses_to_overwrite(self):
        home = self.q.home("alice@" + D)
        d = self.create("club", "--prefix", "[club]")
        for f, mode in (("config", 0o600), ("secret", 0o600)):
            self.assertEqual(os.stat(os.path.join(d, f)).st_mode & 0o777, mode, f)
        self.assertEqual(os.path.getsize(os.path.join(d, "secret")), 32)
        with open(os.path.join(home, ".qmail-club")) as f:
            self.assertIn("list-post", f.read())
        with open(os.path.join(home, ".qmail-club-default")) as f:
            self.assertIn("list-manage", f.read())
        with open(os.path.join(d, "config"), "rb") as f:
            config = f.read()
        r = self.list_cmd("create", "alice-club@" + D, "--moderated", check=False)
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("exists", r.err)
        with open(os.path.join(d, "config"), "rb") as f:
            self.assertEqual(f.read(), config, "a refused create changed the list")
        # An extension file the user wrote is never replaced.
        with open(os.path.join(home, ".qmail-own"), "w") as f:
            f.write("./Maildir/\n")
        r = self.list_cmd("create", "alice-own@" + D, check=False)
        self.assertEqual(r.returncode, 100)
        self.assertFalse(os.path.exists(os.path.join(home, "lists", "own")))
        with open(os.path.join(home, ".qmail-own")) as f:
            self.assertEqual(f.read(), "./Maildir/\n")
        r = self.list_cmd("create", "nobody-x@" + D, check=False)
        self.assertEqual(r.returncode, 100)
        show = self.list_cmd("show", "alice-club@" + D).out
        self.assertIn("prefix [club]", show)
        self.assertIn("subscribers 0", show)
        self.list_cmd("destroy", "alice-club@" + D)
        self.assertFalse(os.path.exists(d))
        self.assertFalse([n for n in os.listdir(home) if n.startswith(".qmail-club")])

    def test_subscribe_post_unsubscribe_by_mail(self):
        self.create("team", "--prefix", "[team]")
        sc = {}
        for u in ("bob", "carol", "dave"):
            sc[u] = self.subscribe_by_mail("team", u)
        self.assertEqual(self.subscribers("team"), ["bob@" + D, "carol@" + D, "dave@" + D])
        self.send("bob@" + D, "alice-team@" + D, subject="hello all", body="first post\n")
        for u in ("bob", "carol", "dave"):
            copy = self.wait_mail(u, self.subject_is("[team] hello all"), "the post for " + u)
            self.assertEqual(len(copy), 1)
            m = copy[0]
            self.assertEqual(m["List-Id"], "<alice-team.example.test>")
            self.assertEqual(m["List-Post"], "<mailto:alice-team@example.test>")
            self.assertEqual(m["List-Help"], "<mailto:alice-team-help@example.test>")
            self.assertEqual(m["List-Subscribe"], "<mailto:alice-team-subscribe@example.test>")
            self.assertEqual(m["List-Unsubscribe"], "<mailto:alice-team-unsubscribe@example.test>")
            self.assertEqual(m["Return-Path"], "<alice-team-return-1-%s=%s@%s>" % (u, D, D))
            self.assertEqual(m.get_content(), "first post\n")
        # Leaving by mail; the used address, and dave's old subscribe address, change nothing.
        uc = self.subscribe_by_mail("team", "dave", "unsubscribe")
        self.assertEqual(self.subscribers("team"), ["bob@" + D, "carol@" + D])
        for old in (uc, sc["dave"]):
            self.send("dave@" + D, old, subject="again")
        self.wait_mail("dave", self.subject_is("confirmation already used for alice-team@" + D),
                       "two 'already used' replies", count=2)
        self.assertEqual(self.subscribers("team"), ["bob@" + D, "carol@" + D])
        self.send("carol@" + D, "alice-team@" + D, subject="second", body="two\n")
        for u in ("bob", "carol"):
            m = self.wait_mail(u, self.subject_is("[team] second"), "post 2 for " + u)[0]
            self.assertEqual(m["Return-Path"], "<alice-team-return-2-%s=%s@%s>" % (u, D, D))
        self.settle()
        self.assertFalse([m for m in self.mails("dave") if m["Subject"] == "[team] second"])
        self.assertIn("last-post 2", self.list_cmd("show", "alice-team@" + D).out)

    def test_forged_and_expired_cookies_change_nothing(self):
        d = self.create("guard")
        with open(os.path.join(d, "secret"), "rb") as f:
            secret = f.read()
        eve = "eve@" + D
        forged = "alice-guard-sc.%s-eve=%s@%s" % (cookie(b"\0" * 32, "sc", eve, int(time.time())), D, D)
        self.send(eve, forged)
        self.wait_mail("eve", self.subject_is("not a valid confirmation address for alice-guard@" + D),
                       "the reply to a forged cookie")
        expired = "alice-guard-sc.%s-eve=%s@%s" % (cookie(secret, "sc", eve, int(time.time()) - 11 * 86400), D, D)
        self.send(eve, expired)
        self.wait_mail("eve", self.subject_is("expired confirmation address for alice-guard@" + D),
                       "the reply to an expired cookie")
        self.assertEqual(self.subscribers("guard"), [])
        # The same computation with a fresh time is accepted: the refusals above are
        # about the key and the time, not the format.
        good = "alice-guard-sc.%s-eve=%s@%s" % (cookie(secret, "sc", eve, int(time.time())), D, D)
        self.send(eve, good)
        self.wait_mail("eve", self.subject_is("welcome to alice-guard@" + D), "welcome")
        self.assertEqual(self.subscribers("guard"), [eve])

    def test_members_only_refuses_a_stranger(self):
        self.create("members", "--members-only")
        self.list_cmd("add", "alice-members@" + D, "bob@" + D)
        self.send("eve@" + D, "alice-members@" + D, subject="from a stranger")
        bounce = self.wait_mail("eve", lambda m: "only subscribers may post" in m.as_string(),
                                "eve's bounce")[0]
        self.assertEqual(bounce["Return-Path"], "<>")
        self.send("bob@" + D, "alice-members@" + D, subject="from a member")
        self.wait_mail("bob", self.subject_is("from a member"), "bob's own post")
        self.settle()
        self.assertFalse([m for m in self.mails("bob") if m["Subject"] == "from a stranger"])

    def test_moderated_post_is_held_then_accepted_or_rejected(self):
        self.create("mod", "--moderated", "--members-only")
        self.list_cmd("add", "alice-mod@" + D, "carol@" + D)
        self.send("eve@" + D, "alice-mod@" + D, subject="please post me")
        mod_note = (lambda m: m["Subject"] == "moderate: post from eve@" + D and
                    str(m["Reply-To"]).startswith("alice-mod-accept."))
        note = self.wait_mail("alice", mod_note, "the moderator's note")[0]
        accept = str(note["Reply-To"])
        self.assertTrue(accept.startswith("alice-mod-accept."), accept)
        reject = re.search(r"alice-mod-reject\.\S+@" + D, note.get_content()).group(0)
        self.send("alice@" + D, accept, subject="Re: moderate")
        self.wait_mail("carol", self.subject_is("please post me"), "the accepted post")
        # Answering again (either way) finds the post handled: no second copy, no note to eve.
        self.send("alice@" + D, reject)
        self.send("alice@" + D, accept)
        self.settle()
        self.assertEqual(len([m for m in self.mails("carol") if m["Subject"] == "please post me"]), 1)
        self.assertFalse([m for m in self.mails("eve") if "not accepted" in (m["Subject"] or "")])
        # A member posts straight through; a second stranger's post is rejected.
        self.send("carol@" + D, "alice-mod@" + D, subject="member post")
        self.wait_mail("carol", self.subject_is("member post"), "the member's post")
        self.send("eve@" + D, "alice-mod@" + D, subject="reject me")
        notes = self.wait_mail("alice", mod_note, "the second note", count=2)
        second = [n for n in notes if "reject me" in n.get_content()][0]
        self.send("alice@" + D, re.search(r"alice-mod-reject\.\S+@" + D, second.get_content()).group(0))
        self.wait_mail("eve", self.subject_is("your post to alice-mod@%s was not accepted" % D), "the rejection")
        self.settle()
        self.assertFalse([m for m in self.mails("carol") if m["Subject"] == "reject me"])

    def test_a_held_post_times_out_with_a_note_to_its_sender(self):
        d = self.create("late", "--moderated")
        self.list_cmd("add", "alice-late@" + D, "carol@" + D)
        self.send("eve@" + D, "alice-late@" + D, subject="too late")
        note = self.wait_mail("alice", lambda m: m["Subject"] == "moderate: post from eve@" + D and
                              "alice-late" in str(m["Reply-To"]), "the moderator's note")[0]
        held = os.listdir(os.path.join(d, "held"))
        self.assertEqual(len(held), 1)
        # Age the held post past the cookie lifetime (its id carries its time).
        old = "%d.%s" % (int(time.time()) - 11 * 86400, held[0].split(".")[1])
        os.rename(os.path.join(d, "held", held[0]), os.path.join(d, "held", old))
        self.send("dave@" + D, "alice-late@" + D, subject="next held post")
        self.wait_mail("eve", self.subject_is("your post to alice-late@%s expired" % D), "the expiry note")
        self.assertEqual(len(os.listdir(os.path.join(d, "held"))), 1, "the old post went, the new one waits")
        # The moderator's old accept address now finds nothing to accept.
        self.send("alice@" + D, str(note["Reply-To"]))
        self.settle()
        self.assertFalse([m for m in self.mails("carol") if m["Subject"] == "too late"])

    def test_automatic_mail_is_never_distributed(self):
        self.create("auto")
        self.list_cmd("add", "alice-auto@" + D, "dave@" + D)
        self.send("bob@" + D, "alice-auto@" + D, subject="out of office", extra="Auto-Submitted: auto-replied\n")
        self.send("MAILER-DAEMON@" + D, "alice-auto@" + D, subject="failure notice")
        r = self.q.sendmail(["-f", "", "alice-auto@" + D], b"Subject: null sender\n\nbounce\n")
        self.assertEqual(r.returncode, 0, r.err)
        self.send("bob@" + D, "alice-auto@" + D, subject="real post")
        self.wait_mail("dave", self.subject_is("real post"), "the real post")
        self.settle()
        got = [m["Subject"] for m in self.mails("dave")]
        self.assertEqual(got, ["real post"])
        self.assertIn("last-post 1", self.list_cmd("show", "alice-auto@" + D).out)

    def test_loop_through_the_list_is_refused(self):
        self.create("loop")
        self.list_cmd("add", "alice-loop@" + D, "dave@" + D)
        self.send("bob@" + D, "alice-loop@" + D, subject="looped", extra="List-Id: <alice-loop.example.test>\n")
        self.wait_mail("bob", lambda m: "already been through" in m.as_string(), "the loop bounce")
        self.assertIn("last-post 0", self.list_cmd("show", "alice-loop@" + D).out)

    def test_archive_returns_a_post_to_subscribers_only(self):
        d = self.create("arch", "--archive", "--prefix", "[arch]")
        self.list_cmd("add", "alice-arch@" + D, "bob@" + D)
        self.send("bob@" + D, "alice-arch@" + D, subject="keep me", body="archived body\n")
        self.wait_mail("bob", self.subject_is("[arch] keep me"), "the post")
        self.assertTrue(os.path.exists(os.path.join(d, "archive", "1")))
        self.send("bob@" + D, "alice-arch-get.1@" + D, subject="get")
        got = self.wait_mail("bob", self.subject_is("post 1 of alice-arch@" + D), "the archived post")[0]
        parts = [p for p in got.iter_parts() if p.get_content_type() == "message/rfc822"]
        self.assertEqual(len(parts), 1)
        inner = parts[0].get_content()
        self.assertEqual(inner["Subject"], "[arch] keep me")
        self.assertEqual(inner.get_content(), "archived body\n")
        self.send("eve@" + D, "alice-arch-get.1@" + D, subject="get")
        refusal = self.wait_mail("eve", self.subject_is("archive of alice-arch@" + D), "the refusal")[0]
        self.assertIn("Only subscribers", refusal.get_content())
        self.send("bob@" + D, "alice-arch-get.9@" + D, subject="get")
        missing = self.wait_mail("bob", self.subject_is("archive of alice-arch@" + D), "no post 9")[0]
        self.assertIn("no post 9", missing.get_content())

    def test_digest_is_a_multipart_digest_of_the_posts(self):
        self.create("dig", "--digest", "--prefix", "[dig]")
        self.subscribe_by_mail("dig", "carol", "digest-subscribe")
        self.assertEqual(self.list_cmd("subscribers", "--digest", "alice-dig@" + D).out.split(), ["carol@" + D])
        self.assertEqual(self.subscribers("dig"), [])
        self.list_cmd("add", "alice-dig@" + D, "dave@" + D)
        # A digest subscriber whose digest bounces is probed (at once: window 0) and removed.
        cfg = os.path.join(self.q.home("alice@" + D), "lists", "dig", "config")
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(re.sub(r"bounce_window=\d+", "bounce_window=0", text))
        self.list_cmd("add", "--digest", "alice-dig@" + D, "ghost3@" + D)
        for i in (1, 2):
            self.send("bob@" + D, "alice-dig@" + D, subject="digest post %d" % i, body="body %d\n" % i)
            self.wait_mail("dave", self.subject_is("[dig] digest post %d" % i), "post %d for dave" % i)
        self.settle()
        self.assertFalse([m for m in self.mails("carol") if "digest post" in (m["Subject"] or "")],
                         "no digest before it is due")
        self.assertIn("digest 1 of 2 posts sent to 2", self.list_cmd("digest", "alice-dig@" + D).out)
        d = self.wait_mail("carol", lambda m: (m["Subject"] or "").startswith("[dig] digest 1 of"), "the digest")
        self.assertEqual(len(d), 1)
        self.assertEqual(d[0].get_content_type(), "multipart/digest")
        self.assertEqual(d[0]["List-Id"], "<alice-dig.example.test>")
        parts = list(d[0].iter_parts())
        self.assertEqual([p.get_content_type() for p in parts], ["message/rfc822"] * 2)
        self.assertEqual([p.get_content()["Subject"] for p in parts], ["[dig] digest post 1", "[dig] digest post 2"])
        self.assertEqual(parts[1].get_content().get_content(), "body 2\n")
        self.assertEqual(d[0]["Return-Path"], "<alice-dig-return-d1-carol=%s@%s>" % (D, D))
        qt.wait_for(lambda: self.list_cmd("subscribers", "--digest", "alice-dig@" + D).out.split() == ["carol@" + D],
                    60, "the bouncing digest subscriber removed")
        self.assertIn("no posts wait", self.list_cmd("digest", "alice-dig@" + D).out)
        # By size: a limit of 1 byte sends the digest with the post that reaches it.
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(re.sub(r"digest_size=\d+", "digest_size=1", text))
        self.send("bob@" + D, "alice-dig@" + D, subject="digest post 3")
        self.wait_mail("carol", lambda m: (m["Subject"] or "").startswith("[dig] digest 2 of"), "the digest by size")

    def test_bouncing_subscriber_is_probed_and_removed(self):
        d = self.create("bnc")
        with open(os.path.join(d, "config")) as f:
            config = f.read()
        with open(os.path.join(d, "config"), "w") as f:  # probe at the first bounce
            f.write(re.sub(r"bounce_window=\d+", "bounce_window=0", config))
        self.list_cmd("add", "alice-bnc@" + D, "bob@" + D, "ghost@" + D)
        self.send("bob@" + D, "alice-bnc@" + D, subject="to a ghost")
        qt.wait_for(lambda: self.subscribers("bnc") == ["bob@" + D], 60, "the ghost removed")
        lines = [r for r in self.q.log_lines("queue-send") if "alice-bnc-return-p." in r.get("from", "")]
        self.assertTrue(lines, "a probe went out with its cookie return path")
        self.wait_mail("bob", self.subject_is("to a ghost"), "bob's copy")

    def test_bounce_counts_are_shown_to_the_owner(self):
        self.create("count")
        self.list_cmd("add", "alice-count@" + D, "bob@" + D, "ghost2@" + D)
        self.send("bob@" + D, "alice-count@" + D, subject="counted")
        qt.wait_for(lambda: "ghost2@%s bounces=1" % D in self.list_cmd("subscribers", "-v", "alice-count@" + D).out,
                    60, "a counted bounce")
        self.assertIn("bouncing 1", self.list_cmd("show", "alice-count@" + D).out)
        self.assertIn("ghost2@" + D, self.subscribers("count"), "one bounce does not remove")

    def test_concurrent_posts_and_changes_lose_nothing(self):
        self.create("conc")
        self.list_cmd("add", "alice-conc@" + D, "bob@" + D)
        # eve-c00@ .. eve-c11@: local addresses (eve's .qmail-default) to keep the queue local.
        with open(os.path.join(self.q.home("eve@" + D), ".qmail-default"), "w") as f:
            f.write("./Maildir/\n")
        extra = ["eve-c%02d@%s" % (i, D) for i in range(12)]
        jobs = [("post", i) for i in range(6)] + [("add", a) for a in extra]

        def job(item):
            kind, v = item
            if kind == "post":
                self.send("bob@" + D, "alice-conc@" + D, subject="concurrent %d" % v)
            else:
                self.q.quail("list", "add", "alice-conc@" + D, v)
        qt.run_parallel(job, jobs, concurrency=8)
        self.assertEqual(sorted(self.subscribers("conc")), sorted(["bob@" + D] + extra))
        copies = self.wait_mail("bob", lambda m: (m["Subject"] or "").startswith("concurrent "), "six posts", count=6)
        numbers = sorted(int(re.match(r"<alice-conc-return-(\d+)-", m["Return-Path"]).group(1)) for m in copies)
        self.assertEqual(numbers, [1, 2, 3, 4, 5, 6])
        self.assertIn("last-post 6", self.list_cmd("show", "alice-conc@" + D).out)
        self.settle()  # eve's extension copies of the posts made after their subscription
        self.list_cmd("remove", "alice-conc@" + D, *extra)
        self.assertEqual(self.subscribers("conc"), ["bob@" + D])


LOGIN = "quaillist1"


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class SystemUserList(unittest.TestCase):
    """A login makes a list on its own home without root; the list's programs run as it."""

    @classmethod
    def setUpClass(cls):
        qt.require("local-spawn")
        cls.pw = qt.add_login(LOGIN, reachable="list-post")
        for sub in ("", "tmp", "new", "cur"):
            p = os.path.join(cls.pw.pw_dir, "Maildir", sub)
            os.makedirs(p, exist_ok=True)
            os.chown(p, cls.pw.pw_uid, cls.pw.pw_gid)
        cls.q = qt.Instance(prefix="quail-lists-sys-")
        try:
            os.chmod(cls.q.tmp, 0o755)
            cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
            cls.q.add_user("alice@sys.test")
            cls.q.up()
        except BaseException:
            cls.q.cleanup()
            qt.remove_login(LOGIN)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        qt.remove_login(LOGIN)

    def as_login(self, argv, data=None):
        env = {"PATH": "/usr/bin:/bin", "QUAIL_ROOT": self.q.root, "USER": LOGIN, "HOME": self.pw.pw_dir}

        def drop():
            os.setgroups([])
            os.setgid(self.pw.pw_gid)
            os.setuid(self.pw.pw_uid)
        return subprocess.run(argv, input=data, capture_output=True, env=env, preexec_fn=drop, timeout=60)

    def test_login_creates_a_list_and_its_programs_run_as_the_login(self):
        addr = LOGIN + "-team@mx.sys.test"
        quail = self.q.path("bin", "quail")
        r = self.as_login([quail, "list", "create", addr])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        d = os.path.join(self.pw.pw_dir, "lists", "team")
        for p in (d, os.path.join(d, "secret"), os.path.join(self.pw.pw_dir, ".qmail-team")):
            self.assertEqual(os.stat(p).st_uid, self.pw.pw_uid, p)
        r = self.as_login([quail, "list", "add", addr, "alice@sys.test"])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        # Another login's list is not this login's to change.
        r = self.as_login([quail, "list", "create", "alice-x@sys.test"])
        self.assertNotEqual(r.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(self.q.home("alice@sys.test"), ".qmail-x")))
        r = self.as_login([self.q.path("bin", "sendmail"), "-f", LOGIN + "@mx.sys.test", addr],
                          b"Subject: from a login\n\nhello\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        m = qt.wait_for(lambda: [x for x in self.q.maildir_messages("alice@sys.test") if b"from a login" in x],
                        60, "the post for alice")[0]
        self.assertIn(b"Return-Path: <quaillist1-team-return-1-alice=sys.test@mx.sys.test>", m)
        # list-post wrote the post counter: as the login, never as root.
        st = os.stat(os.path.join(d, "seq"))
        self.assertEqual((st.st_uid, st.st_gid), (self.pw.pw_uid, self.pw.pw_gid))


if __name__ == "__main__":
    unittest.main()
