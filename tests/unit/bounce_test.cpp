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

TEST_CASE("bounce: the notice is a multipart/report with a delivery-status part per RFC 3464") {
  quail::BounceSpec s;
  s.me = "mx.example.test";
  s.from = "MAILER-DAEMON@mx.example.test";
  s.to = "bob@example.test";
  s.envid = "env+2B1";
  s.boundary = "b-1";
  s.message_id = "x@mx.example.test";
  s.arrival = 1700000000;
  s.now = 1700000100;
  s.failed = {{"nobody@example.test", "rfc822;Nobody+40example.test", "no mailbox here by that name (#5.1.1)"},
              {"late@example.test", "", "timeout (#4.4.7) and\nexpired"}};
  auto t = quail::build_bounce(s);
  const std::string& h = t.head;
  CHECK(h.find("From: MAILER-DAEMON@mx.example.test\n") == 0);
  CHECK(h.find("\nTo: bob@example.test\n") != std::string::npos);
  CHECK(h.find("Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"b-1\"\n") != std::string::npos);
  CHECK(h.find("\n--b-1\nContent-Type: text/plain") != std::string::npos);
  CHECK(h.find("\n--b-1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.test\n") != std::string::npos);
  CHECK(h.find("Original-Envelope-Id: env+1\n") != std::string::npos);
  CHECK(h.find("Arrival-Date: ") != std::string::npos);
  CHECK(h.find("\nFinal-Recipient: rfc822; nobody@example.test\nOriginal-Recipient: rfc822; Nobody@example.test\n"
               "Action: failed\nStatus: 5.1.1\n") != std::string::npos);
  CHECK(h.find("Final-Recipient: rfc822; late@example.test\nAction: failed\nStatus: 5.0.0\n") != std::string::npos);
  CHECK(h.find("timeout (#4.4.7) and expired") != std::string::npos);  // one line
  CHECK(h.size() >= 2);
  CHECK(h.substr(h.size() - 40).find("\n--b-1\nContent-Type: message/rfc822\n\n") != std::string::npos);
  CHECK(t.tail == "\n--b-1--\n");
  CHECK(h.find('\r') == std::string::npos);

  s.headers_only = true;
  s.double_bounce = true;
  auto d = quail::build_bounce(s);
  CHECK(d.head.find("Content-Type: text/rfc822-headers\n\n") != std::string::npos);
  CHECK(d.head.find("Subject: double bounce: failure notice\n") != std::string::npos);
}
