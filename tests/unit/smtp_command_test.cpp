// Unit tests for lib/smtp_command: RFC 5321 command syntax with ESMTP parameters,
// BDAT, and the reply-line parser a client uses.
#include <doctest/doctest.h>

#include <string>

#include "smtp_command.hpp"

using quail::ErrorKind;
using quail::parse_reply_line;
using quail::parse_smtp_command;
using quail::SmtpVerb;

namespace {

struct Case {
  const char* line;
  bool ok;
  ErrorKind kind;  // when !ok
};

}  // namespace

TEST_CASE("smtp command: verbs are case-insensitive and need their exact spelling") {
  CHECK(parse_smtp_command("ehlo client.test")->verb == SmtpVerb::ehlo);
  CHECK(parse_smtp_command("EhLo client.test")->argument == "client.test");
  CHECK(parse_smtp_command("quit")->verb == SmtpVerb::quit);
  CHECK(parse_smtp_command("QUIT  ")->verb == SmtpVerb::quit);  // trailing blanks are dropped
  CHECK(parse_smtp_command("bdat 10 last")->last);
  CHECK(parse_smtp_command("StartTLS")->verb == SmtpVerb::starttls);
  for (const char* unknown : {"", "QUI", "QUITX", "MAILFROM:<>", "XEXP", "GET / HTTP/1.0", " QUIT"}) {
    auto r = parse_smtp_command(unknown);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::not_found);
  }
}

TEST_CASE("smtp command: arguments where a verb takes none, and none where one is needed") {
  const Case cases[] = {
      {"DATA", true, {}},         {"DATA x", false, ErrorKind::format},  {"RSET now", false, ErrorKind::format},
      {"QUIT bye", false, ErrorKind::format}, {"NOOP", true, {}},   {"NOOP anything at all", true, {}},
      {"HELP", true, {}},         {"HELP MAIL", true, {}},               {"VRFY", false, ErrorKind::format},
      {"VRFY bob", true, {}},     {"EXPN list", true, {}},               {"HELO", false, ErrorKind::format},
      {"HELO a b", false, ErrorKind::format}, {"EHLO [192.0.2.1]", true, {}}, {"EHLO my_pc", true, {}},
      {"AUTH", false, ErrorKind::format}, {"AUTH PLAIN", true, {}},       {"STARTTLS now", false, ErrorKind::format},
      {"NOOP \x01", false, ErrorKind::format}, {"HELO a\x7f", false, ErrorKind::format},
      {"NOOP a\tb", false, ErrorKind::format},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    auto r = parse_smtp_command(c.line);
    CHECK(r.ok() == c.ok);
    if (!c.ok && !r) CHECK(r.error().kind == c.kind);
  }
}

TEST_CASE("smtp command: MAIL and RCPT paths") {
  auto m = parse_smtp_command("MAIL FROM:<>");
  REQUIRE(m);
  CHECK(m->verb == SmtpVerb::mail);
  CHECK(m->path.null());

  auto r = parse_smtp_command("rcpt to:<Bob@Example.TEST>");
  REQUIRE(r);
  CHECK(r->path.local() == "Bob");
  CHECK(r->path.domain() == "example.test");

  // Blanks after the colon: not RFC 5321, but what many clients send.
  CHECK(parse_smtp_command("MAIL FROM: <a@b.test>"));

  auto q = parse_smtp_command("RCPT TO:<\"a>b c\"@x.test>");
  REQUIRE(q);
  CHECK(q->path.local() == "\"a>b c\"");

  const Case bad[] = {
      {"MAIL FROM:a@b.test", false, ErrorKind::permanent},   {"MAIL FROM:<a@b.test", false, ErrorKind::permanent},
      {"MAIL TO:<a@b.test>", false, ErrorKind::format},       {"MAIL FROM<a@b.test>", false, ErrorKind::format},
      {"RCPT TO:<>", false, ErrorKind::permanent},            {"RCPT TO:<bob>", false, ErrorKind::permanent},
      {"RCPT TO:<a@b.test.>", false, ErrorKind::permanent},   {"RCPT TO:<a..b@c.test>", false, ErrorKind::permanent},
      {"MAIL FROM:<a@b.test>x", false, ErrorKind::format},    {"RCPT TO:", false, ErrorKind::permanent},
  };
  for (const auto& c : bad) {
    CAPTURE(c.line);
    auto p = parse_smtp_command(c.line);
    REQUIRE_FALSE(p);
    CHECK(p.error().kind == c.kind);
  }
  std::string long_local(65, 'a');
  auto l = parse_smtp_command("RCPT TO:<" + long_local + "@x.test>");
  REQUIRE_FALSE(l);
  CHECK(l.error().kind == ErrorKind::too_long);
}

