// Unit tests for lib/store (LMDB backend, control/store parsing) and lib/resp:
// the abuse-control state shared by many smtpd processes.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "resp.hpp"
#include "state_store.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string dir;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "quail-store-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string store() const { return dir + "/state/store"; }
};

std::unique_ptr<quail::StateStore> open(const TempDir& t) {
  auto s = quail::open_lmdb_state_store(t.store());
  REQUIRE(s.ok());
  return std::move(*s);
}

}  // namespace

TEST_CASE("store: values expire, counters add from zero and keep their expiry") {
  TempDir t;
  auto s = open(t);
  CHECK(!s->get("a", 100)->has_value());
  REQUIRE(s->put("a", 42, 10, 100).ok());
  CHECK(s->get("a", 109)->value() == 42);
  CHECK(!s->get("a", 110)->has_value());
  CHECK(s->add("c", 1, 60, 1000).value() == 1);
  CHECK(s->add("c", 2, 60, 1030).value() == 3);  // the expiry stays at 1060
  CHECK(s->add("c", 1, 60, 1060).value() == 1);  // expired: starts again
  REQUIRE(s->put("forever", 7, 0, 1).ok());
  CHECK(s->get("forever", 1'000'000'000)->value() == 7);
  REQUIRE(s->erase("forever").ok());
  REQUIRE(s->erase("forever").ok());
  CHECK(!s->get("forever", 1)->has_value());
}

TEST_CASE("store: scan lists live entries by prefix; purge removes only expired ones") {
  TempDir t;
  auto s = open(t);
  REQUIRE(s->put("g:1", 1, 10, 100).ok());
  REQUIRE(s->put("g:2", 2, 100, 100).ok());
  REQUIRE(s->put("h:1", 3, 100, 100).ok());
  auto g = s->scan("g:", 150);
  REQUIRE(g.ok());
  REQUIRE(g->size() == 1);
  CHECK((*g)[0].key == "g:2");
  CHECK((*g)[0].expires == 200);
  CHECK(s->scan("", 150)->size() == 2);
  CHECK(s->purge(150).value() == 1);
  CHECK(s->purge(150).value() == 0);
  CHECK(s->scan("", 0)->size() == 2);  // g:1 is gone even before its expiry is checked
}

TEST_CASE("store: 50 concurrent writer processes lose no update") {
  TempDir t;
  { open(t); }  // created once, as the first smtpd would
  constexpr int writers = 50, each = 40;
  std::vector<pid_t> kids;
  for (int w = 0; w < writers; ++w) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto s = quail::open_lmdb_state_store(t.store());
      if (!s) ::_exit(2);
      for (int i = 0; i < each; ++i) {
        if (!(*s)->add("shared", 1, 3600, 1000)) ::_exit(3);
        if (!(*s)->add("own:" + std::to_string(w), 1, 3600, 1000)) ::_exit(3);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int st;
    REQUIRE(::waitpid(k, &st, 0) == k);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
  }
  auto s = open(t);
  CHECK(s->get("shared", 1000)->value() == writers * each);
  CHECK(s->scan("own:", 1000)->size() == size_t(writers));
}

TEST_CASE("store: a writer killed with SIGKILL mid-update loses at most its last unreported add") {
  TempDir t;
  { open(t); }
  for (int round = 0; round < 5; ++round) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(p[0]);
      auto s = quail::open_lmdb_state_store(t.store());
      if (!s) ::_exit(2);
      for (;;) {
        auto n = (*s)->add("k", 1, 0, 1);
        if (!n) ::_exit(3);
        int64_t v = *n;
        if (::write(p[1], &v, sizeof v) != sizeof v) ::_exit(4);
      }
    }
    ::close(p[1]);
    int64_t last = 0, v;
    // Let it run a moment, then kill it wherever it is (often inside a commit).
    for (int i = 0; i < 200 + round * 37 && ::read(p[0], &v, sizeof v) == sizeof v; ++i) last = v;
    ::kill(pid, SIGKILL);
    while (::read(p[0], &v, sizeof v) == sizeof v) last = v;
    ::close(p[0]);
    int st;
    REQUIRE(::waitpid(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st));
    // The next process opens the store, takes the (robust) writer lock and counts on.
    auto s = open(t);
    int64_t now = s->get("k", 1)->value();
    CHECK((now == last || now == last + 1));
    CHECK(s->add("k", 1, 0, 1).value() == now + 1);
  }
}

TEST_CASE("store: control/store names lmdb or a redis address") {
  CHECK(quail::parse_state_store_config("lmdb")->kind == quail::StateStoreConfig::Kind::lmdb);
  auto r = quail::parse_state_store_config("redis://127.0.0.1:6380");
  REQUIRE(r.ok());
  CHECK(r->kind == quail::StateStoreConfig::Kind::redis);
  CHECK(r->host == "127.0.0.1");
  CHECK(r->port == 6380);
  r = quail::parse_state_store_config("redis://[::1]");
  REQUIRE(r.ok());
  CHECK(r->host == "::1");
  CHECK(r->port == 6379);
  for (auto bad : {"", "LMDB", "redis://", "redis://host.example:6379", "redis://1.2.3.4:0", "redis://1.2.3.4:99999",
                   "redis://1.2.3.4:", "redis://[::1", "redis://::1:6379", "memcached://1.2.3.4"}) {
    CAPTURE(bad);
    CHECK(!quail::parse_state_store_config(bad).ok());
  }
}

TEST_CASE("resp: replies parse, partial ones ask for more, malformed ones are refused") {
  using quail::resp::Parse;
  quail::resp::Value v;
  size_t used = 0;
  CHECK(quail::resp::parse("+OK\r\n", v, used) == Parse::ok);
  CHECK((v.type == quail::resp::Type::simple && v.text == "OK" && used == 5));
  CHECK(quail::resp::parse(":-12\r\n", v, used) == Parse::ok);
  CHECK(v.integer == -12);
  CHECK(quail::resp::parse("$3\r\na\r\n\r\n+x", v, used) == Parse::ok);
  CHECK((v.text == "a\r\n" && used == 9));
  CHECK(quail::resp::parse("$-1\r\n", v, used) == Parse::ok);
  CHECK(v.type == quail::resp::Type::nil);
  CHECK(quail::resp::parse("*2\r\n+OK\r\n:3\r\n", v, used) == Parse::ok);
  REQUIRE(v.elements.size() == 2);
  CHECK(v.elements[1].integer == 3);
  CHECK(quail::resp::parse("-ERR wrong\r\n", v, used) == Parse::ok);
  CHECK(v.type == quail::resp::Type::error);
  for (auto partial : {"", "+OK", "+OK\r", "$3\r\nab", "*2\r\n+OK\r\n", ":1"}) {
    CAPTURE(partial);
    CHECK(quail::resp::parse(partial, v, used) == Parse::incomplete);
  }
  for (auto bad : {"?x\r\n", "+OK\n", ":12a\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-5\r\n", ":\r\n",
                   "$99999999999999999999\r\n", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"}) {
    CAPTURE(bad);
    CHECK(quail::resp::parse(bad, v, used) == Parse::malformed);
  }
  CHECK(quail::resp::command({"GET", "a b"}) == "*2\r\n$3\r\nGET\r\n$3\r\na b\r\n");
}
