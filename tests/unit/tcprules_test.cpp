// Unit tests for lib/tcprules: address parsing and keys, the rules-file parser,
// the tcprules cdb value format, and the lookup order tcpserver follows.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "cdb.hpp"
#include "tcprules.hpp"

using namespace quail;

namespace {

IpAddress ip(const char* s) {
  auto a = parse_ip(s);
  REQUIRE_MESSAGE(a, s);
  return *a;
}

std::string error_of(std::string_view line) {
  auto r = parse_rule_line(line);
  REQUIRE_MESSAGE(!r, std::string(line));
  return r.error().reason;
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/tcprules-test-XXXXXX";
    REQUIRE(::mkdtemp(t));
    path = t;
  }
  ~TempDir() { (void)std::system(("rm -rf " + path).c_str()); }
};

// Compiles text into dir/rules.cdb and returns its path.
std::string build(const TempDir& d, std::string_view text) {
  auto recs = compile_rules(text, "rules.test");
  REQUIRE_MESSAGE(recs, (recs ? "" : recs.error().reason));
  std::string path = d.path + "/rules.cdb";
  REQUIRE(build_cdb(path, *recs));
  return path;
}

}  // namespace

TEST_CASE("tcprules: addresses parse, show and key as documented") {
  CHECK(ip_text(ip("192.0.2.1")) == "192.0.2.1");
  CHECK(ip_text(ip("2001:DB8::1")) == "2001:db8::1");
  CHECK(ip_text(ip("[::1]")) == "::1");
  CHECK(ip_rule_key(ip("::1")) == "0000:0000:0000:0000:0000:0000:0000:0001");
  CHECK(ip_rule_key(ip("2001:db8:a::ff")) == "2001:0db8:000a:0000:0000:0000:0000:00ff");
  // An IPv4-mapped address is the IPv4 address it carries.
  CHECK(ip("::ffff:10.1.2.3") == ip("10.1.2.3"));
  CHECK_FALSE(ip("::ffff:10.1.2.3").v6);
  for (const char* s : {"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "[1.2.3.4]", "::1]", "[::1", "1::2::3",
                        "localhost", "1.2.3.4 "}) {
    CHECK_MESSAGE(!parse_ip(s), s);
  }
}

TEST_CASE("tcprules: lookup keys run from the address to the default") {
  CHECK(rule_keys(ip("10.0.0.5")) == std::vector<std::string>{"10.0.0.5", "10.0.0.", "10.0.", "10.", ""});
  auto v6 = rule_keys(ip("2001:db8::1"));
  REQUIRE(v6.size() == 9);
  CHECK(v6[0] == "2001:0db8:0000:0000:0000:0000:0000:0001");
  CHECK(v6[1] == "2001:0db8:0000:0000:0000:0000:0000:");
  CHECK(v6[6] == "2001:0db8:");
  CHECK(v6[7] == "2001:");
  CHECK(v6[8] == "");
}

TEST_CASE("tcprules: rule lines give normalised keys, verbs and environment") {
  struct Case {
    const char* line;
    std::vector<std::string> keys;
    Rule rule;
  };
  const Case cases[] = {
      {"127.0.0.1:allow,RELAYCLIENT=\"\"", {"127.0.0.1"}, {true, {{"RELAYCLIENT", ""}}}},
      {"::1:allow,RELAYCLIENT=\"\"", {"0000:0000:0000:0000:0000:0000:0000:0001"}, {true, {{"RELAYCLIENT", ""}}}},
      {"[::1]:deny", {"0000:0000:0000:0000:0000:0000:0000:0001"}, {false, {}}},
      {":allow", {""}, {true, {}}},
      {"  10.:deny  \r", {"10."}, {false, {}}},
      {"2001:DB8::deny", {"2001:0db8:"}, {false, {}}},
      {"[2001:db8:]:deny", {"2001:0db8:"}, {false, {}}},
      {"[2001:db8::]:deny", {"2001:0db8:0000:0000:0000:0000:0000:0000"}, {false, {}}},
      {"2001:db8:::allow", {"2001:0db8:0000:0000:0000:0000:0000:0000"}, {true, {}}},
      {"::ffff:192.0.2.7:allow", {"192.0.2.7"}, {true, {}}},
      {"192.168.1-3.:allow", {"192.168.1.", "192.168.2.", "192.168.3."}, {true, {}}},
      {"10.0.0.254-255:allow", {"10.0.0.254", "10.0.0.255"}, {true, {}}},
      {"1.2.3.4:allow,A=\"x,y\",B='say \"hi\"',C=plain,D=,E=a=b",
       {"1.2.3.4"},
       {true, {{"A", "x,y"}, {"B", "say \"hi\""}, {"C", "plain"}, {"D", ""}, {"E", "a=b"}}}},
      {"1.2.3.4:deny,X=1", {"1.2.3.4"}, {false, {{"X", "1"}}}},
  };
  for (const auto& c : cases) {
    auto r = parse_rule_line(c.line);
    REQUIRE_MESSAGE(r, c.line, ": ", (r ? "" : r.error().reason));
    CHECK_MESSAGE(r->keys == c.keys, c.line);
    CHECK_MESSAGE(r->rule == c.rule, c.line);
  }
}

