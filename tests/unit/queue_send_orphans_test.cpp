// Unit tests for queue-send's search for orphans (bin-src/queue-send/orphans):
// a file in mess/ without a todo/ name is taken only once it is old enough and
// no live queue-inject still has it under a tmp/ name (queue-layout/README.md, "Orphans").
#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "../../bin-src/queue-send/orphans.cpp"
#include "temp_queue.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int64_t minute = 60LL * 1000000000;

// A committed message with its mess/ name alone, as a queue-inject killed
// between its link and its rename leaves it (minus the tmp/ name: see with_tmp_name).
uint64_t orphan_message(TempQueue& q) {
  std::string name = q.commit();
  fs::remove(q.dirs.todo() + "/" + name);
  return std::stoull(name);
}

void with_tmp_name(TempQueue& q, uint64_t id, pid_t pid) {
  std::string tmp = q.dirs.tmp() + "/" + std::to_string(pid) + ".1700000000000000000";
  REQUIRE(::link((q.dirs.mess() + "/" + std::to_string(id)).c_str(), tmp.c_str()) == 0);
}

// A pid that ran and is gone (reaped), so kill(pid, 0) says ESRCH.
pid_t dead_pid() {
  pid_t p = ::fork();
  REQUIRE(p >= 0);
  if (p == 0) ::_exit(0);
  int st = 0;
  REQUIRE(::waitpid(p, &st, 0) == p);
  return p;
}

quail::OrphanVerdict judge_now(TempQueue& q, uint64_t id, int64_t age_past) {
  auto walk = quail::MessWalk::open(q.dirs.mess());
  REQUIRE(walk.ok());
  std::vector<uint64_t> seen;
  while (walk->step(2, [](uint64_t) { return false; }, seen)) {
  }
  REQUIRE(std::find(seen.begin(), seen.end(), id) != seen.end());
  quail::TmpNames names = quail::read_tmp_names(q.dirs.tmp());
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec + age_past;
  auto f = walk->facts(id, q.dirs.todo(), [&]() -> const quail::TmpNames& { return names; }, now, minute);
  return quail::judge_orphan(f, now, minute);
}

}  // namespace

TEST_CASE("queue-send orphans: the verdict follows the facts in the order they are asked") {
  using V = quail::OrphanVerdict;
  struct Case {
    quail::OrphanFacts f;
    int64_t age;
    V want;
  };
  const Case cases[] = {
      {{false, 0, false, false}, 2 * minute, V::gone},
      {{true, 0, false, false}, minute - 1, V::young},
      {{true, 0, true, true}, minute - 1, V::young},
      {{true, 0, false, false}, minute, V::orphan},
      {{true, 0, true, false}, 2 * minute, V::writer_alive},
      {{true, 0, true, true}, 2 * minute, V::writer_alive},
      {{true, 0, false, true}, 2 * minute, V::in_todo},
  };
  for (const auto& c : cases) {
    CAPTURE(quail::orphan_verdict_name(c.want));
    CHECK(quail::judge_orphan(c.f, c.f.ctime_ns + c.age, minute) == c.want);
  }
}

TEST_CASE("queue-send orphans: a file in mess/ alone is an orphan only once a minute has passed") {
  TempQueue q("quail-ut-orphans");
  uint64_t id = orphan_message(q);
  CHECK(judge_now(q, id, 0) == quail::OrphanVerdict::young);
  CHECK(judge_now(q, id, 2 * minute) == quail::OrphanVerdict::orphan);
}

TEST_CASE("queue-send orphans: a file still named in todo/ is left to the trigger") {
  TempQueue q("quail-ut-orphans");
  uint64_t id = orphan_message(q);
  std::string name = std::to_string(id);
  REQUIRE(::link((q.dirs.mess() + "/" + name).c_str(), (q.dirs.todo() + "/" + name).c_str()) == 0);
  CHECK(judge_now(q, id, 2 * minute) == quail::OrphanVerdict::in_todo);
}

TEST_CASE("queue-send orphans: a live writer's tmp/ name keeps the file out; a dead writer's does not") {
  TempQueue q("quail-ut-orphans");
  uint64_t id = orphan_message(q);
  with_tmp_name(q, id, ::getpid());
  CHECK(judge_now(q, id, 2 * minute) == quail::OrphanVerdict::writer_alive);

  TempQueue q2("quail-ut-orphans");
  uint64_t id2 = orphan_message(q2);
  with_tmp_name(q2, id2, dead_pid());
  CHECK(judge_now(q2, id2, 2 * minute) == quail::OrphanVerdict::orphan);
}

TEST_CASE("queue-send orphans: a tmp/ name queue-inject cannot have made has no writer") {
  TempQueue q("quail-ut-orphans");
  uint64_t id = orphan_message(q);
  REQUIRE(::link((q.dirs.mess() + "/" + std::to_string(id)).c_str(), (q.dirs.tmp() + "/stray").c_str()) == 0);
  auto names = quail::read_tmp_names(q.dirs.tmp());
  CHECK(names.readable);
  REQUIRE(names.writer_alive.count(TempQueue::inode(q.dirs.tmp() + "/stray")) == 1);
  CHECK_FALSE(names.writer_alive.at(TempQueue::inode(q.dirs.tmp() + "/stray")));
  CHECK(judge_now(q, id, 2 * minute) == quail::OrphanVerdict::orphan);
}

TEST_CASE("queue-send orphans: an unreadable tmp/ makes every writer count as alive") {
  quail::TmpNames names = quail::read_tmp_names("/nonexistent/tmp");
  CHECK_FALSE(names.readable);
  TempQueue q("quail-ut-orphans");
  uint64_t id = orphan_message(q);
  auto walk = quail::MessWalk::open(q.dirs.mess());
  REQUIRE(walk.ok());
  auto f = walk->facts(id, q.dirs.todo(), [&]() -> const quail::TmpNames& { return names; }, INT64_MAX / 2, minute);
  CHECK(f.writer_alive);
}

TEST_CASE("queue-send orphans: the walk reads a slice at a time, skips held ids and names that are not ids") {
  TempQueue q("quail-ut-orphans");
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(orphan_message(q));
  std::ofstream(q.dirs.mess() + "/not-an-id") << "x";
  auto walk = quail::MessWalk::open(q.dirs.mess());
  REQUIRE(walk.ok());
  std::vector<uint64_t> seen;
  int steps = 0;
  while (walk->step(2, [&](uint64_t id) { return id == ids[0]; }, seen)) ++steps;
  CHECK(steps >= 3);  // 8 entries with . and ..
  std::sort(seen.begin(), seen.end());
  std::vector<uint64_t> want(ids.begin() + 1, ids.end());
  std::sort(want.begin(), want.end());
  CHECK(seen == want);
}
