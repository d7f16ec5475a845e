// Unit tests for lib/queue_pool (queue-layout/README.md, "The pool"): queue-send
// parks spent queue files, queue-inject writes over them; nothing unfit is ever used.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "queue_file.hpp"
#include "queue_pool.hpp"
#include "temp_queue.hpp"

using quail::PoolKeeper;
using quail::QueueDirs;

namespace fs = std::filesystem;

namespace {

// A finished queue file in q's mess/, named by its inode as queue-inject names it.
std::string spent(TempQueue& q, const std::string& text) {
  std::string tmp = q.dirs.tmp() + "/spent";
  std::ofstream(tmp) << text;
  std::string path = q.dirs.mess() + "/" + std::to_string(TempQueue::inode(tmp));
  fs::rename(tmp, path);
  return path;
}

std::string tmp_name(const TempQueue& q) { return q.dirs.tmp() + "/taker"; }

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

quail::Envelope one_rcpt() {
  quail::Envelope e;
  e.sender = "bob@example.test";
  e.recipients = {quail::Recipient{"alice@example.test", "", ""}};
  return e;
}

}  // namespace

TEST_CASE("pool: a parked file is taken back with its inode, and queue-inject's next message overwrites it") {
  TempQueue q("quail-ut-pool");
  std::string old_file = spent(q, std::string(3000, '#'));
  ino_t ino = TempQueue::inode(old_file);
  PoolKeeper keeper(q.dirs.pool());
  REQUIRE(keeper.park(old_file, std::to_string(ino)));
  CHECK_FALSE(fs::exists(old_file));
  CHECK(TempQueue::inode(q.dirs.pool() + "/" + std::to_string(ino)) == ino);

  // QueueWriter takes it: the id is the old inode, and no byte of the old file survives.
  auto w = quail::QueueWriter::create(q.dirs);
  REQUIRE(w.ok());
  CHECK(w->name() == std::to_string(ino));
  REQUIRE(w->append("Subject: short\n\nhi\n").ok());
  REQUIRE(w->commit(one_rcpt()).ok());
  CHECK(TempQueue::count(q.dirs.pool()) == 0);
  std::string path = q.dirs.todo() + "/" + w->name();
  auto f = quail::read_queue_file(path);
  REQUIRE(f.ok());
  CHECK(f->header.message_length == 19);
  CHECK(f->envelope.recipients.size() == 1);
  CHECK(read_all(path).find('#') == std::string::npos);
  CHECK(fs::file_size(path) < 200);
}

TEST_CASE("pool: an empty or missing pool/ gives nothing, and queue-inject creates a file as before") {
  TempQueue q("quail-ut-pool");
  off_t old = -1;
  CHECK_FALSE(quail::take_pooled_file(q.dirs.pool(), tmp_name(q), 1, old).valid());
  fs::remove(q.dirs.pool());
  CHECK_FALSE(quail::take_pooled_file(q.dirs.pool(), tmp_name(q), 1, old).valid());
  auto w = quail::QueueWriter::create(q.dirs);
  REQUIRE(w.ok());
  REQUIRE(w->append("Subject: a\n\nb\n").ok());
  REQUIRE(w->commit(one_rcpt()).ok());
  // queue-send of a queue made before the pool existed unlinks as it always did.
  PoolKeeper keeper(q.dirs.pool());
  std::string old_file = spent(q, "old");
  CHECK_FALSE(keeper.park(old_file, "1"));
}

TEST_CASE("pool: unfit entries are removed by name and never written through") {
  TempQueue q("quail-ut-pool");
  std::string outside = q.root + "/victim";
  std::ofstream(outside) << "keep me";
  std::string pool = q.dirs.pool();
  off_t old = 0;

  SUBCASE("a symlink") { fs::create_symlink(outside, pool + "/12345"); }
  SUBCASE("a second name of a live file") { fs::create_hard_link(outside, pool + "/12345"); }
  SUBCASE("a FIFO: no blocking open") { REQUIRE(::mkfifo((pool + "/12345").c_str(), 0600) == 0); }
  SUBCASE("a directory") { fs::create_directory(pool + "/12345"); }

  quail::Fd fd = quail::take_pooled_file(pool, tmp_name(q), 7, old);
  CHECK_FALSE(fd.valid());
  CHECK(read_all(outside) == "keep me");
  CHECK(fs::exists(outside));
  CHECK(TempQueue::count(pool) == 0);
}

TEST_CASE("pool: names that are not queue ids are left alone") {
  TempQueue q("quail-ut-pool");
  std::ofstream(q.dirs.pool() + "/notes.txt") << "admin's file";
  off_t old = 0;
  CHECK_FALSE(quail::take_pooled_file(q.dirs.pool(), tmp_name(q), 3, old).valid());
  CHECK(fs::exists(q.dirs.pool() + "/notes.txt"));
}

// Which files are small enough is queue-send's decision (it knows their sizes): e2e 22.
TEST_CASE("pool: a full pool refuses, then counts again") {
  TempQueue q("quail-ut-pool");
  PoolKeeper keeper(q.dirs.pool());

  for (size_t i = 0; i < quail::pool_max_files; ++i) {
    std::string s = spent(q, "s");
    REQUIRE(keeper.park(s, std::to_string(TempQueue::inode(s))));
  }
  CHECK(TempQueue::count(q.dirs.pool()) == quail::pool_max_files);
  std::string one_more = spent(q, "s");
  CHECK_FALSE(keeper.park(one_more, std::to_string(TempQueue::inode(one_more))));

  // Injections take files meanwhile; the keeper notices once its refusals run out.
  for (const auto& e : fs::directory_iterator(q.dirs.pool())) fs::remove(e.path());
  size_t refused = 0;
  while (!keeper.park(one_more, std::to_string(TempQueue::inode(one_more)))) {
    ++refused;
    REQUIRE(refused <= quail::pool_max_files);
  }
  CHECK(refused == quail::pool_max_files);
  CHECK(TempQueue::count(q.dirs.pool()) == 1);
}

TEST_CASE("pool: a taken file gets mode 0640 and a fresh mtime, whatever the umask and the parked file had") {
  TempQueue q("quail-ut-pool");
  std::string old_file = spent(q, std::string(500, '#'));
  ::chmod(old_file.c_str(), 0600);  // parked by an injector that ran under umask 077
  struct timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};  // 2001: decades old
  REQUIRE(::utimensat(AT_FDCWD, old_file.c_str(), old_times, 0) == 0);
  ino_t ino = TempQueue::inode(old_file);
  PoolKeeper keeper(q.dirs.pool());
  REQUIRE(keeper.park(old_file, std::to_string(ino)));
  mode_t old_mask = ::umask(077);
  auto w = quail::QueueWriter::create(q.dirs);
  ::umask(old_mask);
  REQUIRE(w.ok());
  REQUIRE(w->name() == std::to_string(ino));
  auto names = std::vector<fs::path>(fs::directory_iterator(q.dirs.tmp()), fs::directory_iterator());
  REQUIRE(names.size() == 1);
  struct stat st;
  REQUIRE(::stat(names[0].c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == quail::queue_file_mode);
  CHECK(st.st_mtime > std::time(nullptr) - 3600);  // not 36-hour debris while it is written
  REQUIRE(w->append("Subject: x\n\nbody\n").ok());
  REQUIRE(w->commit(one_rcpt()).ok());
  REQUIRE(::stat((q.dirs.todo() + "/" + std::to_string(ino)).c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
}
