// Unit tests for lib/dsn_report: the RFC 3464 structure of every kind of notice
// (failed, delayed, delivered, relayed), RFC 6533's utf-8 address types and
// message/global parts, and the cleaning of what reaches a field.
#include <doctest/doctest.h>

#include <string>

#include "dsn_report.hpp"

using quail::DsnAction;

namespace {

quail::DsnSpec spec_with(std::vector<quail::DsnRecipient> rcpts) {
  quail::DsnSpec s;
  s.me = "mx.example.test";
  s.from = "MAILER-DAEMON@mx.example.test";
  s.to = "bob@example.test";
  s.envid = "env+2B1";
  s.boundary = "b-1";
  s.message_id = "x@mx.example.test";
  s.arrival = 1700000000;
  s.now = 1700000100;
  s.recipients = std::move(rcpts);
  return s;
}

bool has(const std::string& h, const std::string& what) { return h.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("dsn: a failure notice is a multipart/report with a delivery-status part per RFC 3464") {
  auto s = spec_with({{"nobody@example.test", "rfc822;Nobody+40example.test", "no mailbox here by that name (#5.1.1)"},
                      {"late@example.test", "", "timeout (#4.4.7) and\nexpired"}});
  auto t = quail::build_dsn(s);
  const std::string& h = t.head;
  CHECK(h.find("From: MAILER-DAEMON@mx.example.test\n") == 0);
  CHECK(has(h, "\nTo: bob@example.test\n"));
  CHECK(has(h, "\nSubject: failure notice\n"));
  CHECK(has(h, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"b-1\"\n"));
  CHECK(has(h, "\n--b-1\nContent-Type: text/plain"));
  CHECK(has(h, "\n--b-1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.test\n"));
  CHECK(has(h, "Original-Envelope-Id: env+1\n"));
  CHECK(has(h, "Arrival-Date: "));
  CHECK(has(h, "\nFinal-Recipient: rfc822; nobody@example.test\nOriginal-Recipient: rfc822; Nobody@example.test\n"
               "Action: failed\nStatus: 5.1.1\n"));
  CHECK(has(h, "Final-Recipient: rfc822; late@example.test\nAction: failed\nStatus: 5.0.0\n"));
  CHECK(has(h, "timeout (#4.4.7) and expired"));  // one line
  CHECK(has(h.substr(h.size() - 40), "\n--b-1\nContent-Type: message/rfc822\n\n"));
  CHECK(t.tail == "\n--b-1--\n");
  CHECK(h.find('\r') == std::string::npos);
  CHECK_FALSE(has(h, "Content-Transfer-Encoding"));  // all 7-bit

  s.content = quail::DsnContent::headers;
  s.double_bounce = true;
  auto d = quail::build_dsn(s);
  CHECK(has(d.head, "Content-Type: text/rfc822-headers\n\n"));
  CHECK(has(d.head, "Subject: double bounce: failure notice\n"));
}

TEST_CASE("dsn: a remote server's reply becomes Remote-MTA and an smtp Diagnostic-Code") {
  auto s = spec_with({{"x@remote.test", "", "mx.remote.test [192.0.2.1] said: 550 5.1.1 unknown user (#5.1.1)"}});
  auto h = quail::build_dsn(s).head;
  CHECK(has(h, "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.remote.test\n"
               "Diagnostic-Code: smtp; 550 5.1.1 unknown user (#5.1.1)\n"));
  // and the human part quotes the whole reason
  CHECK(has(h, "<x@remote.test>:\nmx.remote.test [192.0.2.1] said: 550 5.1.1 unknown user (#5.1.1)\n"));
}

TEST_CASE("dsn: a delay notice says delayed with a class 4 status and when the retries end") {
  quail::DsnRecipient r{"slow@remote.test", "", "mx.remote.test [192.0.2.1] said: 451 4.3.0 try later (#4.3.0)",
                        DsnAction::delayed};
  auto s = spec_with({r});
  s.retry_until = 1700604800;
  s.content = quail::DsnContent::headers;
  auto h = quail::build_dsn(s).head;
  CHECK(has(h, "\nSubject: delivery delayed: still trying\n"));
  CHECK(has(h, "Action: delayed\nStatus: 4.3.0\n"));
  CHECK(has(h, "Diagnostic-Code: smtp; 451 4.3.0 try later (#4.3.0)\n"));
  CHECK(has(h, "Last-Attempt-Date: "));
  CHECK(has(h, "Will-Retry-Until: "));
  CHECK(has(h, "This is only a warning"));
  CHECK(has(h, "Content-Type: text/rfc822-headers\n\n"));
}

TEST_CASE("dsn: success reports say delivered or relayed with status 2.0.0 and keep ORCPT and ENVID") {
  auto s = spec_with({{"alice@example.test", "rfc822;alice@example.test", "", DsnAction::delivered},
                      {"carol@remote.test", "", "mx.remote.test [192.0.2.1] accepted the message: 250 ok",
                       DsnAction::relayed}});
  s.content = quail::DsnContent::headers;
  auto h = quail::build_dsn(s).head;
  CHECK(has(h, "\nSubject: delivery report\n"));
  CHECK(has(h, "Original-Envelope-Id: env+1\n"));
  CHECK(has(h, "Final-Recipient: rfc822; alice@example.test\nOriginal-Recipient: rfc822; alice@example.test\n"
               "Action: delivered\nStatus: 2.0.0\n"));
  CHECK(has(h, "Final-Recipient: rfc822; carol@remote.test\nAction: relayed\nStatus: 2.0.0\n"
               "Remote-MTA: dns; mx.remote.test\nDiagnostic-Code: smtp; 250 ok\n"));
  CHECK(has(h, "<alice@example.test>: delivered.\n"));
  CHECK_FALSE(has(h, "x-quail"));
}

TEST_CASE("dsn: a UTF-8 recipient gets a utf-8 address type in a global delivery-status (RFC 6533)") {
  auto s = spec_with({{"j\xc3\xb6rg@example.test", "utf-8;j\xc3\xb6rg@example.test", "no mailbox (#5.1.1)"}});
  s.utf8_original = true;
  s.eight_bit = true;
  auto h = quail::build_dsn(s).head;
  CHECK(has(h, "Content-Type: multipart/report; report-type=global-delivery-status;"));
  CHECK(has(h, "Content-Type: message/global-delivery-status\n"));
  CHECK(has(h, "Final-Recipient: utf-8; j\xc3\xb6rg@example.test\n"));
  CHECK(has(h, "Original-Recipient: utf-8; j\xc3\xb6rg@example.test\n"));
  CHECK(has(h.substr(h.size() - 80), "Content-Type: message/global\nContent-Transfer-Encoding: 8bit\n\n"));

  s.content = quail::DsnContent::headers;
  CHECK(has(quail::build_dsn(s).head, "Content-Type: message/global-headers\n"));
}

TEST_CASE("dsn: an 8-bit original is returned as 8bit message/rfc822 without UTF-8 headers") {
  auto s = spec_with({{"nobody@example.test", "", "no mailbox (#5.1.1)"}});
  s.eight_bit = true;
  auto h = quail::build_dsn(s).head;
  CHECK(has(h, "report-type=delivery-status;"));
  CHECK(has(h.substr(h.size() - 80), "Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n"));
}

TEST_CASE("dsn: 8-bit bytes in an ASCII report become '?', invalid UTF-8 in a global one too") {
  auto s = spec_with({{"nobody@example.test", "", "bad \xff\xfe reply (#5.1.1)"}});
  auto h = quail::build_dsn(s).head;
  CHECK(has(h, "bad ?? reply (#5.1.1)"));
  auto u = spec_with({{"j\xc3\xb6rg@example.test", "", "bad \xc3 \xe2\x82\xac \xed\xa0\x80 (#5.1.1)"}});
  auto g = quail::build_dsn(u).head;
  CHECK(has(g, "bad ? \xe2\x82\xac ??? (#5.1.1)"));
}

TEST_CASE("dsn: action names are RFC 3464's") {
  CHECK(quail::dsn_action_name(DsnAction::failed) == "failed");
  CHECK(quail::dsn_action_name(DsnAction::delayed) == "delayed");
  CHECK(quail::dsn_action_name(DsnAction::delivered) == "delivered");
  CHECK(quail::dsn_action_name(DsnAction::relayed) == "relayed");
  CHECK(quail::dsn_action_name(DsnAction::expanded) == "expanded");
}
