// Unit tests for queue-send's disk steps (bin-src/queue-send/store): a journal or
// queue file that cannot be read for a temporary reason fails the load and
// changes nothing, so the D/F records survive and the message is loaded again;
// tmp/ debris is aged by the birth in its name (queue-layout/README.md).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../bin-src/queue-send/store.cpp"
#include "temp_queue.hpp"

namespace fs = std::filesystem;

namespace {

// A committed two-recipient message, taken (S3: mess/ only) unless left in todo/ (and mess/).
std::string two_rcpt_message(TempQueue& q, int64_t& birth, bool to_mess = true) {
  auto w = quail::QueueWriter::create(q.dirs);
  REQUIRE(w.ok());
  std::string id = w->name();
  quail::Envelope env;
  env.sender = "bob@example.test";
  env.recipients = {quail::Recipient{"alice@example.test", "", ""}, quail::Recipient{"carol@example.test", "", ""}};
  REQUIRE(w->append("Subject: x\n\nbody\n").ok());
  REQUIRE(w->commit(env).ok());
  auto qf = quail::read_queue_file(q.dirs.todo() + "/" + id);
  REQUIRE(qf.ok());
  birth = qf->header.birth_ns;
  if (to_mess) fs::remove(q.dirs.todo() + "/" + id);  // taken: only the mess/ name is left
  return id;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The lowest descriptor number open() would return now.
int lowest_free_fd() {
  int fd = ::dup(0);
  REQUIRE(fd >= 0);
  ::close(fd);
  return fd;
}

}  // namespace

TEST_CASE("queue-send store: a journal that cannot be opened (EMFILE) fails the load and keeps its D record") {
  TempQueue q("quail-ut-store");
  int64_t birth = 0;
  std::string id = two_rcpt_message(q, birth);
  std::string journal = q.dirs.stat() + "/" + id;
  std::string text = quail::stat_header_record(birth) + quail::stat_delivered_record(0);
  std::ofstream(journal) << text;
  quail::Store store(q.root);

  struct rlimit saved;
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  struct rlimit tight = saved;
  // Room for the queue file's descriptor, none for the journal's.
  tight.rlim_cur = static_cast<rlim_t>(lowest_free_fd() + 1);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  auto failed = store.load(std::stoull(id), false, false);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind != quail::ErrorKind::format);     // not "corrupt": tried again
  CHECK(failed.error().kind != quail::ErrorKind::not_found);  // not "gone": kept scheduled
  CHECK(slurp(journal) == text);

  // Loaded again once descriptors are free: recipient 0 stays delivered, and a
  // new record goes after the old ones instead of over them.
  auto m = store.load(std::stoull(id), false, false);
  REQUIRE(m.ok());
  CHECK(m->rcpts[0].state == quail::RcptState::delivered);
  CHECK(m->rcpts[1].state == quail::RcptState::pending);
  REQUIRE(store.append_journal(*m, quail::stat_failed_record(1, "no such user (#5.1.1)"), true).ok());
  CHECK(slurp(journal) == text + quail::stat_failed_record(1, "no such user (#5.1.1)"));
}

TEST_CASE("queue-send store: a journal that cannot be read (a directory: EISDIR) leaves the message in todo/") {
  TempQueue q("quail-ut-store");
  int64_t birth = 0;
  std::string id = two_rcpt_message(q, birth, false);
  std::string journal = q.dirs.stat() + "/" + id;
  REQUIRE(::mkdir(journal.c_str(), 0750) == 0);
  quail::Store store(q.root);
  auto failed = store.load(std::stoull(id), true, true);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind != quail::ErrorKind::format);
  CHECK(failed.error().kind != quail::ErrorKind::not_found);
  // Not taken: the retry finds it where it was, and nothing was removed.
  CHECK(fs::exists(q.dirs.todo() + "/" + id));
  CHECK(fs::is_directory(journal));
  REQUIRE(::rmdir(journal.c_str()) == 0);
  auto m = store.load(std::stoull(id), true, true);
  REQUIRE(m.ok());
  CHECK(fs::exists(q.dirs.mess() + "/" + id));
  CHECK_FALSE(fs::exists(q.dirs.todo() + "/" + id));
}