TEST_CASE("smtp command: RCPT TO:<postmaster> without a domain is accepted in any case") {
  for (const char* line : {"RCPT TO:<postmaster>", "RCPT TO:<PostMaster>", "rcpt to:<POSTMASTER> NOTIFY=NEVER"}) {
    auto r = parse_smtp_command(line);
    REQUIRE(r);
    CHECK(r->postmaster);
    CHECK(r->path.null());
  }
  CHECK_FALSE(parse_smtp_command("MAIL FROM:<postmaster>"));
}

TEST_CASE("smtp command: source routes are dropped and flagged") {
  auto r = parse_smtp_command("RCPT TO:<@relay.test,@other.test:bob@final.test>");
  REQUIRE(r);
  CHECK(r->source_route);
  CHECK(r->path.str() == "bob@final.test");
  CHECK_FALSE(parse_smtp_command("RCPT TO:<@relay.test:>"));
  CHECK_FALSE(parse_smtp_command("RCPT TO:<@:bob@final.test>"));
}

TEST_CASE("smtp command: non-ASCII paths are flagged for the SMTPUTF8 check") {
  auto r = parse_smtp_command("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.test>");
  REQUIRE(r);
  CHECK(r->utf8_path);
  CHECK_FALSE(parse_smtp_command("RCPT TO:<bob@x.test>")->utf8_path);
}

TEST_CASE("smtp command: ESMTP parameters") {
  auto m = parse_smtp_command("MAIL FROM:<a@b.test> size=1000 BODY=8bitmime SMTPUTF8 ENVID=QQ+2B1");
  REQUIRE(m);
  REQUIRE(m->params.size() == 4);
  CHECK(m->params[0].keyword == "SIZE");
  CHECK(m->params[0].value == "1000");
  CHECK(m->params[1].value == "8bitmime");  // values keep their case
  CHECK_FALSE(m->params[2].has_value);
  CHECK(m->param("ENVID")->value == "QQ+2B1");
  CHECK(m->param("RET") == nullptr);
  CHECK(parse_smtp_command("MAIL FROM:<a@b.test>  SIZE=1   BODY=7BIT"));  // runs of blanks

  const char* bad[] = {
      "MAIL FROM:<a@b.test> SIZE=1 size=2",  // twice
      "MAIL FROM:<a@b.test> -X=1",           // keyword starts with '-'
      "MAIL FROM:<a@b.test> X_Y=1",          // '_' is not a keyword character
      "MAIL FROM:<a@b.test> SIZE=",          // empty value
      "MAIL FROM:<a@b.test> A=b=c",          // '=' in a value
      "MAIL FROM:<a@b.test>SIZE=1",          // no blank before the parameters
      "MAIL FROM:<a@b.test> A=1 B=1 C=1 D=1 E=1 F=1 G=1 H=1 I=1 J=1 K=1",
  };
  for (const char* line : bad) {
    CAPTURE(line);
    auto r = parse_smtp_command(line);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::format);
  }
}

TEST_CASE("smtp command: BDAT size and LAST") {
  auto b = parse_smtp_command("BDAT 1024");
  REQUIRE(b);
  CHECK(b->chunk_size == 1024);
  CHECK_FALSE(b->last);
  auto z = parse_smtp_command("BDAT 0 LAST");
  REQUIRE(z);
  CHECK(z->chunk_size == 0);
  CHECK(z->last);
  CHECK(parse_smtp_command("BDAT 999999999999999999")->chunk_size == 999999999999999999ULL);
  CHECK(parse_smtp_command("BDAT 1000000000000000000")->chunk_size == 1000000000000000000ULL);
  for (const char* line : {"BDAT", "BDAT x", "BDAT -1", "BDAT 1 LAST x", "BDAT 1 FIRST", "BDAT 1LAST",
                           "BDAT 10000000000000000000", "BDAT  1"}) {
    CAPTURE(line);
    auto r = parse_smtp_command(line);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::format);
  }
}

