// Unit tests for lib/bounce: where notices go (bounce, double bounce, drop, VERP),
// DSN status codes from reasons, NOTIFY, xtext, and the RFC 3464 structure.
#include <doctest/doctest.h>

#include <string>

#include "bounce.hpp"

using quail::BounceKind;

TEST_CASE("bounce: a notice goes to the sender, a failed bounce to the postmaster, a failed double bounce nowhere") {
  auto b = quail::bounce_route("bob@example.test", "mx.test", "postmaster");
  CHECK(b.kind == BounceKind::bounce);
  CHECK(b.envelope_sender == "");
  CHECK(b.recipient == "bob@example.test");
  auto d = quail::bounce_route("", "mx.test", "postmaster");
  CHECK(d.kind == BounceKind::double_bounce);
  CHECK(d.envelope_sender == "#@[]");
  CHECK(d.recipient == "postmaster@mx.test");
  CHECK(quail::bounce_route("#@[]", "mx.test", "postmaster").kind == BounceKind::drop);
}

TEST_CASE("bounce: VERP senders give each recipient its own return path (qmail's rule)") {
  CHECK(quail::verp_return_path("list-return-7-@example.test-@[]", "bob@other.test") ==
        "list-return-7-bob=other.test@example.test");
  CHECK(quail::verp_return_path("bob@example.test", "x@y.test") == "bob@example.test");
  CHECK(quail::verp_return_path("", "x@y.test") == "");
  CHECK(quail::verp_return_path("#@[]", "x@y.test") == "#@[]");
  CHECK(quail::verp_return_path("-@[]", "x@y.test") == "-@[]");
  CHECK(quail::verp_return_path("nodomain-@[]", "x@y.test") == "nodomain-@[]");
}

TEST_CASE("bounce: the DSN status comes from the reason's (#x.y.z), reported as class 5") {
  CHECK(quail::dsn_status("no mailbox here by that name (#5.1.1)") == "5.1.1");
  CHECK(quail::dsn_status("too long in the queue (#4.4.7)") == "5.4.7");
  CHECK(quail::dsn_status("trailing space (#5.2.2) \n") == "5.2.2");
  CHECK(quail::dsn_status("no code at all") == "5.0.0");
  CHECK(quail::dsn_status("bad code (#5.x.1)") == "5.0.0");
  CHECK(quail::dsn_status("bad class (#2.1.1)") == "5.0.0");
  CHECK(quail::dsn_status("(#5.1234.1)", "") == "");
  CHECK(quail::dsn_status("", "") == "");
  CHECK(quail::dsn_status("(#", "") == "");
  CHECK(quail::dsn_status(")", "") == "");
}

TEST_CASE("bounce: NOTIFY asks for a failure notice only when empty or listing FAILURE") {
  CHECK(quail::notify_on_failure(""));
  CHECK(quail::notify_on_failure("FAILURE"));
  CHECK(quail::notify_on_failure("SUCCESS,FAILURE"));
  CHECK(quail::notify_on_failure("DELAY,FAILURE,SUCCESS"));
  CHECK_FALSE(quail::notify_on_failure("NEVER"));
  CHECK_FALSE(quail::notify_on_failure("SUCCESS,DELAY"));
  CHECK_FALSE(quail::notify_on_failure("FAILUREX"));
}

TEST_CASE("bounce: xtext decodes +XX and refuses malformed or control bytes") {
  CHECK(quail::xtext_decode("rfc822+3Bbob+2Bx@example.test") == "rfc822;bob+x@example.test");
  CHECK(quail::xtext_decode("abc+2") == "");
  CHECK(quail::xtext_decode("abc+zz") == "");
  CHECK(quail::xtext_decode("a+0Ab") == "");
  CHECK(quail::xtext_decode("") == "");
}

TEST_CASE("bounce: message_headers stops at the blank line") {
  CHECK(quail::message_headers("A: 1\nB: 2\n\nbody\n") == "A: 1\nB: 2\n\n");
  CHECK(quail::message_headers("A: 1\n") == "A: 1\n");
  CHECK(quail::message_headers("\nbody") == "\n");
}

TEST_CASE("bounce: NOTIFY as bits; no NOTIFY means failure and delay, NEVER means nothing") {
  using quail::notify_delay, quail::notify_failure, quail::notify_success;
  CHECK(quail::notify_flags("") == (notify_failure | notify_delay));
  CHECK(quail::notify_flags("NEVER") == 0);
  CHECK(quail::notify_flags("SUCCESS") == notify_success);
  CHECK(quail::notify_flags("SUCCESS,DELAY") == (notify_success | notify_delay));
  CHECK(quail::notify_flags("FAILURE,SUCCESS,DELAY") == (notify_success | notify_failure | notify_delay));
  CHECK(quail::notify_flags("SUCCESSX") == 0);
}

TEST_CASE("bounce: dsn_status_as keeps the subject and detail and sets the class") {
  CHECK(quail::dsn_status_as("mailbox full (#4.2.2)", '4', "4.0.0") == "4.2.2");
  CHECK(quail::dsn_status_as("mailbox full (#5.2.2)", '4', "4.0.0") == "4.2.2");
  CHECK(quail::dsn_status_as("no code", '4', "4.0.0") == "4.0.0");
}

TEST_CASE("bounce: the remote server's host and reply are found in a reason") {
  auto r = quail::remote_reply("mx.example.test [127.0.0.1] said: 550 5.1.1 no such user (#5.1.1)");
  CHECK(r.host == "mx.example.test");
  CHECK(r.reply == "550 5.1.1 no such user (#5.1.1)");
  auto k = quail::remote_reply("mx.example.test [::1] accepted the message: 250 ok");
  CHECK(k.host == "mx.example.test");
  CHECK(k.reply == "250 ok");
  auto l = quail::remote_reply("no mailbox here by that name (#5.1.1)");
  CHECK(l.host.empty());
  CHECK(l.reply.empty());
  CHECK(quail::remote_reply("x: 9999 nope").reply.empty());
  CHECK(quail::remote_reply("a: b: 421-busy").reply == "421-busy");
  CHECK(quail::remote_reply("").host.empty());
}
