// Unit tests for lib/envelope: every rule of queue-layout/envelope.md, one by one.
// Malformed input must give format (exit 91); an address over 1000 bytes too_long (exit 11).
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "envelope.hpp"

using quail::Envelope;
using quail::ErrorKind;
using quail::parse_envelope;
using quail::Recipient;
using quail::serialize_envelope;

namespace {

// Records joined with NUL, then the empty record that ends the envelope.
std::string env(std::initializer_list<std::string> records) {
  std::string out;
  for (const auto& r : records) {
    out += r;
    out += '\0';
  }
  out += '\0';
  return out;
}

// Records joined with NUL, without the end record.
std::string records(std::initializer_list<std::string> rs) {
  std::string out;
  for (const auto& r : rs) {
    out += r;
    out += '\0';
  }
  return out;
}

struct Bad {
  const char* why;
  std::string bytes;
};

void check_format_error(const Bad& b) {
  CAPTURE(std::string(b.why));
  auto r = parse_envelope(b.bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::format);
}

}  // namespace

TEST_CASE("envelope: a plain qmail-queue envelope parses") {
  auto e = parse_envelope(env({"Fbob@example.test", "Talice@example.test", "Tcarol@example.org"}));
  REQUIRE(e.ok());
  CHECK(e->sender == "bob@example.test");
  REQUIRE(e->recipients.size() == 2);
  CHECK(e->recipients[0].address == "alice@example.test");
  CHECK(e->recipients[1].address == "carol@example.org");
  CHECK(e->recipients[0].notify.empty());
  CHECK(e->ret.empty());
  CHECK_FALSE(e->smtputf8);
  CHECK(e->extra.empty());
}

TEST_CASE("envelope: the empty sender is the null reverse path") {
  auto e = parse_envelope(env({"F", "Talice@example.test"}));
  REQUIRE(e.ok());
  CHECK(e->sender.empty());
}

TEST_CASE("envelope: serialize then parse gives back the same envelope, byte for byte") {
  Envelope e;
  e.sender = "bob@example.test";
  e.ret = "HDRS";
  e.envid = "QQ314159+2Bx";
  e.auth = "bob@example.test";
  e.smtputf8 = true;
  e.extra = {{"x-zeta", "1"}, {"x-alpha", "a=b"}};
  e.recipients = {Recipient{"alice@example.test", "SUCCESS,FAILURE", "rfc822;alice@example.test"},
                  Recipient{"carol@example.org", "NEVER", ""}, Recipient{"dave@example.org", "", ""}};
  std::string bytes = serialize_envelope(e);
  CHECK(bytes == env({"Fbob@example.test", "Xret=HDRS", "Xenvid=QQ314159+2Bx", "Xauth=bob@example.test",
                      "Xsmtputf8=1", "Xx-zeta=1", "Xx-alpha=a=b", "Talice@example.test", "Xnotify=SUCCESS,FAILURE",
                      "Xorcpt=rfc822;alice@example.test", "Tcarol@example.org", "Xnotify=NEVER",
                      "Tdave@example.org"}));
  auto back = parse_envelope(bytes);
  REQUIRE(back.ok());
  CHECK(*back == e);
  CHECK(serialize_envelope(*back) == bytes);

  Envelope plain;
  plain.recipients = {Recipient{"a@b", "", ""}};
  CHECK(serialize_envelope(plain) == std::string("F\0Ta@b\0\0", 8));
}

TEST_CASE("envelope: message and recipient extension records land where they belong") {
  auto e = parse_envelope(env({"Fbob@example.test", "Xret=FULL", "Xenvid=abc", "Xauth=bob", "Xsmtputf8=1",
                               "Talice@example.test", "Xnotify=DELAY", "Xorcpt=rfc822;alice@example.test",
                               "Tcarol@example.org", "Xorcpt=rfc822;c@example.org", "Xnotify=NEVER"}));
  REQUIRE(e.ok());
  CHECK(e->ret == "FULL");
  CHECK(e->envid == "abc");
  CHECK(e->auth == "bob");
  CHECK(e->smtputf8);
  REQUIRE(e->recipients.size() == 2);
  CHECK(e->recipients[0] == Recipient{"alice@example.test", "DELAY", "rfc822;alice@example.test"});
  CHECK(e->recipients[1] == Recipient{"carol@example.org", "NEVER", "rfc822;c@example.org"});
}

TEST_CASE("envelope: every NOTIFY combination of SUCCESS, FAILURE and DELAY is accepted") {
  for (const char* v : {"NEVER", "SUCCESS", "FAILURE", "DELAY", "SUCCESS,FAILURE", "FAILURE,DELAY",
                        "SUCCESS,FAILURE,DELAY", "DELAY,SUCCESS"}) {
    std::string value(v);
    CAPTURE(value);
    auto e = parse_envelope(env({"F", "Ta@b", "Xnotify=" + value}));
    REQUIRE(e.ok());
    CHECK(e->recipients[0].notify == value);
  }
}