TEST_CASE("smtp command: xtext") {
  CHECK(quail::valid_xtext("abc+2B+3Ddef"));
  CHECK(quail::valid_xtext(""));
  CHECK_FALSE(quail::valid_xtext("a=b"));
  CHECK_FALSE(quail::valid_xtext("a b"));
  CHECK_FALSE(quail::valid_xtext("a+2"));
  CHECK_FALSE(quail::valid_xtext("a+2b"));  // hex is upper case
}

TEST_CASE("smtp reply: lines, multi-line replies and enhanced codes") {
  auto l = parse_reply_line("250-PIPELINING");
  REQUIRE(l);
  CHECK(l->code == 250);
  CHECK_FALSE(l->last);
  CHECK(l->text == "PIPELINING");
  CHECK(parse_reply_line("250")->last);
  CHECK(parse_reply_line("221 bye")->last);
  for (const char* bad : {"", "25", "2500", "250x", "600 no", "199 no", "260 no", "abc def"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_reply_line(bad));
  }

  quail::SmtpReplyReader r;
  CHECK_FALSE(r.add("550-5.1.1 no such").value());
  CHECK(r.add("550 5.1.1 user here").value());
  auto reply = r.take();
  CHECK(reply.code == 550);
  CHECK(reply.enhanced == "5.1.1");
  CHECK(reply.text() == "no such; user here");

  CHECK_FALSE(r.add("250-a").value());
  CHECK_FALSE(r.add("251 b"));  // the code changed inside a reply

  CHECK(quail::enhanced_code_of(550, "5.7.1 denied") == "5.7.1");
  CHECK(quail::enhanced_code_of(550, "4.7.1 denied") == "");
  CHECK(quail::enhanced_code_of(250, "2.0.0") == "2.0.0");
  CHECK(quail::enhanced_code_of(250, "2.0.0x") == "");
  CHECK(quail::enhanced_code_of(250, "2.1000.0 x") == "");
}

TEST_CASE("smtp command: BDAT sizes at and past INT64_MAX and UINT64_MAX are refused, never wrapped") {
  CHECK(parse_smtp_command("BDAT 9223372036854775807")->chunk_size == uint64_t{INT64_MAX});
  CHECK(parse_smtp_command("BDAT 09223372036854775807 LAST")->chunk_size == uint64_t{INT64_MAX});  // 1*DIGIT
  CHECK(parse_smtp_command("BDAT 0000000000000000000000005")->chunk_size == 5);
  for (const char* line : {"BDAT 9223372036854775808", "BDAT 18446744073709551615", "BDAT 18446744073709551616",
                           "BDAT 18446744073709551621 LAST", "BDAT 123456789012345678901234"}) {
    CAPTURE(line);
    auto r = parse_smtp_command(line);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::format);
  }
}

TEST_CASE("smtp command: SIZE values of up to 20 digits are sizes, larger than any limit past UINT64_MAX") {
  using quail::parse_size_value;
  CHECK(parse_size_value("0") == 0u);
  CHECK(parse_size_value("0001000") == 1000u);
  CHECK(parse_size_value("9223372036854775807") == uint64_t{INT64_MAX});
  CHECK(parse_size_value("9223372036854775808") == uint64_t{INT64_MAX} + 1);
  CHECK(parse_size_value("18446744073709551615") == UINT64_MAX);
  // RFC 1870 allows 20 digits; past 2^64 - 1 it saturates (never wraps to a small size).
  CHECK(parse_size_value("18446744073709551616") == UINT64_MAX);
  CHECK(parse_size_value("18446744073709551621") == UINT64_MAX);
  CHECK(parse_size_value("99999999999999999999") == UINT64_MAX);
  for (const char* bad : {"", "x", "-1", "+1", "1 ", "1e3", "123456789012345678901", "000000000000000000001",
                          "123456789012345678901234"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(parse_size_value(bad).has_value());
  }
}
