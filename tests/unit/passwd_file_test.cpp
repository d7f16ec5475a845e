// Unit tests for lib/passwd_file: the strict passwd(5) reader that replaces
// getpwnam/getpwuid in the static programs.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "passwd_file.hpp"

namespace fs = std::filesystem;
using quail::PasswdEntry;
using quail::PasswdFile;
using quail::PasswdLine;

namespace {

const char* const sample =
    "root:x:0:0:root:/root:/bin/bash\n"
    "# a comment\n"
    "\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice A,,,:/home/alice:/bin/sh\n"
    "alice:x:1999:1999:second alice:/home/alice2:/bin/sh\n"
    "+bob\n"
    "-carol\n"
    "+::::::\n"
    "nohome:*:1001:100:::\n"
    "last:x:1002:1002::/home/last:/bin/sh";  // no final LF

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/quail-passwd-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path / name, std::ios::binary) << text;
    return (path / name).string();
  }
};

// A cached lookup that must succeed.
std::optional<PasswdEntry> named(const std::string& name, const std::string& path) {
  auto r = quail::passwd_by_name(name, path);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("passwd: entries by name and uid, the first well-formed line wins") {
  PasswdFile f(sample);
  auto a = f.by_name("alice");
  REQUIRE(a);
  CHECK(*a == PasswdEntry{"alice", 1000, 1000, "Alice A,,,", "/home/alice", "/bin/sh"});
  CHECK(f.by_uid(1999)->gecos == "second alice");
  CHECK(f.by_uid(1000)->name == "alice");
  CHECK(f.by_name("root")->uid == 0);  // the reader reports uid 0; refusing it is the caller's rule
  CHECK(f.by_name("nohome")->dir.empty());
  CHECK(f.by_name("last")->shell == "/bin/sh");
  CHECK(f.by_uid(1002)->name == "last");
  CHECK(!f.by_name("ali"));
  CHECK(!f.by_name("alice:x"));
  CHECK(!f.by_name(""));
  CHECK(!f.by_name("Alice"));  // login names are case-sensitive, as in getpwnam
  CHECK(!f.by_uid(4242));
  CHECK(f.entries().size() == 6);
  CHECK(f.malformed_lines().empty());
}

TEST_CASE("passwd: from the second lookup on, a file answers from its index exactly as its scan does") {
  // The first lookup of a PasswdFile scans; later ones use the index that the
  // second builds. Each answer of a warmed file is compared with a fresh file's.
  const std::string texts[] = {
      sample,
      "alice:x:1000:1000::/home/bad\nalice:x:1001:1001::/home/alice:/bin/sh\nbob:x:1001:5::/home/bob:/bin/sh\n",
      "+alice:x:7:7::/:\nalice:x:1000:1000::home/rel:/bin/sh\nalice:x:8:8::/a:/bin/sh\nalice:x:9:9::/b:/bin/sh",
      "",
  };
  const std::string names[] = {"alice", "bob", "root", "nohome", "last", "ali", "alice:x", "", "+alice", "Alice"};
  const uid_t uids[] = {0, 1, 5, 7, 8, 9, 1000, 1001, 1002, 1999, 4242};
  for (const auto& text : texts) {
    CAPTURE(text);
    PasswdFile warmed(text);
    (void)warmed.by_uid(4242);
    (void)warmed.by_name("nobody-at-all");
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& name : names) {
        CAPTURE(name);
        CHECK(warmed.by_name(name) == PasswdFile(text).by_name(name));
      }
      for (uid_t uid : uids) {
        CAPTURE(uid);
        CHECK(warmed.by_uid(uid) == PasswdFile(text).by_uid(uid));
      }
    }
  }
  PasswdFile f(sample);
  (void)f.by_uid(0);
  CHECK(f.by_uid(1999)->gecos == "second alice");  // from the index now
  CHECK(f.by_name("alice")->uid == 1000);
  CHECK(f.by_uid(1002)->name == "last");
  CHECK(!f.by_uid(4242));
}

TEST_CASE("passwd: NIS compat lines, comments and blank lines are ignored, not malformed") {
  PasswdFile f("+bob:x:5:5::/home/bob:/bin/sh\n-carol\n#x:x:1:1::/:\n   \n\t\n+\n");
  CHECK(!f.by_name("bob"));
  CHECK(!f.by_name("+bob"));
  CHECK(!f.by_name("carol"));
  CHECK(!f.by_name("#x"));
  CHECK(f.entries().empty());
  CHECK(f.malformed_lines().empty());
}

