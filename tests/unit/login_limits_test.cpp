// Unit tests for lib/login_limits: failed logins counted per name and per client
// address in a file shared by concurrent checkpassword processes.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "login_limits.hpp"
#include "shadow_file.hpp"

namespace fs = std::filesystem;

namespace {

struct TempTable {
  std::string dir;
  TempTable() {
    std::string tmpl = (fs::temp_directory_path() / "quail-limits-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~TempTable() { fs::remove_all(dir); }
  std::string path() const { return dir + "/login-failures"; }
};

}  // namespace

TEST_CASE("login limits: the policy delays past the free failures and locks at the limits") {
  quail::LoginPolicy p;
  CHECK(quail::judge(p, 0, 0).delay == 0);
  CHECK(quail::judge(p, 2, 9).delay == 0);
  CHECK(quail::judge(p, 3, 0).delay == 2);
  CHECK(quail::judge(p, 4, 0).delay == 4);
  CHECK(quail::judge(p, 0, 10).delay == 2);
  CHECK(quail::judge(p, 4, 12).delay == 8);
  CHECK(quail::judge(p, 9, 0).delay == p.max_delay);
  CHECK(quail::judge(p, 4000000000u, 0).delay == p.max_delay);
  CHECK_FALSE(quail::judge(p, 9, 29).locked);
  CHECK(quail::judge(p, 10, 0).locked);
  CHECK(quail::judge(p, 0, 30).locked);
}

TEST_CASE("login limits: failures count per name and per address, and persist across opens") {
  TempTable t;
  {
    auto l = quail::LoginLimits::open(t.path());
    REQUIRE(l);
    for (int i = 0; i < 3; ++i) REQUIRE(l->record_failure("alice@example.test", "192.0.2.1", 1000 + i));
  }
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  auto s = l->standing("alice@example.test", "192.0.2.9", 1010);
  REQUIRE(s);
  CHECK(s->user_failures == 3);
  CHECK(s->address_failures == 0);
  CHECK(s->delay == 2);
  s = l->standing("bob@example.test", "192.0.2.1", 1010);
  REQUIRE(s);
  CHECK(s->user_failures == 0);
  CHECK(s->address_failures == 3);
  CHECK(s->delay == 0);  // another name from a busy address is not slowed by its neighbour's typos
}

TEST_CASE("login limits: a success clears the name's count, not the address's") {
  TempTable t;
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  for (int i = 0; i < 4; ++i) REQUIRE(l->record_failure("alice", "2001:db8::1", 50));
  REQUIRE(l->record_success("alice", 60));
  auto s = l->standing("alice", "2001:db8::1", 61);
  REQUIRE(s);
  CHECK(s->user_failures == 0);
  CHECK(s->address_failures == 4);
}

TEST_CASE("login limits: counts older than the window are forgotten") {
  TempTable t;
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  for (int i = 0; i < 12; ++i) REQUIRE(l->record_failure("alice", "", 100));
  auto s = l->standing("alice", "", 100 + l->policy().window);
  REQUIRE(s);
  CHECK(s->locked);
  s = l->standing("alice", "", 101 + l->policy().window);
  REQUIRE(s);
  CHECK(s->user_failures == 0);
  CHECK_FALSE(s->locked);
}

TEST_CASE("login limits: a flood of names never stops the newest being counted") {
  TempTable t;
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  for (int i = 0; i < 5000; ++i) REQUIRE(l->record_failure("user" + std::to_string(i), "", 10 + i / 100));
  REQUIRE(l->record_failure("target", "", 100));
  auto s = l->standing("target", "", 100);
  REQUIRE(s);
  CHECK(s->user_failures == 1);
  CHECK(fs::file_size(t.path()) <= quail::LoginLimits::slots * 32);
}

TEST_CASE("login limits: concurrent processes lose no failure") {
  TempTable t;
  constexpr int procs = 4, each = 50;
  for (int p = 0; p < procs; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto l = quail::LoginLimits::open(t.path());
      for (int i = 0; l && i < each; ++i) {
        if (!l->record_failure("shared", "", 500)) ::_exit(1);
      }
      ::_exit(l ? 0 : 1);
    }
  }
  for (int p = 0; p < procs; ++p) {
    int st = 0;
    REQUIRE(::wait(&st) > 0);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
  }
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  auto s = l->standing("shared", "", 500);
  REQUIRE(s);
  CHECK(s->user_failures == procs * each);
}

TEST_CASE("login limits: attempts in flight count before their check, so parallel guesses lock the name") {
  TempTable t;
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  // Twelve guesses from twelve addresses begin before any is checked (a botnet).
  int checked = 0;
  for (int i = 0; i < 12; ++i) {
    auto s = l->begin("alice", "192.0.2." + std::to_string(i), 100);
    REQUIRE(s);
    if (!s->locked) ++checked;
  }
  CHECK(checked == static_cast<int>(l->policy().user_limit));
  auto s = l->standing("alice", "192.0.2.99", 100);
  REQUIRE(s);
  CHECK(s->locked);
  CHECK(s->user_failures == l->policy().user_limit);
}

TEST_CASE("login limits: a right password settles its attempt: the name clears, the address is as before") {
  TempTable t;
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  for (int i = 0; i < 2; ++i) REQUIRE(l->record_failure("alice", "198.51.100.1", 50));
  auto s = l->begin("alice", "198.51.100.1", 60);
  REQUIRE(s);
  CHECK(s->user_failures == 2);
  CHECK(s->address_failures == 2);
  REQUIRE(l->settle("alice", "198.51.100.1", quail::LoginLimits::Settled::right, 61));
  s = l->standing("alice", "198.51.100.1", 62);
  REQUIRE(s);
  CHECK(s->user_failures == 0);
  CHECK(s->address_failures == 2);
  // Many right logins from one address (NAT) leave no count behind.
  for (int i = 0; i < 50; ++i) {
    std::string user = "user" + std::to_string(i);
    REQUIRE(l->begin(user, "198.51.100.1", 70));
    REQUIRE(l->settle(user, "198.51.100.1", quail::LoginLimits::Settled::right, 70));
  }
  s = l->standing("bob", "198.51.100.1", 71);
  REQUIRE(s);
  CHECK(s->address_failures == 2);
  CHECK_FALSE(s->locked);
}

TEST_CASE("login limits: an undecided attempt is taken off both counts; a locked one is not counted") {
  TempTable t;
  auto l = quail::LoginLimits::open(t.path());
  REQUIRE(l);
  REQUIRE(l->record_failure("alice", "192.0.2.1", 50));
  REQUIRE(l->begin("alice", "192.0.2.1", 60));
  REQUIRE(l->settle("alice", "192.0.2.1", quail::LoginLimits::Settled::undecided, 61));
  auto s = l->standing("alice", "192.0.2.1", 62);
  REQUIRE(s);
  CHECK(s->user_failures == 1);
  CHECK(s->address_failures == 1);
  for (int i = 0; i < 20; ++i) REQUIRE(l->record_failure("bob", "", 80));
  s = l->begin("bob", "192.0.2.2", 81);
  REQUIRE(s);
  CHECK(s->locked);
  s = l->standing("carol", "192.0.2.2", 82);
  REQUIRE(s);
  CHECK(s->address_failures == 0);
}

TEST_CASE("shadow: lines parse into name, hash and expiry; malformed ones do not") {
  auto e = quail::parse_shadow_line("carol:$y$j9T$abc$def:19000:0:99999:7:::");
  REQUIRE(e);
  CHECK(e->name == "carol");
  CHECK(e->hash == "$y$j9T$abc$def");
  CHECK_FALSE(e->expire);
  e = quail::parse_shadow_line("dave:!:19000:0:99999:7::20000:");
  REQUIRE(e);
  CHECK(*e->expire == 20000);
  CHECK_FALSE(quail::parse_shadow_line("carol:$y$x:19000"));
  CHECK_FALSE(quail::parse_shadow_line("carol:x:a:0:99999:7:::"));
  CHECK_FALSE(quail::parse_shadow_line(":x:1:0:99999:7:::"));
  CHECK_FALSE(quail::parse_shadow_line("carol:x:1:0:99999:7::::extra"));
}

TEST_CASE("shadow: only a crypt hash is usable; locked and empty ones never match") {
  CHECK(quail::usable_crypt_hash("$6$salt$hash"));
  CHECK(quail::usable_crypt_hash("abJnggxhB/yWI"));
  for (const char* h : {"", "!", "!$6$salt$hash", "*", "*LK*", "$6", "x", "abJnggxhB/yW!"}) {
    CHECK_FALSE(quail::usable_crypt_hash(h));
  }
}
