// Unit tests for lib/users_table: user names are normalised and checked, the
// "!" prefix marks a disabled user, and rewrites under users/.lock lose no update.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "service_lock.hpp"
#include "users_table.hpp"

namespace fs = std::filesystem;

namespace {

struct UsersRoot {
  std::string path;
  UsersRoot() {
    char tmpl[] = "/tmp/quail-ut-users-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
    fs::create_directories(path + "/users");
  }
  ~UsersRoot() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("users table: user names are lowercased into the key") {
  auto n = quail::parse_user_name("Alice.Smith@Example.TEST");
  REQUIRE(n);
  CHECK(n->local == "alice.smith");
  CHECK(n->domain == "example.test");
  CHECK(n->key() == "alice.smith@example.test");
  CHECK(quail::parse_user_name("a+b=c_d-e@x.test"));
}

TEST_CASE("users table: names unsafe as a directory or not an address are refused") {
  for (const char* bad : {"alice", "@example.test", "alice@", "a/b@example.test", ".a@example.test", "a.@example.test",
                          "a..b@example.test", "\"a b\"@example.test", "a@[192.0.2.1]", "a@exa mple.test",
                          "caf\xc3\xa9@example.test", "a@b@example.test"}) {
    CAPTURE(bad);
    auto n = quail::parse_user_name(bad);
    CHECK_FALSE(n);
    if (!n) CHECK(n.error().kind == quail::ErrorKind::format);
  }
  CHECK_FALSE(quail::parse_user_name(std::string(65, 'a') + "@example.test"));
  CHECK(quail::parse_user_name(std::string(64, 'a') + "@example.test"));
}

TEST_CASE("users table: a value starting with ! is a disabled user") {
  auto e = quail::decode_user_value("!$argon2id$v=19$x");
  CHECK(e.disabled);
  CHECK(e.hash == "$argon2id$v=19$x");
  CHECK(quail::encode_user_value(e) == "!$argon2id$v=19$x");
  auto on = quail::decode_user_value("$argon2id$v=19$x");
  CHECK_FALSE(on.disabled);
  CHECK(quail::encode_user_value(on) == "$argon2id$v=19$x");
}

TEST_CASE("users table: a missing users.cdb is an empty table") {
  UsersRoot r;
  auto users = quail::load_users(r.path);
  REQUIRE(users);
  CHECK(users->empty());
  auto found = quail::lookup_user(r.path, "alice@example.test");
  REQUIRE(found);
  CHECK_FALSE(*found);
}

TEST_CASE("users table: save then load and lookup give back every user") {
  UsersRoot r;
  quail::UsersMap users = {{"alice@example.test", "$argon2id$a"}, {"bob@example.test", "!$argon2id$b"}};
  REQUIRE(quail::save_users(r.path, users));
  CHECK_FALSE(fs::exists(quail::users_cdb_path(r.path) + ".tmp"));
  auto loaded = quail::load_users(r.path);
  REQUIRE(loaded);
  CHECK(*loaded == users);
  auto bob = quail::lookup_user(r.path, "bob@example.test");
  REQUIRE(bob);
  REQUIRE(*bob);
  CHECK((*bob)->disabled);
  CHECK((*bob)->hash == "$argon2id$b");
  auto carol = quail::lookup_user(r.path, "carol@example.test");
  REQUIRE(carol);
  CHECK_FALSE(*carol);
}

TEST_CASE("users table: a damaged users.cdb is a temporary error, not an empty table") {
  UsersRoot r;
  FILE* f = fopen(quail::users_cdb_path(r.path).c_str(), "w");
  REQUIRE(f);
  fputs("junk", f);
  fclose(f);
  auto users = quail::load_users(r.path);
  REQUIRE_FALSE(users);
  CHECK(users.error().kind == quail::ErrorKind::temporary);
}

TEST_CASE("users table: concurrent rewrites under users/.lock lose no update") {
  UsersRoot r;
  constexpr int writers = 4, each = 15;
  pid_t pids[writers];
  for (int w = 0; w < writers; ++w) {
    pids[w] = fork();
    REQUIRE(pids[w] >= 0);
    if (pids[w] == 0) {
      for (int i = 0; i < each; ++i) {
        auto lock = quail::FileLock::acquire(quail::users_lock_path(r.path));
        if (!lock) _exit(1);
        auto users = quail::load_users(r.path);
        if (!users) _exit(2);
        (*users)["u" + std::to_string(w) + "-" + std::to_string(i) + "@example.test"] = "$argon2id$x";
        if (!quail::save_users(r.path, *users)) _exit(3);
      }
      _exit(0);
    }
  }
  for (pid_t p : pids) {
    int st = 0;
    REQUIRE(waitpid(p, &st, 0) == p);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
  }
  auto users = quail::load_users(r.path);
  REQUIRE(users);
  CHECK(users->size() == writers * each);
}
