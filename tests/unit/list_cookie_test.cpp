// Unit tests for lib/list_cookie: cookies (make/check) and the list command
// addresses parse_list_command reads from a local part (queue-layout/lists.md).
#include <doctest/doctest.h>

#include <string>

#include "list_cookie.hpp"

using quail::check_cookie;
using quail::CookieCheck;
using quail::ListCommandKind;
using quail::ListSecret;
using quail::make_cookie;
using quail::parse_list_command;

namespace {

ListSecret key(char c) { return ListSecret::from_bytes(std::string(32, c)).value(); }

}  // namespace

TEST_CASE("list cookie: a cookie is 20 lowercase base32 characters and checks good within its lifetime") {
  auto k = key('k');
  std::string c = make_cookie(k, "sc", "Bob@Example.TEST", 1'800'000'000);
  CHECK(c.size() == quail::cookie_length);
  CHECK(c.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos);
  int64_t issued = 0;
  CHECK(check_cookie(k, "sc", "bob@example.test", c, 1'800'000'000 + 86400, 10 * 86400, &issued) == CookieCheck::good);
  CHECK(issued == 1'800'000'000);
  // Case does not matter: MTAs may change the case of a local part.
  std::string upper = c;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(check_cookie(k, "sc", "bob@example.test", upper, 1'800'000'000, 10 * 86400) == CookieCheck::good);
}

TEST_CASE("list cookie: another key, action, address or a changed time is forged") {
  auto k = key('k');
  std::string c = make_cookie(k, "sc", "bob@example.test", 1'800'000'000);
  const int64_t now = 1'800'000'100;
  CHECK(check_cookie(key('x'), "sc", "bob@example.test", c, now, 864000) == CookieCheck::forged);
  CHECK(check_cookie(k, "uc", "bob@example.test", c, now, 864000) == CookieCheck::forged);
  CHECK(check_cookie(k, "sc", "eve@example.test", c, now, 864000) == CookieCheck::forged);
  std::string later = c;
  later[6] = later[6] == 'a' ? 'b' : 'a';  // the time's last digit
  CHECK(check_cookie(k, "sc", "bob@example.test", later, now, 864000) == CookieCheck::forged);
  CHECK(check_cookie(k, "sc", "bob@example.test", c.substr(1), now, 864000) == CookieCheck::forged);
  CHECK(check_cookie(k, "sc", "bob@example.test", std::string(20, '!'), now, 864000) == CookieCheck::forged);
}

TEST_CASE("list cookie: older than the lifetime, or from the future, is expired") {
  auto k = key('k');
  std::string c = make_cookie(k, "sc", "bob@example.test", 1'800'000'000);
  CHECK(check_cookie(k, "sc", "bob@example.test", c, 1'800'000'000 + 864000, 864000) == CookieCheck::good);
  CHECK(check_cookie(k, "sc", "bob@example.test", c, 1'800'000'000 + 864001, 864000) == CookieCheck::expired);
  CHECK(check_cookie(k, "sc", "bob@example.test", c, 1'800'000'000 - 7200, 864000) == CookieCheck::expired);
}

TEST_CASE("list cookie: the secret must be 32 bytes; two random secrets differ") {
  CHECK_FALSE(ListSecret::from_bytes(std::string(31, 'a')).ok());
  CHECK_FALSE(ListSecret::from_bytes(std::string(33, 'a')).ok());
  CHECK(ListSecret::random().bytes() != ListSecret::random().bytes());
}

TEST_CASE("list address: local=domain encodes and decodes, the last '=' splitting") {
  CHECK(quail::encode_address("Bob@Example.Test") == "bob=example.test");
  CHECK(quail::decode_address("bob=example.test").value() == "bob@example.test");
  CHECK(quail::decode_address("a=b=example.test").value() == "a=b@example.test");
  CHECK_FALSE(quail::decode_address("bob").ok());
  CHECK_FALSE(quail::decode_address("=example.test").ok());
  CHECK_FALSE(quail::decode_address("bob=").ok());
  CHECK_FALSE(quail::decode_address("bob=exa mple.test").ok());
}

TEST_CASE("list command: each address form is recognised") {
  std::string c(20, 'a');
  struct Case {
    std::string ext;
    ListCommandKind kind;
    std::string address;
  } cases[] = {
      {"", ListCommandKind::post, ""},
      {"subscribe", ListCommandKind::subscribe, ""},
      {"UNSUBSCRIBE", ListCommandKind::unsubscribe, ""},
      {"help", ListCommandKind::help, ""},
      {"whatever", ListCommandKind::help, ""},
      {"sc." + c + "-bob=example.test", ListCommandKind::confirm_subscribe, "bob@example.test"},
      {"uc." + c + "-Bob=Example.Test", ListCommandKind::confirm_unsubscribe, "bob@example.test"},
      {"sc." + c + "bob=example.test", ListCommandKind::help, ""},      // no '-' after the cookie
      {"sc.short-bob=example.test", ListCommandKind::help, ""},
      {"sc." + c + "-bob", ListCommandKind::help, ""},                  // no domain
      {"return-12-bob-x=example.test", ListCommandKind::bounce, "bob-x@example.test"},
      {"return-p." + c + "-bob=example.test", ListCommandKind::probe_bounce, "bob@example.test"},
      {"return-", ListCommandKind::return_other, ""},
      {"return-x-bob=example.test", ListCommandKind::return_other, ""},
      {"return-12-", ListCommandKind::return_other, ""},
      {"return-1234567890123456789-bob=example.test", ListCommandKind::return_other, ""},  // 19 digits
      {"accept." + c + "-1800000000.0123abcd", ListCommandKind::moderate_accept, ""},
      {"reject." + c + "-1800000000.0123abcd", ListCommandKind::moderate_reject, ""},
      {"accept." + c + "-1800000000.0123abcg", ListCommandKind::help, ""},
      {"accept." + c + "-../secret", ListCommandKind::help, ""},
      {"get.12", ListCommandKind::get, ""},
      {"digest-subscribe", ListCommandKind::subscribe, ""},
      {"digest-unsubscribe", ListCommandKind::unsubscribe, ""},
      {"dsc." + c + "-bob=example.test", ListCommandKind::confirm_subscribe, "bob@example.test"},
      {"duc." + c + "-bob=example.test", ListCommandKind::confirm_unsubscribe, "bob@example.test"},
      {"dxc." + c + "-bob=example.test", ListCommandKind::help, ""},
      {"return-d3-bob=example.test", ListCommandKind::bounce, "bob@example.test"},
      {"return-dp." + c + "-bob=example.test", ListCommandKind::probe_bounce, "bob@example.test"},
      {"return-dx-bob=example.test", ListCommandKind::return_other, ""},
      {"get.", ListCommandKind::help, ""},
      {"get.1x", ListCommandKind::help, ""},
      {"get.1234567890123456789", ListCommandKind::help, ""},
  };
  for (const auto& k : cases) {
    CAPTURE(k.ext);
    auto cmd = parse_list_command(k.ext);
    CHECK(cmd.kind == k.kind);
    CHECK(cmd.address == k.address);
  }
  CHECK(parse_list_command("return-12-bob=example.test").number == 12);
  CHECK(parse_list_command("GET.7").number == 7);
  CHECK(parse_list_command("dsc." + c + "-bob=example.test").digest);
  CHECK(parse_list_command("digest-subscribe").digest);
  CHECK_FALSE(parse_list_command("sc." + c + "-bob=example.test").digest);
  CHECK(parse_list_command("return-d3-bob=example.test").digest);
  CHECK(parse_list_command("return-d3-bob=example.test").number == 3);
  CHECK_FALSE(parse_list_command("return-3-bob=example.test").digest);
  CHECK(parse_list_command("accept." + c + "-1800000000.0123abcd").held == "1800000000.0123abcd");
}

TEST_CASE("list held id: time, a dot and 8 lowercase hex digits") {
  CHECK(quail::valid_held_id("1800000000.0123abcd"));
  CHECK_FALSE(quail::valid_held_id("1800000000.0123ABCD"));
  CHECK_FALSE(quail::valid_held_id(".0123abcd"));
  CHECK_FALSE(quail::valid_held_id("1800000000.0123abc"));
  CHECK_FALSE(quail::valid_held_id("1800000000.0123abcd.taken"));
  CHECK_FALSE(quail::valid_held_id("1234567890123.0123abcd"));
}
