// Unit tests for lib/smtp_routes: control/smtproutes (qmail's syntax and lookup
// order), control/tlspolicy, control/dnsservers and control/smtpauth.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "smtp_routes.hpp"

using namespace quail;

namespace {

std::vector<ControlLine> lines(std::vector<std::string> values) {
  std::vector<ControlLine> out;
  int n = 0;
  for (auto& v : values) out.push_back({++n, std::move(v)});
  return out;
}

}  // namespace

TEST_CASE("smtproutes: domain, relay and port forms") {
  auto r = parse_smtproutes(lines({"example.test:relay.example.net", ".sub.test:relay2.test:2525",
                                   "lit.test:[192.0.2.7]:587", "v6.test:[IPv6:2001:db8::1]", "mx.test:",
                                   ":smarthost.test"}),
                            "smtproutes");
  REQUIRE(r);
  REQUIRE(r->size() == 6);
  CHECK((*r)[0].relay->name == "relay.example.net");
  CHECK((*r)[0].relay->port == 25);
  CHECK((*r)[1].relay->port == 2525);
  CHECK((*r)[2].relay->literal);
  CHECK((*r)[2].relay->name == "192.0.2.7");
  CHECK((*r)[2].relay->port == 587);
  CHECK((*r)[3].relay->name == "2001:db8::1");
  CHECK_FALSE((*r)[4].relay);
  CHECK((*r)[5].domain == "");
}

TEST_CASE("smtproutes: lookup is exact, then suffixes longest first, then the smarthost") {
  auto r = parse_smtproutes(lines({".example.test:b", "a.example.test:a", ".deep.example.test:c", ":smart"}), "f");
  REQUIRE(r);
  CHECK(find_route(*r, "a.example.test")->relay->name == "a");
  CHECK(find_route(*r, "x.deep.example.test")->relay->name == "c");
  CHECK(find_route(*r, "x.example.test")->relay->name == "b");
  CHECK(find_route(*r, "example.test")->relay->name == "smart");
  auto none = parse_smtproutes(lines({"a.test:x"}), "f");
  CHECK(find_route(*none, "b.test") == nullptr);
}

TEST_CASE("smtproutes: malformed lines name the file and line") {
  for (const char* bad : {"no-colon", "bad domain:x", "a.test:[300.1.1.1]", "a.test:host:0", "a.test:host:65536",
                          "a.test:host:", "a.test:[1.2.3.4", "a.test:[1.2.3.4]x", "a.test:host:25:26", "a.test:ho st"}) {
    auto r = parse_smtproutes(lines({"ok.test:relay", bad}), "control/smtproutes");
    REQUIRE_MESSAGE(!r, bad);
    CHECK(r.error().kind == ErrorKind::config);
    CHECK_MESSAGE(r.error().reason.rfind("control/smtproutes:2: ", 0) == 0, r.error().reason);
  }
}

TEST_CASE("tlspolicy: modes and lookup") {
  auto p = parse_tlspolicy(lines({"bank.test:verify", ".corp.test:encrypt", "broken.test:NONE"}), "f");
  REQUIRE(p);
  CHECK(find_tls_mode(*p, "bank.test") == TlsMode::verify);
  CHECK(find_tls_mode(*p, "mx.corp.test") == TlsMode::encrypt);
  CHECK(find_tls_mode(*p, "corp.test") == TlsMode::may);
  CHECK(find_tls_mode(*p, "broken.test") == TlsMode::none);
  CHECK(find_tls_mode(*p, "other.test") == TlsMode::may);
  for (const char* bad : {"bank.test", "bank.test:secure", ":verify", "ba nk:verify"}) {
    auto r = parse_tlspolicy(lines({bad}), "control/tlspolicy");
    REQUIRE_MESSAGE(!r, bad);
    CHECK(r.error().reason.rfind("control/tlspolicy:1: ", 0) == 0);
  }
}

TEST_CASE("dnsservers: ip and ip@port") {
  auto d = parse_dnsservers(lines({"127.0.0.1@5353", "::1", "192.0.2.53", "2001:db8::53@53"}), "f");
  REQUIRE(d);
  CHECK(*d == std::vector<std::string>{"127.0.0.1@5353", "::1", "192.0.2.53", "2001:db8::53@53"});
  for (const char* bad : {"localhost", "127.0.0.1@", "127.0.0.1@0", "127.0.0.1@99999", "1.2.3@53", "@53"}) {
    CHECK_MESSAGE(!parse_dnsservers(lines({bad}), "f"), bad);
  }
}

TEST_CASE("smtpauth: the password is the rest of the line and never in an error") {
  auto a = parse_smtpauth(lines({"relay.test:alice:pa:ss word", "[127.0.0.1]:bob:x"}), "f");
  REQUIRE(a);
  CHECK((*a)[0].password == "pa:ss word");
  CHECK(find_auth(*a, RelayHost{"relay.test", false, 587})->user == "alice");
  CHECK(find_auth(*a, RelayHost{"127.0.0.1", true, 25})->user == "bob");
  CHECK(find_auth(*a, RelayHost{"other.test", false, 25}) == nullptr);
  for (const char* bad : {"relay.test:alice", "relay.test::secret1", "relay.test:alice:", "bad host:u:secret1"}) {
    auto r = parse_smtpauth(lines({bad}), "f");
    REQUIRE_MESSAGE(!r, bad);
    CHECK(r.error().reason.find("secret1") == std::string::npos);
  }
}

TEST_CASE("routing files: Control::validate_all refuses a bad line, naming file and line, never the password") {
  char tmpl[] = "/tmp/quail-routes-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  std::string root = tmpl;
  std::string dir = root + "/control";
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  Control c(root);
  CHECK(c.validate_all());
  auto write = [&](const char* name, const char* text) { std::ofstream(dir + "/" + name) << text; };
  write("smtproutes", "# comment\nok.test:relay.test\nbad:::\n");
  auto s = c.validate_all();
  REQUIRE_FALSE(s);
  CHECK(s.error().reason == dir + "/smtproutes:3: not a host[:port] or [address][:port]: ::");
  write("smtproutes", "");
  write("smtpauth", "relay.test:user-only-secret9\n");
  s = c.validate_all();
  REQUIRE_FALSE(s);
  CHECK(s.error().reason.find("smtpauth:1:") != std::string::npos);
  CHECK(s.error().reason.find("secret9") == std::string::npos);
  write("smtpauth", "");
  CHECK(c.validate_all());
  std::system(("rm -rf " + root).c_str());
}