TEST_CASE("envelope: unknown message keys are kept and passed through in order") {
  std::string bytes = env({"Fa@b", "Xzeta=1", "Xalpha=2", "Xzeta=3", "Xx-new-thing=v w", "Tc@d"});
  auto e = parse_envelope(bytes);
  REQUIRE(e.ok());
  REQUIRE(e->extra.size() == 4);
  CHECK(e->extra[0] == std::pair<std::string, std::string>{"zeta", "1"});
  CHECK(e->extra[1] == std::pair<std::string, std::string>{"alpha", "2"});
  CHECK(e->extra[2] == std::pair<std::string, std::string>{"zeta", "3"});
  CHECK(e->extra[3] == std::pair<std::string, std::string>{"x-new-thing", "v w"});
  CHECK(serialize_envelope(*e) == bytes);
}

TEST_CASE("envelope: addresses of 1000 bytes pass, 1001 bytes are refused as too long (exit 11)") {
  std::string a1000 = std::string(988, 'a') + "@example.com";
  std::string a1001 = "b" + a1000;
  REQUIRE(a1000.size() == 1000);
  CHECK(parse_envelope(env({"F" + a1000, "T" + a1000})).ok());

  auto long_rcpt = parse_envelope(env({"Fa@b", "T" + a1001}));
  REQUIRE_FALSE(long_rcpt.ok());
  CHECK(long_rcpt.error().kind == ErrorKind::too_long);

  auto long_sender = parse_envelope(env({"F" + a1001, "Tc@d"}));
  REQUIRE_FALSE(long_sender.ok());
  CHECK(long_sender.error().kind == ErrorKind::too_long);
}

TEST_CASE("envelope: addresses are not checked for syntax, only for control bytes") {
  // qmail-queue's contract: the envelope carries what the client sent; bytes >= 0x80 pass.
  auto e = parse_envelope(env({"Fnot an address", "Tjos\xc3\xa9@b\xc3\xbc" "cher.example", "T\"q\"@[1.2.3.4]"}));
  REQUIRE(e.ok());
  CHECK(e->sender == "not an address");
  CHECK(e->recipients[0].address == "jos\xc3\xa9@b\xc3\xbc" "cher.example");
}

TEST_CASE("envelope: control bytes in addresses and values are refused (exit 91)") {
  const Bad cases[] = {
      {"sender with \\x01", env({"Fa\x01" "b@c", "Td@e"})},
      {"sender with tab", env({"Fa\tb@c", "Td@e"})},
      {"recipient with LF", env({"Fa@b", "Tc\n@d"})},
      {"recipient with CR", env({"Fa@b", "Tc\r@d"})},
      {"recipient with DEL", env({"Fa@b", "Tc\x7f@d"})},
      {"recipient with ESC", env({"Fa@b", "T\x1b" "c@d"})},
      {"value with \\x01", env({"Fa@b", "Xenvid=a\x01", "Tc@d"})},
      {"value with DEL", env({"Fa@b", "Xauth=a\x7f", "Tc@d"})},
      {"orcpt with LF", env({"Fa@b", "Tc@d", "Xorcpt=rfc822;c\n@d"})},
  };
  for (const auto& c : cases) check_format_error(c);
}