TEST_CASE("tcprules: malformed rule lines are refused with a reason") {
  CHECK(error_of("127.0.0.1") == "expected <address>:allow or <address>:deny");
  CHECK(error_of("127.0.0.1:permit").find("expected") == 0);
  CHECK(error_of("127.0.0.1:allowed").find("expected") == 0);
  CHECK(error_of("127.0.0:allow").find("four octets") != std::string::npos);
  CHECK(error_of("010.:allow").find("leading zeros") != std::string::npos);
  CHECK(error_of("300.:allow").find("0-255") != std::string::npos);
  CHECK(error_of("1.2.3.4.:allow").find("at most three") != std::string::npos);
  CHECK(error_of("1.2-3.4-5.:allow").find("one octet") != std::string::npos);
  CHECK(error_of("1.2.9-3.:allow").find("low to high") != std::string::npos);
  CHECK(error_of("=mx.example.test:allow").find("DNS") != std::string::npos);
  CHECK(error_of("user@1.2.3.4:allow").find("ident") != std::string::npos);
  CHECK(error_of("2001:db8::5::allow").find("IPv6") != std::string::npos);
  CHECK(error_of("12345::deny").find("1-4 hex") != std::string::npos);
  CHECK(error_of("2001:db8:deny").find("whole groups") != std::string::npos);
  CHECK(error_of("[1.2.3.4]:deny").find("brackets") != std::string::npos);
  CHECK(error_of("1.2.3.4:allow,").find("VAR=value") != std::string::npos);
  CHECK(error_of("1.2.3.4:allow X=1").find("expected") == 0);
  CHECK(error_of("1.2.3.4:allow,1X=1").find("variable name") != std::string::npos);
  CHECK(error_of("1.2.3.4:allow,X=\"open").find("unterminated") != std::string::npos);
  CHECK(error_of("1.2.3.4:allow,X=\"a\"b").find("after the quoted") != std::string::npos);
  CHECK(error_of("1.2.3.4:allow,X=a\"b").find("quote inside") != std::string::npos);
  CHECK(error_of("1.2.3.4:allow,X=1,X=2").find("set twice") != std::string::npos);
  CHECK(error_of("1.2.3.4:allow,X=\"a\x01\"").find("control") != std::string::npos);
}

TEST_CASE("tcprules: a file compiles in order; errors name file and line") {
  auto recs = compile_rules("# relay for localhost\n\n127.0.0.1:allow,RELAYCLIENT=\"\"\n  # indented comment\n:deny\n",
                            "control/rules.smtp");
  REQUIRE(recs);
  REQUIRE(recs->size() == 2);
  CHECK((*recs)[0].first == "127.0.0.1");
  CHECK((*recs)[0].second == std::string("+RELAYCLIENT=\0", 14));
  CHECK((*recs)[1].first == "");
  CHECK((*recs)[1].second == std::string("D\0", 2));

  auto bad = compile_rules("127.0.0.1:allow\n\nbogus line\n", "control/rules.smtp");
  REQUIRE(!bad);
  CHECK(bad.error().reason.find("control/rules.smtp:3: ") == 0);

  auto dup = compile_rules("10.0.0.1-5:deny\n10.0.0.3:allow\n", "r");
  REQUIRE(!dup);
  CHECK(dup.error().reason == "r:2: a second rule for 10.0.0.3 (line 1 has the first)");
  auto dup6 = compile_rules("::1:allow\n0:0:0:0:0:0:0:1:deny\n", "r");
  CHECK(!dup6);
}

