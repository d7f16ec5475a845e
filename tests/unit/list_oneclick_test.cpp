// Unit tests for lib/list_oneclick: control/listsurl's check, each subscriber's
// one-click URL and fields, and list-httpd's reading of a URL back.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "http_request.hpp"
#include "list_config.hpp"
#include "list_cookie.hpp"
#include "list_oneclick.hpp"

namespace list = quail::list;

namespace {

quail::ListConfig config() {
  quail::ListConfig c;
  c.address = "alice-team@example.test";
  c.owner = "alice@example.test";
  c.root = "/var/quail";
  return c;
}

}  // namespace

TEST_CASE("list one-click: control/listsurl must be an https base without a final slash") {
  CHECK_FALSE(list::bad_lists_url("https://lists.example.test"));
  CHECK_FALSE(list::bad_lists_url("https://lists.example.test:8443/u"));
  CHECK_FALSE(list::bad_lists_url("https://[::1]:8443"));
  for (const char* bad : {"http://lists.example.test", "https://", "https:///x", "https://a b", "https://x/",
                          "https://x/?q", "https://x/#f", "https://u@x", "https://x/\xc3\xa9", "lists.example.test"}) {
    CAPTURE(bad);
    CHECK(list::bad_lists_url(bad));
  }
}

TEST_CASE("list one-click: each subscriber's URL reads back as its own list address, and its cookie checks") {
  auto key = quail::ListSecret::from_bytes(std::string(32, 'k')).value();
  auto cfg = config();
  std::string a = list::one_click_address(cfg, key, "Bob+x@Example.TEST", 1'800'000'000);
  REQUIRE(a.rfind("alice-team-oc.", 0) == 0);
  CHECK(a.substr(a.size() - 32) == "-bob+x=example.test@example.test");
  std::string url = list::one_click_url("https://lists.example.test:8443", a);
  CHECK(url == "https://lists.example.test:8443/" + a);  // all of it is path-safe here
  auto path = quail::http::target_path(url.substr(url.find('/', 8)));
  REQUIRE(path);
  auto t = list::one_click_target(quail::http::last_segment(*path));
  REQUIRE(t);
  CHECK(t->address == a);
  CHECK(t->list == "alice-team@example.test");
  CHECK(t->subscriber == "bob+x@example.test");
  auto cmd = quail::parse_list_command(a.substr(std::string("alice-team-").size(), a.rfind('@') - 11));
  REQUIRE(cmd.kind == quail::ListCommandKind::one_click);
  CHECK(quail::check_cookie(key, "oc", cmd.address, cmd.cookie, 1'800'000'000 + 300 * 86400, list::one_click_lifetime) ==
        quail::CookieCheck::good);
  // Another subscriber's address with this cookie is forged: a URL names one subscriber.
  CHECK(quail::check_cookie(key, "oc", "carol@example.test", cmd.cookie, 1'800'000'000, list::one_click_lifetime) ==
        quail::CookieCheck::forged);
  // An unsubscribe-by-mail cookie is not a one-click cookie, nor the reverse.
  CHECK(quail::check_cookie(key, "uc", cmd.address, cmd.cookie, 1'800'000'000, list::one_click_lifetime) ==
        quail::CookieCheck::forged);
}

TEST_CASE("list one-click: a subscriber whose address would not fit a local part gets no URL") {
  auto key = quail::ListSecret::from_bytes(std::string(32, 'k')).value();
  CHECK(list::one_click_address(config(), key, std::string(30, 'b') + "@example.test", 1'800'000'000).empty());
}

TEST_CASE("list one-click: the fields name the URL first and the mailto: address second") {
  CHECK(list::one_click_fields(config(), "https://l.test/x") ==
        "List-Unsubscribe: <https://l.test/x>,\n <mailto:alice-team-unsubscribe@example.test>\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n");
}

TEST_CASE("list one-click: list-httpd reads only one-click list addresses from a URL") {
  std::string cookie(quail::cookie_length, 'a');
  CHECK(list::one_click_target("team-oc." + cookie + "-bob=example.test@example.test"));
  CHECK(list::one_click_target("My-Team-OC." + cookie + "-Bob=Example.test@Example.TEST")->address ==
        "my-team-oc." + cookie + "-bob=example.test@example.test");
  for (std::string bad : {"team-uc." + cookie + "-bob=example.test@example.test",  // mail's cookie, not a URL's
                          "team-oc." + cookie + "-bob@example.test",              // no local=domain
                          "team-oc." + cookie.substr(1) + "-bob=example.test@example.test",
                          "-oc." + cookie + "-bob=example.test@example.test",     // no list name
                          "oc." + cookie + "-bob=example.test@example.test",
                          "team-oc." + cookie + "-bob=example.test",               // no domain
                          std::string("team@example.test"), std::string(""), std::string("a b@c")}) {
    CAPTURE(bad);
    CHECK_FALSE(list::one_click_target(bad));
  }
}

TEST_CASE("list one-click: control/listsurl is read as a list of at most one URL, missing or empty meaning none") {
  char tmpl[] = "/tmp/quail-listsurl-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl, dir = root + "/control", file = dir + "/listsurl";
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  auto put = [&](const std::string& text) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  };
  CHECK(list::lists_url(root).value() == "");  // missing
  put("");
  CHECK(list::lists_url(root).value() == "");
  put("# one-click for the lists\nhttps://lists.example.test:8443\n");
  CHECK(list::lists_url(root).value() == "https://lists.example.test:8443");
  put("https://a.test\nhttps://b.test\n");
  CHECK(list::lists_url(root).error().kind == quail::ErrorKind::config);
  put("http://lists.example.test\n");
  CHECK(list::lists_url(root).error().kind == quail::ErrorKind::config);
  std::filesystem::remove_all(root);
}