TEST_CASE("passwd: a malformed line never matches and never hides a later valid one") {
  const std::string bad[] = {
      "alice:x:1000:1000::/home/bad",                  // six fields
      "alice:x:1000:1000::/home/bad:/bin/sh:extra",    // eight fields
      "alice:x:10a0:1000::/home/bad:/bin/sh",          // uid not a number
      "alice:x:-1:1000::/home/bad:/bin/sh",            // negative
      "alice:x:+5:1000::/home/bad:/bin/sh",            // signed
      "alice:x::1000::/home/bad:/bin/sh",              // empty uid
      "alice:x:1000: 1000::/home/bad:/bin/sh",         // space in gid
      "alice:x:4294967295:1000::/home/bad:/bin/sh",    // (uid_t)-1
      "alice:x:99999999999:1000::/home/bad:/bin/sh",   // overflow
      "alice:x:1000:1000::home/bad:/bin/sh",           // relative home
      "alice:x:1000:1000::/home/bad:/bin/sh\r",        // a CRLF file
      std::string("alice:x:1000:1000::/home/b\0d:/bin/sh", 36),  // NUL
      "alice:x:1000:1000:tab\there:/home/bad:/bin/sh", // control character
      " alice:x:1000:1000::/home/bad:/bin/sh",         // leading space
      "alice :x:1000:1000::/home/bad:/bin/sh",         // space in name
      ":x:1000:1000::/home/bad:/bin/sh",               // empty name
  };
  for (const auto& line : bad) {
    CAPTURE(line);
    PasswdEntry e;
    CHECK(quail::parse_passwd_line(line, &e) == PasswdLine::malformed);
    PasswdFile f(line + "\nalice:x:1001:1001::/home/alice:/bin/sh\n");
    auto a = f.by_name("alice");
    REQUIRE(a);
    CHECK(a->dir == "/home/alice");
    CHECK(!f.by_uid(1000));
    CHECK(f.malformed_lines() == std::vector<size_t>{1});
    CHECK(PasswdFile(line).entries().empty());
  }
}

TEST_CASE("passwd: ids up to 2^32 - 2 and leading zeros read as decimal") {
  PasswdEntry e;
  REQUIRE(quail::parse_passwd_line("big:x:4294967294:0100::/:", &e) == PasswdLine::entry);
  CHECK(e.uid == 4294967294u);
  CHECK(e.gid == 100);
  CHECK(e.shell.empty());
}

TEST_CASE("passwd: reading a file; a missing one is a temporary error") {
  TempDir d;
  auto f = PasswdFile::read(d.write("passwd", std::string(sample) + "\n"));  // a file on disk ends its last line
  REQUIRE(f.ok());
  CHECK(f->by_name("last"));
  auto missing = PasswdFile::read((d.path / "nope").string());
  REQUIRE(!missing.ok());
  CHECK(missing.error().kind == quail::ErrorKind::temporary);
  // An empty file is read as one being rewritten (the test below): never "no logins".
  auto lookup = quail::passwd_by_name("alice", (d.path / "nope").string());
  CHECK(!lookup.ok());
}

TEST_CASE("passwd: the per-process copy follows the file when it changes") {
  TempDir d;
  std::string path = d.write("passwd", "alice:x:1000:1000::/home/alice:/bin/sh\n");
  auto a = quail::passwd_by_name("alice", path);
  REQUIRE(a.ok());
  REQUIRE(*a);
  CHECK((*a)->uid == 1000);
  CHECK(!named("bob", path));
  // Replaced by rename, as useradd and vipw do.
  std::string next = d.write("passwd.new", "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n");
  fs::rename(next, path);
  auto b = quail::passwd_by_name("bob", path);
  REQUIRE(b.ok());
  REQUIRE(*b);
  CHECK(quail::passwd_by_uid(1001, path).value()->name == "bob");
  // Rewritten in place with the same size: the mtime tells.
  {
    std::ofstream(path, std::ios::binary) << "alice:x:1000:1000::/home/alice:/bin/sh\ncarl:x:1002:1002::/home/bob:/bin/sh\n";
  }
  struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  CHECK(!named("bob", path));
  CHECK(named("carl", path));
  // Another path is another file.
  std::string other = d.write("other", "zed:x:7:7::/:/bin/sh\n");
  CHECK(named("zed", other));
  CHECK(!named("zed", path));
}

TEST_CASE("passwd: the system file reads like getpwnam for the logins it lists") {
  auto root = quail::passwd_by_name("root");
  REQUIRE(root.ok());
  if (*root) CHECK((*root)->uid == 0);
}

TEST_CASE("passwd: uids and gids at and past INT64_MAX and UINT64_MAX are refused, never wrapped") {
  uint32_t id = 0;
  CHECK(quail::parse_id("4294967294", id));
  CHECK(id == 4294967294u);
  CHECK(quail::parse_id("0001000", id));
  CHECK(id == 1000);
  // (uid_t)-1 means "none"; 2^32 + 1000 would be 1000 in a reader that wraps.
  for (const char* n : {"4294967295", "4294968296", "9223372036854775807", "9223372036854775808",
                        "18446744073709551615", "18446744073709551616", "123456789012345678901234", "", "-1", "+1"}) {
    CAPTURE(std::string(n));
    CHECK_FALSE(quail::parse_id(n, id));
  }
}

TEST_CASE("passwd: a file read half-written (empty, or ending mid-line) is a temporary error, never fewer logins") {
  TempDir d;
  auto empty = PasswdFile::read(d.write("empty", ""));
  REQUIRE_FALSE(empty);
  CHECK(empty.error().kind == quail::ErrorKind::temporary);
  auto cut = PasswdFile::read(d.write("cut", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:10"));
  REQUIRE_FALSE(cut);
  CHECK(cut.error().kind == quail::ErrorKind::temporary);
  CHECK(cut.error().reason.find("middle of a line") != std::string::npos);
  CHECK(PasswdFile::read(d.write("whole", "root:x:0:0:root:/root:/bin/bash\n")));
}