TEST_CASE("envelope: each malformed form of envelope.md is refused (exit 91)") {
  const Bad cases[] = {
      {"empty input", ""},
      {"only the end record", std::string(1, '\0')},
      {"first record is not F", env({"Ta@b"})},
      {"first record is X", env({"Xret=FULL", "Fa@b", "Tc@d"})},
      {"no NUL at all", "Fa@b"},
      {"missing end record", records({"Fa@b", "Tc@d"})},
      {"last record not terminated", records({"Fa@b"}) + "Tc@d"},
      {"no recipients", env({"Fa@b"})},
      {"no recipients, only extensions", env({"Fa@b", "Xret=FULL"})},
      {"empty recipient", env({"Fa@b", "T"})},
      {"data after the end", env({"Fa@b", "Tc@d"}) + "x"},
      {"a second end record", env({"Fa@b", "Tc@d"}) + std::string(1, '\0')},
      {"a record after the end", env({"Fa@b", "Tc@d"}) + records({"Te@f"})},
      {"a second F record", env({"Fa@b", "Fb@c", "Tc@d"})},
      {"unknown record type", env({"Fa@b", "Zfoo", "Tc@d"})},
      {"lowercase record type", env({"Fa@b", "tc@d"})},
      {"record type byte 0x01", env({"Fa@b", "\x01", "Tc@d"})},
      {"extension without =", env({"Fa@b", "Xret", "Tc@d"})},
      {"empty key", env({"Fa@b", "X=v", "Tc@d"})},
      {"uppercase key", env({"Fa@b", "XRET=FULL", "Tc@d"})},
      {"key with underscore", env({"Fa@b", "Xx_y=1", "Tc@d"})},
      {"key with space", env({"Fa@b", "Xx y=1", "Tc@d"})},
      {"key of 33 bytes", env({"Fa@b", "X" + std::string(33, 'k') + "=1", "Tc@d"})},
      {"value of 1001 bytes", env({"Fa@b", "Xenvid=" + std::string(1001, 'v'), "Tc@d"})},
      {"message key after a recipient", env({"Fa@b", "Tc@d", "Xret=FULL"})},
      {"unknown key after a recipient", env({"Fa@b", "Tc@d", "Xzeta=1"})},
      {"auth after a recipient", env({"Fa@b", "Tc@d", "Xauth=bob"})},
      {"notify before any recipient", env({"Fa@b", "Xnotify=NEVER", "Tc@d"})},
      {"orcpt before any recipient", env({"Fa@b", "Xorcpt=rfc822;c@d", "Tc@d"})},
      {"repeated notify", env({"Fa@b", "Tc@d", "Xnotify=NEVER", "Xnotify=NEVER"})},
      {"repeated orcpt", env({"Fa@b", "Tc@d", "Xorcpt=rfc822;c@d", "Xorcpt=rfc822;c@d"})},
      {"ret neither FULL nor HDRS", env({"Fa@b", "Xret=PART", "Tc@d"})},
      {"ret lowercase", env({"Fa@b", "Xret=full", "Tc@d"})},
      {"ret empty", env({"Fa@b", "Xret=", "Tc@d"})},
      {"smtputf8 not 1", env({"Fa@b", "Xsmtputf8=yes", "Tc@d"})},
      {"smtputf8 0", env({"Fa@b", "Xsmtputf8=0", "Tc@d"})},
      {"notify empty", env({"Fa@b", "Tc@d", "Xnotify="})},
      {"notify unknown word", env({"Fa@b", "Tc@d", "Xnotify=ALWAYS"})},
      {"notify lowercase", env({"Fa@b", "Tc@d", "Xnotify=success"})},
      {"notify NEVER with others", env({"Fa@b", "Tc@d", "Xnotify=SUCCESS,NEVER"})},
      {"notify trailing comma", env({"Fa@b", "Tc@d", "Xnotify=SUCCESS,"})},
      {"notify leading comma", env({"Fa@b", "Tc@d", "Xnotify=,SUCCESS"})},
      {"notify with space", env({"Fa@b", "Tc@d", "Xnotify=SUCCESS, FAILURE"})},
  };
  for (const auto& c : cases) check_format_error(c);
}

TEST_CASE("envelope: keys of 32 bytes and values of 1000 bytes are the longest accepted") {
  std::string key(32, 'k');
  std::string value(1000, 'v');
  auto e = parse_envelope(env({"Fa@b", "X" + key + "=" + value, "Tc@d"}));
  REQUIRE(e.ok());
  REQUIRE(e->extra.size() == 1);
  CHECK(e->extra[0].first == key);
  CHECK(e->extra[0].second == value);
  CHECK(parse_envelope(env({"Fa@b", "Xa-0=", "Tc@d"})).ok());  // digits, hyphen, empty value
}

TEST_CASE("envelope: a repeated orcpt is refused even when the first was empty") {
  // envelope.md: "a repeated recipient key ... is exit 91". The parser detects a
  // repeat by a non-empty stored value, so an empty first orcpt slips through.
  auto r = parse_envelope(env({"Fa@b", "Tc@d", "Xorcpt=", "Xorcpt=rfc822;c@d"}));
  CHECK_FALSE(r.ok());
}

TEST_CASE("envelope: no record is read as a number, so a huge numeric value passes through as text") {
  // queue-layout/envelope.md defines no numeric field; an unknown extension holding
  // one is opaque bytes, kept exactly, never parsed, never wrapped.
  using namespace std::string_literals;
  for (const char* n : {"9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
                        "123456789012345678901234"}) {
    CAPTURE(std::string(n));
    std::string bytes = "Fa@b.test\0Xsize="s + n + "\0Tc@d.test\0\0"s;
    auto e = quail::parse_envelope(bytes);
    REQUIRE(e.ok());
    REQUIRE(e->extra.size() == 1);
    CHECK(e->extra[0].second == n);
    CHECK(quail::serialize_envelope(*e) == bytes);
  }
}
