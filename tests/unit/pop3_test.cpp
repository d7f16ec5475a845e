// Unit tests for pop3d's parsers and its wire form: lib/pop3_command,
// lib/sasl_plain, lib/pop3_wire.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include "pop3_command.hpp"
#include "pop3_wire.hpp"
#include "sasl_plain.hpp"

using namespace std::string_literals;
using quail::Pop3Command;
using quail::Pop3Parse;
using quail::Pop3Verb;

namespace {

Pop3Parse parse(const std::string& line, Pop3Command& c) { return quail::parse_pop3_command(line, c); }

std::string encode(const std::string& stored, std::optional<uint64_t> lines = std::nullopt, size_t piece = 1000) {
  quail::WireEncoder enc(lines);
  std::string out;
  for (size_t i = 0; i < stored.size(); i += piece) {
    if (!enc.feed(std::string_view(stored).substr(i, piece), out)) break;
  }
  enc.finish(out);
  return out;
}

}  // namespace

TEST_CASE("pop3 command: keywords are case-insensitive and take their arguments") {
  Pop3Command c;
  REQUIRE(parse("user alice@example.test", c) == Pop3Parse::ok);
  CHECK(c.verb == Pop3Verb::user);
  CHECK(c.arg == "alice@example.test");
  REQUIRE(parse("PASS two words ", c) == Pop3Parse::ok);
  CHECK(c.arg == "two words ");
  REQUIRE(parse("Retr 12", c) == Pop3Parse::ok);
  CHECK(c.verb == Pop3Verb::retr);
  CHECK(*c.n == 12);
  REQUIRE(parse("TOP 3 0", c) == Pop3Parse::ok);
  CHECK(*c.n == 3);
  CHECK(c.lines == 0);
  REQUIRE(parse("LIST", c) == Pop3Parse::ok);
  CHECK_FALSE(c.n);
  REQUIRE(parse("uidl 7", c) == Pop3Parse::ok);
  CHECK(*c.n == 7);
  REQUIRE(parse("auth plain AGFsaWNlAHB3", c) == Pop3Parse::ok);
  CHECK(c.arg == "PLAIN");
  CHECK(c.initial == "AGFsaWNlAHB3");
  REQUIRE(parse("AUTH", c) == Pop3Parse::ok);
  CHECK(c.arg.empty());
  for (const char* bare : {"STAT", "noop", "RSET", "QUIT", "CAPA", "STLS"}) CHECK(parse(bare, c) == Pop3Parse::ok);
}

TEST_CASE("pop3 command: malformed arguments are syntax errors, unknown keywords unknown") {
  Pop3Command c;
  const char* syntax[] = {"USER",      "PASS",       "RETR",     "RETR x",      "RETR -1",   "RETR 1 2",
                          "DELE 1234567890", "TOP 1", "TOP 1 x", "LIST 1 2", "STAT 1",   "QUIT now",
                          "LIST  1",   "RETR 1 ",    "NOOP ",    "AUTH PLAIN a b", "USER a\x01"};
  for (const char* s : syntax) {
    CAPTURE(s);
    CHECK(parse(s, c) == Pop3Parse::syntax);
  }
  for (const char* s : {"LAST", "APOP a b", "", " STAT", "RETRIEVE 1", "XTND"}) {
    CAPTURE(s);
    CHECK(parse(s, c) == Pop3Parse::unknown);
  }
  CHECK(parse("PASS a\0b"s, c) == Pop3Parse::syntax);
}

TEST_CASE("sasl plain: authcid and password, with an empty or equal authzid") {
  auto l = quail::decode_sasl_plain("AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=");  // \0alice@example.test\0secret
  REQUIRE(l);
  CHECK(l->user == "alice@example.test");
  CHECK(l->password.view() == "secret");
  auto same = quail::decode_sasl_plain("Ym9iAGJvYgBwdw==");  // bob\0bob\0pw
  REQUIRE(same);
  CHECK(same->user == "bob");
}

TEST_CASE("sasl plain: bad base64, missing fields, proxy logins and empty fields are refused") {
  for (const char* b : {"", "!!!!", "YWxpY2U=", /* alice */ "AGFsaWNl", /* \0alice */
                        "ZXZlAGJvYgBwdw==",      /* eve\0bob\0pw */
                        "AABwdw==",              /* \0\0pw */
                        "AGJvYgA=",              /* \0bob\0 */
                        "AGJvYgBwdwB4"}) {       /* \0bob\0pw\0x */
    CAPTURE(b);
    CHECK_FALSE(quail::decode_sasl_plain(b));
  }
}

TEST_CASE("pop3 wire: LF becomes CRLF, dots are stuffed, a last line gets its CRLF") {
  CHECK(encode("a\nb\n") == "a\r\nb\r\n");
  CHECK(encode("a\r\nb") == "a\r\nb\r\n");
  CHECK(encode(".x\n..\n.\nend\n") == "..x\r\n...\r\n..\r\nend\r\n");
  CHECK(encode("") == "");
  CHECK(encode("x.y\n") == "x.y\r\n");
}

TEST_CASE("pop3 wire: the result does not depend on how the message is cut") {
  std::string stored = "Subject: x\n\n.line\r\nmore\n.\n\nend";
  std::string whole = encode(stored);
  for (size_t piece = 1; piece < stored.size(); ++piece) CHECK(encode(stored, std::nullopt, piece) == whole);
}

TEST_CASE("pop3 wire: octets count what is sent except the stuffing dots") {
  std::string stored = ".a\nb\r\nc";
  quail::WireEncoder enc;
  std::string out;
  enc.feed(stored, out);
  enc.finish(out);
  CHECK(out == "..a\r\nb\r\nc\r\n");
  CHECK(enc.octets() == out.size() - 1);
}

TEST_CASE("pop3 wire: TOP sends the header, the empty line and n body lines") {
  std::string stored = "A: 1\nB: 2\n\nl1\nl2\nl3\n";
  CHECK(encode(stored, 0) == "A: 1\r\nB: 2\r\n\r\n");
  CHECK(encode(stored, 2) == "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n");
  CHECK(encode(stored, 10) == encode(stored));
  CHECK(encode("A: 1\r\n\r\nl1\r\n", 0) == "A: 1\r\n\r\n");
  for (size_t piece = 1; piece < stored.size(); ++piece) CHECK(encode(stored, 1, piece) == "A: 1\r\nB: 2\r\n\r\nl1\r\n");
}

TEST_CASE("pop3 wire: wire_size of a file equals the encoded octets") {
  char path[] = "/tmp/quail-wire-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::string stored;
  for (int i = 0; i < 20000; ++i) stored += (i % 7 == 0 ? ".dot line\n" : "some text\r\n");
  stored += "tail";
  REQUIRE(::write(fd, stored.data(), stored.size()) == static_cast<ssize_t>(stored.size()));
  auto n = quail::wire_size(fd);
  ::close(fd);
  ::unlink(path);
  REQUIRE(n);
  quail::WireEncoder enc;
  std::string out;
  enc.feed(stored, out);
  enc.finish(out);
  CHECK(*n == enc.octets());
}
