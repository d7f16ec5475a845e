// Unit tests for quail check's repairs (bin-src/quail-check/checks): each file
// is judged again just before it is touched (queue-layout/README.md, invariants).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "../../bin-src/quail-check/checks.cpp"
#include "temp_queue.hpp"

namespace fs = std::filesystem;
namespace check = quail::check;

namespace {

std::string commit_message(TempQueue& q) { return q.commit(); }

const check::Problem* find(const std::vector<check::Problem>& ps, check::Kind k) {
  for (const auto& p : ps) {
    if (p.kind == k) return &p;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("quail check --repair: a corrupt name that holds a valid message by now is kept") {
  TempQueue q("quail-ut-check");
  // A file that does not parse, under an id's name, as check finds it.
  std::string tmp = q.dirs.tmp() + "/bad";
  std::ofstream(tmp) << "not a queue file";
  std::string id = std::to_string(TempQueue::inode(tmp));
  fs::rename(tmp, q.dirs.todo() + "/" + id);
  auto problems = check::find_problems(q.root);
  REQUIRE(problems.ok());
  const check::Problem* p = find(*problems, check::Kind::corrupt);
  REQUIRE(p != nullptr);
  check::Problem stale = *p;
  // Meanwhile the name holds a new, valid message (ids are reused at once through pool/).
  fs::remove(q.dirs.todo() + "/" + id);
  std::string fresh = commit_message(q);
  fs::rename(q.dirs.todo() + "/" + fresh, q.dirs.todo() + "/" + id);
  auto done = check::repair(q.root, stale);
  REQUIRE(done.ok());
  CHECK(*done == "parses now; kept");
  CHECK(fs::exists(q.dirs.todo() + "/" + id));
  CHECK(quail::read_queue_file(q.dirs.todo() + "/" + id).ok());
  CHECK((!fs::exists((q.dirs.queue + "/corrupt")) || fs::is_empty((q.dirs.queue + "/corrupt"))));
}

TEST_CASE("quail check --repair: a file that still does not parse goes to queue/corrupt/") {
  TempQueue q("quail-ut-check");
  std::string tmp = q.dirs.tmp() + "/bad";
  std::ofstream(tmp) << "not a queue file";
  std::string id = std::to_string(TempQueue::inode(tmp));
  fs::rename(tmp, q.dirs.mess() + "/" + id);
  auto problems = check::find_problems(q.root);
  REQUIRE(problems.ok());
  const check::Problem* p = find(*problems, check::Kind::corrupt);
  REQUIRE(p != nullptr);
  auto done = check::repair(q.root, *p);
  REQUIRE(done.ok());
  CHECK(*done == "moved to queue/corrupt/mess." + id);
  CHECK_FALSE(fs::exists(q.dirs.mess() + "/" + id));
  CHECK(fs::exists((q.dirs.queue + "/corrupt") + "/mess." + id));
}

TEST_CASE("quail check: a queue file its group cannot read is reported, and --repair gives it mode 0640") {
  TempQueue q("quail-ut-check");
  std::string id = commit_message(q);
  std::string path = q.dirs.todo() + "/" + id;
  REQUIRE(::chmod(path.c_str(), 0600) == 0);  // what an injector under umask 077 used to leave
  auto problems = check::find_problems(q.root);
  REQUIRE(problems.ok());
  const check::Problem* p = find(*problems, check::Kind::mode);
  REQUIRE(p != nullptr);
  CHECK(p->path == "queue/todo/" + id);
  CHECK(p->detail.find("0600") != std::string::npos);
  auto done = check::repair(q.root, *p);
  REQUIRE(done.ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  problems = check::find_problems(q.root);
  REQUIRE(problems.ok());
  CHECK(problems->empty());
}

TEST_CASE("quail check: a live tmp/ file with an old mtime (taken from pool/) is in flight, not debris") {
  TempQueue q("quail-ut-check");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::string name = std::to_string(::getpid()) + "." + std::to_string(now * 1000000000);
  std::string path = q.dirs.tmp() + "/" + name;
  std::ofstream(path) << "being written";
  struct timespec t[2] = {{now - 40 * 3600, 0}, {now - 40 * 3600, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, 0) == 0);
  auto problems = check::find_problems(q.root);
  REQUIRE(problems.ok());
  CHECK(find(*problems, check::Kind::debris) == nullptr);
  // Its birth, the writer's own, is what ages it.
  std::string old_name = std::to_string(::getpid()) + "." + std::to_string((now - 40 * 3600) * 1000000000);
  fs::rename(path, q.dirs.tmp() + "/" + old_name);
  problems = check::find_problems(q.root);
  REQUIRE(problems.ok());
  const check::Problem* p = find(*problems, check::Kind::debris);
  REQUIRE(p != nullptr);
  CHECK(p->detail == "debris: older than 36 hours");
}
