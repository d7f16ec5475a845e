// Unit tests for lib/maildir: unique names, tmp -> new delivery, missing
// directories, and nothing left behind on failure.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <fcntl.h>
#include <unistd.h>

#include "maildir.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/quail-maildir-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A file holding "junk" + message, so offsets are exercised.
int message_file(const fs::path& dir, const std::string& message) {
  std::string p = (dir / "queuefile").string();
  std::ofstream(p, std::ios::binary) << "junk" << message << "envelope-follows";
  return ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
}

size_t count(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("maildir: unique names follow the spec and differ") {
  std::string a = quail::maildir_unique_name(), b = quail::maildir_unique_name();
  CHECK(a != b);
  CHECK(a.find(".M") != std::string::npos);
  CHECK(a.find("P" + std::to_string(::getpid()) + "Q") != std::string::npos);
  CHECK(a.find('/') == std::string::npos);
  CHECK(a.find(':') == std::string::npos);
}

TEST_CASE("maildir: a message lands in new/ with the header lines first, nothing in tmp/") {
  TempDir t;
  fs::path md = t.path / "Maildir";
  for (const char* sub : {"tmp", "new", "cur"}) fs::create_directories(md / sub);
  std::string message = "Subject: hi\n\nbody\n";
  int fd = message_file(t.path, message);
  REQUIRE(fd >= 0);
  auto r = quail::maildir_deliver(md.string(), "Delivered-To: a@example.test\n", {fd, 4, message.size()});
  ::close(fd);
  REQUIRE(r.ok());
  CHECK(fs::path(*r).parent_path() == md / "new");
  CHECK(slurp(*r) == "Delivered-To: a@example.test\n" + message);
  // Named with its POP3 wire size: every LF as CRLF, 4 lines.
  std::string wire = ",W=" + std::to_string(29 + message.size() + 4);
  CHECK(fs::path(*r).filename().string().ends_with(wire));
  CHECK(count(md / "tmp") == 0);
  CHECK(count(md / "new") == 1);
  CHECK((fs::status(*r).permissions() & fs::perms::others_read) == fs::perms::none);
}

TEST_CASE("maildir: a large message is copied whole") {
  TempDir t;
  fs::path md = t.path / "Maildir";
  for (const char* sub : {"tmp", "new", "cur"}) fs::create_directories(md / sub);
  std::string message = "Subject: big\n\n";
  while (message.size() < 300000) message += "0123456789abcdefghijklmnopqrstuvwxyz\n";
  int fd = message_file(t.path, message);
  auto r = quail::maildir_deliver(md.string(), "", {fd, 4, message.size()});
  ::close(fd);
  REQUIRE(r.ok());
  CHECK(slurp(*r) == message);
}

TEST_CASE("maildir: a missing Maildir or subdirectory is not_found and never created") {
  TempDir t;
  std::string message = "x\n";
  int fd = message_file(t.path, message);
  auto r = quail::maildir_deliver((t.path / "Maildir").string(), "", {fd, 4, message.size()});
  CHECK(!r.ok());
  CHECK(r.error().kind == quail::ErrorKind::not_found);
  CHECK(!fs::exists(t.path / "Maildir"));
  fs::create_directories(t.path / "Maildir" / "tmp");
  r = quail::maildir_deliver((t.path / "Maildir").string(), "", {fd, 4, message.size()});
  CHECK(r.error().kind == quail::ErrorKind::not_found);
  ::close(fd);
}

TEST_CASE("maildir: a message shorter than announced leaves no file behind") {
  TempDir t;
  fs::path md = t.path / "Maildir";
  for (const char* sub : {"tmp", "new", "cur"}) fs::create_directories(md / sub);
  std::string message = "short\n";
  int fd = message_file(t.path, message);
  auto r = quail::maildir_deliver(md.string(), "", {fd, 4, 1 << 20});
  ::close(fd);
  CHECK(!r.ok());
  CHECK(count(md / "tmp") == 0);
  CHECK(count(md / "new") == 0);
}

TEST_CASE("maildir: a write error (full disk) leaves nothing in tmp/ or new/") {
  // /dev/full as the message's destination is not possible through
  // maildir_deliver; copy_message reports the write error itself.
  int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) return;
  TempDir t;
  std::string message = "x\n";
  int fd = message_file(t.path, message);
  auto s = quail::copy_message({fd, 4, message.size()}, full, "Delivered-To: a@b\n");
  CHECK(!s.ok());
  CHECK(s.error().kind == quail::ErrorKind::io_write);
  ::close(fd);
  ::close(full);
}

namespace {

// A Maildir with tmp/<name> holding `content`; returns the Maildir's descriptor.
int maildir_with_tmp(const fs::path& md, const std::string& name, const std::string& content) {
  for (const char* sub : {"tmp", "new", "cur"}) fs::create_directories(md / sub);
  std::ofstream(md / "tmp" / name, std::ios::binary) << content;
  return ::open(md.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

}  // namespace

TEST_CASE("maildir: tmp/ -> new/ by rename or by link, leaving nothing in tmp/") {
  for (bool noreplace : {true, false}) {
    TempDir t;
    fs::path md = t.path / "Maildir";
    int fd = maildir_with_tmp(md, "1.M2P3Q4.host", "new message\n");
    REQUIRE(fd >= 0);
    auto s = quail::maildir_publish(fd, "1.M2P3Q4.host", noreplace);
    ::close(fd);
    CHECK(s.ok());
    CHECK(slurp(md / "new" / "1.M2P3Q4.host") == "new message\n");
    CHECK(count(md / "tmp") == 0);
  }
}

TEST_CASE("maildir: a name already in new/ is never replaced: the delivery fails (and defers)") {
  for (bool noreplace : {true, false}) {
    TempDir t;
    fs::path md = t.path / "Maildir";
    int fd = maildir_with_tmp(md, "1.M2P3Q4.host", "new message\n");
    REQUIRE(fd >= 0);
    std::ofstream(md / "new" / "1.M2P3Q4.host", std::ios::binary) << "delivered before\n";
    auto s = quail::maildir_publish(fd, "1.M2P3Q4.host", noreplace);
    ::close(fd);
    REQUIRE(!s.ok());
    CHECK(s.error().kind == quail::ErrorKind::io_write);  // local-deliver: temporary (#4.3.0)
    CHECK(slurp(md / "new" / "1.M2P3Q4.host") == "delivered before\n");
    CHECK(count(md / "new") == 1);
  }
}

TEST_CASE("maildir: a new/ that is a file, or a missing tmp/, is not_found with nothing created") {
  TempDir t;
  fs::path md = t.path / "Maildir";
  fs::create_directories(md / "new");
  std::string message = "x\n";
  int fd = message_file(t.path, message);
  auto r = quail::maildir_deliver(md.string(), "", {fd, 4, message.size()});
  REQUIRE(!r.ok());
  CHECK(r.error().kind == quail::ErrorKind::not_found);
  CHECK(!fs::exists(md / "tmp"));
  CHECK(count(md / "new") == 0);
  fs::create_directories(md / "tmp");
  fs::remove(md / "new");
  std::ofstream(md / "new") << "not a directory";
  r = quail::maildir_deliver(md.string(), "", {fd, 4, message.size()});
  ::close(fd);
  REQUIRE(!r.ok());
  CHECK(r.error().kind == quail::ErrorKind::not_found);
  CHECK(count(md / "tmp") == 0);
}
