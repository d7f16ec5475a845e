// Unit tests for lib/smtp_reply: a reply quoted on one line for a reason text,
// and the EHLO keywords a client acts on (lines read by lib/smtp_command).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "smtp_reply.hpp"

using namespace quail;

namespace {

SmtpReply read_reply(const std::vector<std::string>& lines) {
  SmtpReplyReader r;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto done = r.add(lines[i]);
    REQUIRE(done);
    CHECK(*done == (i + 1 == lines.size()));
  }
  return r.take();
}

}  // namespace

TEST_CASE("smtp reply: quote joins lines, keeps the enhanced code and cleans control bytes") {
  CHECK(quote_reply(read_reply({"550-5.7.1 first", std::string("550 second\x01line")})) ==
        "550 5.7.1 first / second?line");
  CHECK(quote_reply(read_reply({"250 ok"})) == "250 ok");
  CHECK(quote_reply(read_reply({"354"})) == "354");
  CHECK(quote_reply(read_reply({"550 " + std::string(1000, 'x')})).size() == 400);
}

TEST_CASE("smtp reply: EHLO keywords") {
  SmtpReply r = read_reply({"250-mx.example.test PIPELINING in the greeting is not a keyword", "250-pipelining",
                            "250-STARTTLS", "250-DSN", "250-SMTPUTF8", "250-8BITMIME", "250-SIZE 35882577",
                            "250-AUTH=LOGIN", "250 AUTH PLAIN CRAM-MD5"});
  EhloOffer o = parse_ehlo(r);
  CHECK(o.pipelining);
  CHECK(o.starttls);
  CHECK(o.dsn);
  CHECK(o.smtputf8);
  CHECK(o.eightbitmime);
  CHECK(o.size);
  CHECK(o.size_limit == 35882577);
  CHECK(o.auth_plain);
  CHECK(o.auth_login);
  EhloOffer none = parse_ehlo(read_reply({"250-mx PIPELINING STARTTLS", "250 SIZE"}));
  CHECK_FALSE(none.pipelining);
  CHECK_FALSE(none.starttls);
  CHECK(none.size);
  CHECK(none.size_limit == 0);
  EhloOffer junk = parse_ehlo(read_reply({"250-mx", "250-SIZE 12x", "250 AUTH"}));
  CHECK(junk.size_limit == 0);
  CHECK_FALSE(junk.auth_plain);
}
