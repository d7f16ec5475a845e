// Unit tests for lib/process_ids: the -u and -g a root-started server drops to
// (tcpserver, mailauth -d). A malformed id must be refused, never read as root's.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "process_ids.hpp"

using quail::parse_gids;
using quail::parse_uid;

TEST_CASE("process ids: a uid is plain decimal up to 2^31 - 1") {
  CHECK(parse_uid("0") == 0u);
  CHECK(parse_uid("998") == 998u);
  CHECK(parse_uid("2147483647") == 2147483647u);
  for (const char* bad : {"", "-1", "+5", " 5", "5 ", "2147483648", "4294967295", "quail-smtpd", "0x10", "1,2"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(parse_uid(bad).has_value());
  }
}

TEST_CASE("process ids: a gid list keeps its order, the group first") {
  auto g = parse_gids("998,8,100");
  REQUIRE(g.has_value());
  CHECK(*g == std::vector<gid_t>{998, 8, 100});
  CHECK(parse_gids("0") == std::vector<gid_t>{0});
}

TEST_CASE("process ids: a malformed gid list is refused whole") {
  for (const char* bad : {"", ",", "1,", ",1", "1,,2", "1;2", "1, 2", "mail", "2147483648", "1,-2"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(parse_gids(bad).has_value());
  }
  std::string many = "1";
  for (int i = 1; i < 64; ++i) many += "," + std::to_string(i);
  CHECK(parse_gids(many).has_value());  // 64: the most setgroups is given
  CHECK_FALSE(parse_gids(many + ",64").has_value());
}

TEST_CASE("process ids: a resident helper's -u and -g, once each, in either order") {
  auto parse = [](std::vector<std::string> args, std::optional<uid_t>& uid, std::vector<gid_t>& groups) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return quail::parse_id_flags(static_cast<int>(argv.size()), argv.data(), 2, uid, groups);
  };
  std::optional<uid_t> uid;
  std::vector<gid_t> groups;
  CHECK(parse({"tlsd", "-d"}, uid, groups));
  CHECK_FALSE(uid.has_value());
  CHECK(groups.empty());
  CHECK(parse({"tlsd", "-d", "-g", "7,8", "-u", "5"}, uid, groups));
  CHECK(uid == 5u);
  CHECK(groups == std::vector<gid_t>{7, 8});
  for (std::vector<std::string> bad : {std::vector<std::string>{"m", "-d", "-u"}, {"m", "-d", "-u", "5", "-u", "6"},
                                        {"m", "-d", "-x", "1"}, {"m", "-d", "-g", "a"}, {"m", "-d", "-u", "-1"}}) {
    std::optional<uid_t> u;
    std::vector<gid_t> g;
    CHECK_FALSE(parse(bad, u, g));
  }
}
