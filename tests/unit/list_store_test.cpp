// Unit tests for lib/list_store: the bucket format, the store's updates and
// counter, and the bounce rule (queue-layout/lists.md, "Subscribers", "Bounces").
#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <string>
#include <sys/stat.h>

#include "fd.hpp"
#include "list_store.hpp"

using quail::ListStore;
using quail::parse_bucket;
using quail::Subscriber;

namespace {

struct TempList {
  std::string dir;
  TempList() {
    std::string tmpl = "/tmp/quail-ut-list-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    REQUIRE(::mkdir((dir + "/subscribers").c_str(), 0700) == 0);
  }
  ~TempList() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("list bucket: lines round-trip and come out sorted") {
  std::vector<Subscriber> subs = {{"carol@example.test", true, 5, 2, 3, 4, 0},
                                  {"bob@example.test", false, 7, 0, 0, 0, 0}};
  std::string text = quail::serialize_bucket(subs);
  CHECK(text == "- 7 0 0 0 0 bob@example.test\n+ 5 2 3 4 0 carol@example.test\n");
  auto back = parse_bucket(text, "b");
  REQUIRE(back.ok());
  REQUIRE(back->size() == 2);
  CHECK((*back)[0] == subs[1]);
  CHECK((*back)[1] == subs[0]);
}

TEST_CASE("list bucket: malformed lines are refused, naming the line") {
  const char* bad[] = {
      "+ 1 0 0 0 0 bob@example.test",                                   // no line end
      "* 1 0 0 0 0 bob@example.test\n",                                 // not + or -
      "+ 1 0 0 0 bob@example.test\n",                                   // four numbers
      "+ 1 0 0 0 x bob@example.test\n",                                 // not a number
      "+ 1 0 0 0 0 Bob@example.test\n",                                 // not lowercased
      "+ 1 0 0 0 0 bob\n",                                              // no domain
      "+ 1 0 0 0 0 \"b b\"@example.test\n",                             // quoted
      "+ 1 0 0 0 0 bob@example.test\n+ 1 0 0 0 0 bob@example.test\n",   // duplicate
      "+ 1 0 0 0 0 carol@example.test\n+ 1 0 0 0 0 bob@example.test\n", // unsorted
      "+ 1 99999999999 0 0 0 bob@example.test\n",                       // bounces over 32 bits
      "+ 1234567890123456789 0 0 0 0 bob@example.test\n",               // 19 digits
  };
  for (const char* t : bad) {
    CAPTURE(std::string(t));
    auto r = parse_bucket(t, "subscribers/0a");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason.rfind("subscribers/0a:", 0) == 0);
  }
}

TEST_CASE("list bucket: the bucket ignores case and spreads addresses") {
  CHECK(quail::bucket_of("Bob@Example.Test") == quail::bucket_of("bob@example.test"));
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(quail::bucket_of("user" + std::to_string(i) + "@example.test"));
  CHECK(seen.size() == quail::list_buckets);
}

TEST_CASE("list store: update adds, finds, tombstones and prunes; one bucket file per change") {
  TempList t;
  ListStore s(t.dir);
  auto add = [&](const std::string& a, int64_t when) {
    return s.update(a, 0, [&](std::optional<Subscriber>& r) {
      r = Subscriber{a, true, when, 0, 0, 0, 0};
      return true;
    });
  };
  REQUIRE(add("Bob@Example.Test", 10).ok());
  REQUIRE(add("carol@example.test", 11).ok());
  auto bob = s.find("bob@example.test");
  REQUIRE(bob.ok());
  REQUIRE(bob->has_value());
  CHECK((*bob)->address == "bob@example.test");
  CHECK(std::distance(std::filesystem::directory_iterator(t.dir + "/subscribers"), {}) <= 2);
  REQUIRE(s.update("bob@example.test", 0, [](std::optional<Subscriber>& r) {
               r->active = false;
               r->changed = 20;
               return true;
             }).ok());
  std::vector<std::string> active;
  REQUIRE(s.for_each([&](const Subscriber& x) { active.push_back(x.address); }).ok());
  CHECK(active == std::vector<std::string>{"carol@example.test"});
  CHECK(s.find("bob@example.test").value()->active == false);  // the tombstone stays
  // A later save of the bucket with a prune time past the tombstone drops it.
  REQUIRE(s.update("bob@example.test", 21, [](std::optional<Subscriber>&) { return true; }).ok());
  CHECK_FALSE(s.find("bob@example.test")->has_value());
  // A change that returns false writes nothing.
  REQUIRE(s.update("dave@example.test", 0, [](std::optional<Subscriber>& r) {
               r = Subscriber{};
               return false;
             }).ok());
  CHECK_FALSE(s.find("dave@example.test")->has_value());
}

TEST_CASE("list store: the post counter starts at 0, persists, and refuses garbage") {
  TempList t;
  ListStore s(t.dir);
  CHECK(s.last_post().value() == 0);
  REQUIRE(s.set_last_post(41).ok());
  CHECK(s.last_post().value() == 41);
  REQUIRE(quail::write_all(quail::open_fd(t.dir + "/seq", O_WRONLY | O_TRUNC)->get(), "4x\n"));
  CHECK_FALSE(s.last_post().ok());
}

TEST_CASE("list bounces: a probe after the window, once; an old probe that did not bounce clears the count") {
  Subscriber s{"bob@example.test", true, 0, 0, 0, 0, 0};
  const int64_t w = 1000;
  CHECK_FALSE(quail::note_bounce(s, 10'000, w));
  CHECK(s.bounces == 1);
  CHECK(s.first_bounce == 10'000);
  CHECK_FALSE(quail::note_bounce(s, 10'500, w));
  CHECK(quail::note_bounce(s, 11'000, w));  // bouncing for the whole window: probe
  CHECK(s.probed == 11'000);
  CHECK_FALSE(quail::note_bounce(s, 11'500, w));  // a probe is out: no second one
  CHECK(s.bounces == 4);
  // The probe came through (no probe bounce in a window): a later bounce starts over.
  CHECK_FALSE(quail::note_bounce(s, 12'500, w));
  CHECK(s.bounces == 1);
  CHECK(s.first_bounce == 12'500);
  CHECK(s.probed == 0);
  Subscriber now{"eve@example.test", true, 0, 0, 0, 0, 0};
  CHECK(quail::note_bounce(now, 5, 0));  // window 0: probe at the first bounce
}