TEST_CASE("tcprules: cdb values round-trip and match tcprules' bytes") {
  Rule allow{true, {{"RELAYCLIENT", ""}, {"GREETING", "a b,c"}}};
  CHECK(encode_rule(Rule{}) == "");
  CHECK(encode_rule(Rule{false, {}}) == std::string("D\0", 2));
  auto back = decode_rule(encode_rule(allow));
  REQUIRE(back);
  CHECK(*back == allow);
  Rule deny{false, {{"X", "1"}}};
  auto deny_back = decode_rule(encode_rule(deny));
  REQUIRE(deny_back);
  CHECK(*deny_back == deny);
  for (std::string_view v : {std::string_view("D"), std::string_view("+X=1"), std::string_view("X=1\0", 4),
                             std::string_view("+=1\0", 4), std::string_view("+X\0", 3),
                             std::string_view("+X=1\0D\0", 7)}) {
    CHECK(!decode_rule(v));
  }
}

TEST_CASE("tcprules: lookup takes the longest matching key, then the default") {
  TempDir d;
  std::string path = build(d,
                           "127.0.0.1:allow,RELAYCLIENT=\"\"\n"
                           "10.0.0.:allow,TRUSTED=subnet\n"
                           "10.:deny\n"
                           "::1:allow,RELAYCLIENT=\"\"\n"
                           "2001:db8::deny\n"
                           ":allow,DEFAULT=yes\n");
  auto check = [&](const char* addr, bool allow, const char* key, EnvList env) {
    auto m = match_rules_file(path, ip(addr));
    REQUIRE_MESSAGE(m, addr);
    CHECK_MESSAGE(m->matched, addr);
    CHECK_MESSAGE(m->rule.allow == allow, addr);
    CHECK_MESSAGE(m->key == key, addr);
    CHECK_MESSAGE(m->rule.env == env, addr);
  };
  check("127.0.0.1", true, "127.0.0.1", {{"RELAYCLIENT", ""}});
  check("127.0.0.2", true, "", {{"DEFAULT", "yes"}});
  check("10.0.0.9", true, "10.0.0.", {{"TRUSTED", "subnet"}});
  check("10.9.0.9", false, "10.", {});
  check("::ffff:10.9.0.9", false, "10.", {});
  check("::1", true, "0000:0000:0000:0000:0000:0000:0000:0001", {{"RELAYCLIENT", ""}});
  check("2001:db8:1::2", false, "2001:0db8:", {});
  check("2001:db9::2", true, "", {{"DEFAULT", "yes"}});

  std::string none = build(d, "127.0.0.1:deny\n");
  auto m = match_rules_file(none, ip("192.0.2.1"));
  REQUIRE(m);
  CHECK_FALSE(m->matched);
  CHECK(m->rule.allow);

  auto missing = match_rules_file(d.path + "/absent.cdb", ip("192.0.2.1"));
  REQUIRE(!missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
}

TEST_CASE("tcprules: octets at and past INT64_MAX and UINT64_MAX are refused, never wrapped") {
  // 4294967296 + 10 would be 10 in a 32-bit reader that wraps.
  for (const char* n : {"256", "4294967306", "9223372036854775807", "9223372036854775808", "18446744073709551615",
                        "18446744073709551616", "123456789012345678901234"}) {
    CAPTURE(std::string(n));
    CHECK_FALSE(parse_rule_line(std::string(n) + ".0.0.1:allow"));
    CHECK_FALSE(parse_rule_line("10.0.0.1-" + std::string(n) + ":allow"));
  }
  CHECK(parse_rule_line("10.0.0.255:allow"));
}

TEST_CASE("ip_network: the /24 or /64 a client address counts against") {
  CHECK(ip_network(ip("192.0.2.77")) == "192.0.2.0/24");
  CHECK(ip_network(ip("192.0.2.0")) == "192.0.2.0/24");
  CHECK(ip_network(ip("127.0.0.1")) == "127.0.0.0/24");
  CHECK(ip_network(ip("127.0.1.1")) == "127.0.1.0/24");
  CHECK(ip_network(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")) == "2001:db8:1:2::/64");
  CHECK(ip_network(ip("2001:db8:1:2::1")) == ip_network(ip("2001:db8:1:2:ffff::9")));
  CHECK(ip_network(ip("2001:db8:1:3::1")) != ip_network(ip("2001:db8:1:2::1")));
  CHECK(ip_network(ip("::1")) == "::/64");
  // A dual-stack listener's mapped address counts as the IPv4 client it is.
  CHECK(ip_network(ip("::ffff:198.51.100.9")) == "198.51.100.0/24");
}
