// Unit tests for lib/durable: write_file_durable replaces a file atomically (a new
// inode renamed over the old name) and TempFile removes itself unless committed.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.hpp"

using quail::ErrorKind;
using quail::TempFile;
using quail::write_file_durable;

namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/quail-ut-durable-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  size_t count() const {
    size_t n = 0;
    for (auto it = fs::directory_iterator(path); it != fs::directory_iterator(); ++it) ++n;
    return n;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("durable: write_file_durable creates the file with its data and mode") {
  TempDir d;
  std::string p = d.path + "/users.cdb";
  std::string data("binary\0data\n", 12);
  REQUIRE(write_file_durable(p, data, 0640).ok());
  CHECK(slurp(p) == data);
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0640 & ~0022 & 0777));  // the umask still applies
  CHECK(d.count() == 1);  // no .tmp left behind
}

TEST_CASE("durable: write_file_durable replaces atomically: readers of the old file keep the old data") {
  TempDir d;
  std::string p = d.path + "/control";
  REQUIRE(write_file_durable(p, "old contents\n").ok());
  std::ifstream old_reader(p, std::ios::binary);  // opened before the replacement
  struct stat before;
  REQUIRE(::stat(p.c_str(), &before) == 0);
  REQUIRE(write_file_durable(p, "new\n").ok());
  struct stat after;
  REQUIRE(::stat(p.c_str(), &after) == 0);
  CHECK(before.st_ino != after.st_ino);  // a rename of a new file, not an overwrite in place
  CHECK(slurp(p) == "new\n");
  std::string seen(std::istreambuf_iterator<char>(old_reader), {});
  CHECK(seen == "old contents\n");
  CHECK(d.count() == 1);
}

TEST_CASE("durable: a stale .tmp from a crashed writer does not block the next write") {
  TempDir d;
  std::string p = d.path + "/file";
  std::ofstream(p + ".tmp") << "debris of a crash";
  REQUIRE(write_file_durable(p, "fresh").ok());
  CHECK(slurp(p) == "fresh");
  CHECK_FALSE(fs::exists(p + ".tmp"));
}

TEST_CASE("durable: write_file_durable into a missing directory fails and creates nothing") {
  TempDir d;
  auto s = write_file_durable(d.path + "/missing/file", "x");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().reason.find("unable to") == 0);
  CHECK(d.count() == 0);
}

TEST_CASE("durable: a TempFile that is not committed unlinks itself") {
  TempDir d;
  std::string p = d.path + "/tmpfile";
  {
    auto t = TempFile::create(p);
    REQUIRE(t.ok());
    CHECK(t->path() == p);
    REQUIRE(t->write("half written").ok());
    CHECK(fs::exists(p));
  }
  CHECK_FALSE(fs::exists(p));
}

TEST_CASE("durable: a committed TempFile is renamed to its destination") {
  TempDir d;
  std::string p = d.path + "/x.tmp", dest = d.path + "/x";
  {
    auto t = TempFile::create(p, 0600);
    REQUIRE(t.ok());
    REQUIRE(t->write("one ").ok());
    REQUIRE(t->write("two").ok());
    REQUIRE(t->commit_to(dest).ok());
    CHECK(t->path() == dest);
  }
  CHECK_FALSE(fs::exists(p));
  CHECK(slurp(dest) == "one two");  // and the destructor did not remove it
}

TEST_CASE("durable: keep() leaves the TempFile where it is") {
  TempDir d;
  std::string p = d.path + "/kept";
  {
    auto t = TempFile::create(p);
    REQUIRE(t.ok());
    t->keep();
  }
  CHECK(fs::exists(p));
}

TEST_CASE("durable: TempFile creation is exclusive") {
  TempDir d;
  std::string p = d.path + "/excl";
  auto a = TempFile::create(p);
  REQUIRE(a.ok());
  auto b = TempFile::create(p);
  REQUIRE_FALSE(b.ok());
  CHECK(fs::exists(p));  // the failed create did not remove a's file
}

TEST_CASE("durable: a moved TempFile is unlinked once, by its new owner") {
  TempDir d;
  std::string p1 = d.path + "/one", p2 = d.path + "/two";
  {
    auto a = TempFile::create(p1);
    REQUIRE(a.ok());
    TempFile moved(std::move(*a));
    CHECK(moved.path() == p1);
    auto b = TempFile::create(p2);
    REQUIRE(b.ok());
    moved = std::move(*b);  // p1 is abandoned: removed now
    CHECK_FALSE(fs::exists(p1));
    CHECK(fs::exists(p2));
  }
  CHECK_FALSE(fs::exists(p2));
}

TEST_CASE("durable: fsync_dir of a missing directory is an error") {
  TempDir d;
  CHECK(quail::fsync_dir(d.path).ok());
  auto s = quail::fsync_dir(d.path + "/nope");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::not_found);
}

TEST_CASE("durable: dir_of gives the directory part of a path") {
  CHECK(quail::dir_of("/a/b/c") == "/a/b");
  CHECK(quail::dir_of("a/b") == "a");
  CHECK(quail::dir_of("file") == ".");
  CHECK(quail::dir_of("/file") == "/");
}

TEST_CASE("durable: write_file_durable gives the mode asked for, not what a umask of 077 leaves") {
  std::string dir = "/tmp/quail-ut-durable-umask-XXXXXX";
  REQUIRE(::mkdtemp(dir.data()) != nullptr);
  mode_t old_mask = ::umask(077);
  auto s = quail::write_file_durable(dir + "/table", "data", 0644);
  ::umask(old_mask);
  REQUIRE(s.ok());
  struct stat st;
  REQUIRE(::stat((dir + "/table").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  std::filesystem::remove_all(dir);
}