TEST_CASE("queue-send store: a queue file it cannot read fails the load as temporary, never as corrupt") {
  TempQueue q("quail-ut-store");
  int64_t birth = 0;
  std::string id = two_rcpt_message(q, birth, false);
  quail::Store store(q.root);
  struct rlimit saved;
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  struct rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free_fd());  // not even the queue file
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  auto failed = store.load(std::stoull(id), true, true);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind != quail::ErrorKind::format);
  CHECK(failed.error().kind != quail::ErrorKind::not_found);
  CHECK(fs::exists(q.dirs.todo() + "/" + id));
}

TEST_CASE("queue-send store: tmp/ debris is aged by the birth in its name, not by its mtime") {
  TempQueue q("quail-ut-store");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const int64_t old_s = now - 40 * 3600;
  auto make = [&](const std::string& name, int64_t mtime) {
    std::string path = q.dirs.tmp() + "/" + name;
    std::ofstream(path) << "x";
    struct timespec t[2] = {{mtime, 0}, {mtime, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, 0) == 0);
  };
  std::string live = std::to_string(::getpid()) + "." + std::to_string(now * 1000000000);
  std::string dead = std::to_string(::getpid()) + "." + std::to_string(old_s * 1000000000);
  make(live, old_s);  // a file taken from pool/: an old inode being written now
  make(dead, now);    // touched lately, but its writer started 40 hours ago
  make("junk-old", old_s);
  make("junk-new", now);
  quail::Store store(q.root);
  CHECK(store.clean_tmp(36 * 3600) == 2);
  CHECK(fs::exists(q.dirs.tmp() + "/" + live));
  CHECK_FALSE(fs::exists(q.dirs.tmp() + "/" + dead));
  CHECK_FALSE(fs::exists(q.dirs.tmp() + "/junk-old"));
  CHECK(fs::exists(q.dirs.tmp() + "/junk-new"));
}

TEST_CASE("queue-send store: a late todo/ name is dropped only when it names the file mess/ names") {
  TempQueue q("quail-ut-store");
  int64_t birth = 0;
  std::string id = two_rcpt_message(q, birth, false);  // in todo/ and mess/: one file
  quail::Store store(q.root);
  uint64_t n = std::stoull(id);
  auto b = store.todo_birth(n);
  REQUIRE(b.ok());
  CHECK(*b == birth);
  CHECK(store.drop_todo_name(n));
  CHECK_FALSE(fs::exists(q.dirs.todo() + "/" + id));
  CHECK(fs::exists(q.dirs.mess() + "/" + id));
  CHECK_FALSE(store.drop_todo_name(n));  // no todo/ name left

  // Another file under the name (damage): never unlinked as if it were the message.
  std::ofstream(q.dirs.todo() + "/" + id) << "other";
  CHECK_FALSE(store.drop_todo_name(n));
  CHECK(fs::exists(q.dirs.todo() + "/" + id));
  CHECK(store.todo_birth(n).error().kind == quail::ErrorKind::format);
}

TEST_CASE("queue-send store: a hold the envelope asks for applies to a message never taken, not to one in mess/ that was") {
  TempQueue q("quail-ut-store-hold");
  std::string id = q.commit({{"hold", "quarantine"}});
  fs::remove(q.dirs.todo() + "/" + id);  // in mess/ alone: taken, released, or an orphan
  quail::Store store(q.root);
  auto orphan = store.load(std::stoull(id), false, true);  // the walk's orphan: never taken
  REQUIRE(orphan.ok());
  CHECK(orphan->hold_asked);
  auto released = store.load(std::stoull(id), false, false);  // taken (or released from hold/)
  REQUIRE(released.ok());
  CHECK_FALSE(released->hold_asked);
}
