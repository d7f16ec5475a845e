// Unit tests for lib/local_lookup: qmail's resolution of local addresses over a
// temp root (users.cdb, aliases.cdb, homes with .qmail files).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <ctime>
#include <unistd.h>

#include "address.hpp"
#include "cdb.hpp"
#include "home_table.hpp"
#include "local_lookup.hpp"

namespace fs = std::filesystem;
using quail::LocalTarget;
using quail::TargetKind;

namespace {

struct Root {
  fs::path path;
  quail::LocalConfig cfg;
  Root(bool system = false) {
    char tmpl[] = "/tmp/quail-lookup-test.XXXXXX";
    path = ::mkdtemp(tmpl);
    for (const char* d : {"control", "users", "mail/example.test/alice", "mail/example.test/bob-smith",
                          "mail/example.test/carol", "mail/example.test/dave", "mail/postmaster"}) {
      fs::create_directories(path / d);
    }
    write("control/me", "mx.example.test\n");
    write("control/virtualdomains", "example.test\n");
    write("control/locals", "Other.Test\nsys.test\n");
    write("control/system", system ? "1\n" : "0\n");
    REQUIRE(quail::build_cdb((path / "users/users.cdb").string(),
                             {{"alice@example.test", "$argon2id$x"},
                              {"bob-smith@example.test", "$argon2id$y"},
                              {"carol@example.test", "!$argon2id$z"},
                              {"dave@example.test", "$argon2id$w"},
                              {"erin@other.test", "$argon2id$v"}})
                .ok());
    REQUIRE(quail::build_cdb((path / "users/aliases.cdb").string(),
                             {{"root", "alice@example.test"},
                              {"sales@example.test", "bob-smith@example.test\n|/bin/true"},
                              {"dave", "\\dave"}})
                .ok());
    auto c = quail::load_local_config(path.string());
    REQUIRE(c.ok());
    cfg = *c;
  }
  ~Root() { fs::remove_all(path); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(path / rel) << text; }
  std::string home(const std::string& user) { return (path / "mail/example.test" / user).string(); }
  std::optional<LocalTarget> find(const std::string& addr) {
    auto a = quail::parse_address(addr);
    REQUIRE(a.ok());
    auto r = quail::lookup_local(cfg, *a);
    REQUIRE(r.ok());
    return *r;
  }
};

}  // namespace

TEST_CASE("lookup: the config reads lists lowercased and is_local_domain uses both") {
  Root r;
  CHECK(r.cfg.me == "mx.example.test");
  CHECK(quail::is_local_domain(r.cfg, "example.test"));
  CHECK(quail::is_local_domain(r.cfg, "OTHER.test"));
  CHECK(!quail::is_local_domain(r.cfg, "elsewhere.test"));
  CHECK(!r.cfg.system);
}

TEST_CASE("lookup: a malformed control file is a config error") {
  Root r;
  r.write("control/virtualdomains", "not a domain!\n");
  auto c = quail::load_local_config(r.path.string());
  REQUIRE(!c.ok());
  CHECK(c.error().kind == quail::ErrorKind::config);
}

TEST_CASE("lookup: a virtual user without .qmail gets the default delivery") {
  Root r;
  auto t = r.find("alice@example.test");
  REQUIRE(t);
  CHECK(t->kind == TargetKind::virtual_user);
  CHECK(t->user == "alice@example.test");
  CHECK(t->local == "alice");
  CHECK(t->ext.empty());
  CHECK(t->home == r.home("alice"));
  CHECK(t->dotqmail.empty());
  CHECK(t->forward.empty());
  CHECK(t->uid == ::getuid());
}

TEST_CASE("lookup: case does not matter") {
  Root r;
  auto t = r.find("ALICE@Example.TEST");
  REQUIRE(t);
  CHECK(t->user == "alice@example.test");
  CHECK(t->local == "alice");
}

TEST_CASE("lookup: .qmail wins over .forward, .forward over the default") {
  Root r;
  r.write("mail/example.test/alice/.forward", "bob@example.test\n");
  auto t = r.find("alice@example.test");
  REQUIRE(t);
  CHECK(t->dotqmail.empty());
  CHECK(t->forward == r.home("alice") + "/.forward");
  r.write("mail/example.test/alice/.qmail", "./Maildir/\n");
  t = r.find("alice@example.test");
  REQUIRE(t);
  CHECK(t->dotqmail == r.home("alice") + "/.qmail");
  CHECK(t->forward.empty());
}

TEST_CASE("lookup: an extension without a .qmail file does not exist") {
  Root r;
  CHECK(!r.find("alice-foo@example.test"));
  r.write("mail/example.test/alice/.qmail", "./Maildir/\n");
  CHECK(!r.find("alice-foo@example.test"));
}

TEST_CASE("lookup: extensions follow qmail's order of .qmail files") {
  Root r;
  r.write("mail/example.test/alice/.qmail-foo", "./Maildir/\n");
  auto t = r.find("alice-foo@example.test");
  REQUIRE(t);
  CHECK(t->ext == "foo");
  CHECK(t->local == "alice-foo");
  CHECK(t->dotqmail == r.home("alice") + "/.qmail-foo");
  CHECK(t->default_part.empty());
  CHECK(!r.find("alice-foo-bar@example.test"));

  r.write("mail/example.test/alice/.qmail-foo-default", "./Maildir/\n");
  t = r.find("alice-foo-bar-baz@example.test");
  REQUIRE(t);
  CHECK(t->ext == "foo-bar-baz");
  CHECK(t->dotqmail == r.home("alice") + "/.qmail-foo-default");
  CHECK(t->default_part == "bar-baz");

  r.write("mail/example.test/alice/.qmail-foo-bar-default", "./Maildir/\n");
  t = r.find("alice-foo-bar-baz@example.test");
  REQUIRE(t);
  CHECK(t->dotqmail == r.home("alice") + "/.qmail-foo-bar-default");
  CHECK(t->default_part == "baz");

  CHECK(!r.find("alice-other@example.test"));
  r.write("mail/example.test/alice/.qmail-default", "./Maildir/\n");
  t = r.find("alice-Other-Thing@example.test");
  REQUIRE(t);
  CHECK(t->dotqmail == r.home("alice") + "/.qmail-default");
  CHECK(t->default_part == "other-thing");
  // The exact file still wins over every -default.
  t = r.find("alice-foo@example.test");
  REQUIRE(t);
  CHECK(t->dotqmail == r.home("alice") + "/.qmail-foo");
}

TEST_CASE("lookup: extension file names are lowercased, dots become colons") {
  Root r;
  r.write("mail/example.test/alice/.qmail-news:letter", "./Maildir/\n");
  auto t = r.find("alice-News.Letter@example.test");
  REQUIRE(t);
  CHECK(t->dotqmail == r.home("alice") + "/.qmail-news:letter");
  CHECK(t->ext == "news.letter");
}

TEST_CASE("lookup: an extension with a slash never names a file") {
  Root r;
  r.write("mail/example.test/alice/.qmail-default", "./Maildir/\n");
  CHECK(!r.find("alice-a/b@example.test"));
}

TEST_CASE("lookup: the longest user name with a dash wins") {
  Root r;
  auto t = r.find("bob-smith@example.test");
  REQUIRE(t);
  CHECK(t->user == "bob-smith@example.test");
  CHECK(t->ext.empty());
  r.write("mail/example.test/bob-smith/.qmail-lists", "./Maildir/\n");
  t = r.find("bob-smith-lists@example.test");
  REQUIRE(t);
  CHECK(t->user == "bob-smith@example.test");
  CHECK(t->ext == "lists");
  CHECK(!r.find("bob@example.test"));
}

TEST_CASE("lookup: a disabled user does not exist, extensions included") {
  Root r;
  r.write("mail/example.test/carol/.qmail-default", "./Maildir/\n");
  CHECK(!r.find("carol@example.test"));
  CHECK(!r.find("carol-x@example.test"));
}

TEST_CASE("lookup: unknown users and foreign domains do not exist") {
  Root r;
  CHECK(!r.find("nobody@example.test"));
  CHECK(!r.find("alice@elsewhere.test"));
  CHECK(!r.find("alice@other.test"));  // users are per domain
}

TEST_CASE("lookup: locals in a single-user instance are virtual domains") {
  Root r;
  auto t = r.find("erin@other.test");
  REQUIRE(t);
  CHECK(t->kind == TargetKind::virtual_user);
  CHECK(t->home == (r.path / "mail/other.test/erin").string());
}

TEST_CASE("lookup: aliases come before users, domain-specific before bare") {
  Root r;
  auto t = r.find("root@example.test");
  REQUIRE(t);
  CHECK(t->kind == TargetKind::alias);
  CHECK(t->user == "root");
  CHECK(t->alias_targets == std::vector<std::string>{"alice@example.test"});
  t = r.find("root@other.test");  // a bare alias applies to every local domain
  REQUIRE(t);
  CHECK(t->kind == TargetKind::alias);

  t = r.find("sales@example.test");
  REQUIRE(t);
  CHECK(t->user == "sales@example.test");
  CHECK(t->alias_targets == std::vector<std::string>{"bob-smith@example.test", "|/bin/true"});
  CHECK(!r.find("sales@other.test"));

  t = r.find("dave@example.test");
  REQUIRE(t);
  CHECK(t->kind == TargetKind::alias);
  auto a = quail::parse_address("dave@example.test");
  auto u = quail::lookup_local_user(r.cfg, *a);
  REQUIRE(u.ok());
  REQUIRE(*u);
  CHECK((*u)->kind == TargetKind::virtual_user);
}

TEST_CASE("lookup: postmaster exists at every local domain") {
  Root r;
  for (const char* addr : {"postmaster@example.test", "Postmaster@other.test", "postmaster@sys.test"}) {
    CAPTURE(std::string(addr));
    auto t = r.find(addr);
    REQUIRE(t);
    CHECK(t->kind == TargetKind::postmaster);
    CHECK(t->home == (r.path / "mail/postmaster").string());
  }
  CHECK(!r.find("postmaster-x@example.test"));
  CHECK(!r.find("postmaster@elsewhere.test"));
}

TEST_CASE("lookup: missing tables mean no users and no aliases") {
  Root r;
  fs::remove(r.path / "users/users.cdb");
  fs::remove(r.path / "users/aliases.cdb");
  CHECK(!r.find("alice@example.test"));
  CHECK(!r.find("root@example.test"));
  CHECK(r.find("postmaster@example.test"));
}

TEST_CASE("lookup: a damaged table is a temporary error, never 'no such user'") {
  Root r;
  r.write("users/users.cdb", "garbage");
  auto a = quail::parse_address("alice@example.test");
  auto t = quail::lookup_local(r.cfg, *a);
  REQUIRE(!t.ok());
  CHECK(t.error().kind == quail::ErrorKind::temporary);
}

TEST_CASE("lookup: system accounts are no mailboxes (uid under minuid, home not their own)") {
  // Issue 9 item 7: daemon (uid 1, home /usr/sbin owned by root) passed RCPT and
  // then deferred for a week; now it is no mailbox, whatever control/minuid says.
  Root r(true);
  CHECK(r.cfg.minuid == 1000);
  struct passwd* pw = ::getpwnam("daemon");
  if (!pw || pw->pw_uid == 0) return;
  CHECK(!r.find("daemon@sys.test"));
  r.cfg.minuid = 1;
  struct stat st;
  if (::stat(pw->pw_dir, &st) == 0 && st.st_uid != pw->pw_uid) CHECK(!r.find("daemon@sys.test"));
  CHECK(r.find("root@sys.test").has_value());  // the bare alias "root" applies
  fs::remove(r.path / "users/aliases.cdb");
  CHECK(!r.find("root@sys.test"));            // uid 0 never receives mail itself
  CHECK(!r.find("no-such-login-here@sys.test"));
  // Virtual users of a domain in virtualdomains stay virtual.
  CHECK(r.find("alice@example.test")->kind == TargetKind::virtual_user);
}

namespace {

// A passwd file of test logins whose homes they own: as root the homes are
// chowned to uid 1001 and up; otherwise the logins take the runner's uid.
struct Logins {
  Root& r;
  uid_t uid;
  std::string home;
  explicit Logins(Root& root) : r(root), uid(::getuid() == 0 ? 1001 : ::getuid()), home((root.path / "home").string()) {
    fs::create_directories(r.path / "home/sam");
    fs::create_directories(r.path / "home/root");
    fs::create_directories(r.path / "home/low");
    r.write("home/sam/.qmail-lists-default", "./Maildir/\n");
    r.write("home/file", "not a directory\n");
    if (::getuid() == 0) {
      REQUIRE(::chown((r.path / "home/sam").c_str(), uid, 1002) == 0);
      REQUIRE(::chown((r.path / "home/low").c_str(), 999, 999) == 0);
    }
    const std::string u = std::to_string(uid);
    r.write("passwd", "toor:x:0:0::" + home + "/root:/bin/sh\n"
                      "sam:x:1000:1000:broken line:" + home + "/root\n"
                      "sam:x:" + u + ":1002::" + home + "/sam:/bin/sh\n"
                      "filer:x:" + u + ":1003::" + home + "/file:/bin/sh\n"
                      "gone:x:" + u + ":1004::" + home + "/gone:/bin/sh\n"
                      "+nis:x:1005:1005::" + home + "/sam:/bin/sh\n"
                      "stranger:x:" + std::to_string(uid + 7) + ":1006::" + home + "/sam:/bin/sh\n"
                      "low:x:999:999::" + home + "/low:/bin/sh\n");
    r.cfg.passwd = (r.path / "passwd").string();
    r.cfg.minuid = 1000;
  }
  // Sets the home's modification time `ago` seconds back (the table trusts only settled homes).
  void age(const std::string& user, int ago) {
    struct timespec t[2];
    ::clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= ago;
    t[1] = t[0];
    REQUIRE(::utimensat(AT_FDCWD, (r.path / "home" / user).c_str(), t, 0) == 0);
  }
};

}  // namespace

TEST_CASE("lookup: system users come from the passwd file itself, never from NSS") {
  Root r(true);
  Logins l(r);
  auto t = r.find("sam@sys.test");
  REQUIRE(t);
  CHECK(t->kind == TargetKind::system_user);
  CHECK(t->home == l.home + "/sam");  // the malformed line before it neither matches nor hides it
  CHECK(t->uid == l.uid);
  CHECK(t->gid == 1002);
  auto ext = r.find("sam-lists-quail@sys.test");
  REQUIRE(ext);
  CHECK(ext->user == "sam");
  CHECK(ext->default_part == "quail");
  CHECK(!r.find("sam-other@sys.test"));   // an extension without a .qmail file
  CHECK(!r.find("toor@sys.test"));        // uid 0, whatever its name
  CHECK(!r.find("filer@sys.test"));       // home is not a directory
  CHECK(!r.find("gone@sys.test"));        // home does not exist
  CHECK(!r.find("stranger@sys.test"));    // home belongs to another uid
  CHECK(!r.find("low@sys.test"));         // uid under control/minuid
  CHECK(!r.find("+nis@sys.test"));
  CHECK(!r.find("daemon@sys.test"));      // in /etc/passwd, not in this file
  // An unreadable passwd file defers: it is never "no such user".
  r.cfg.passwd = (r.path / "no-passwd").string();
  auto a = quail::parse_address("sam@sys.test");
  auto missing = quail::lookup_local(r.cfg, *a);
  REQUIRE(!missing.ok());
  CHECK(missing.error().kind == quail::ErrorKind::temporary);
}

TEST_CASE("lookup: through the home table, extensions are decided by root's listing and never refused while stale") {
  // Issue 9 item 6: smtpd may not enter 0700/0750 homes; it reads users/homes.cdb.
  Root r(true);
  Logins l(r);
  r.cfg.homes = quail::HomeAccess::table;
  auto lookup = [&](const std::string& addr) {
    auto a = quail::parse_address(addr);
    REQUIRE(a.ok());
    return quail::lookup_local(r.cfg, *a);
  };
  // No table yet: the login itself is a mailbox; its extensions wait (451), never 550.
  CHECK(r.find("sam@sys.test"));
  auto early = lookup("sam-lists-x@sys.test");
  REQUIRE(!early.ok());
  CHECK(early.error().kind == quail::ErrorKind::temporary);
  CHECK(!r.find("stranger@sys.test"));
  CHECK(!r.find("low@sys.test"));

  l.age("sam", 60);
  auto u = quail::refresh_home_table(r.path.string(), r.cfg.minuid, r.cfg.passwd);
  REQUIRE(u.ok());
  CHECK(u->logins == 1);
  CHECK(u->written);
  auto ext = r.find("sam-lists-quail@sys.test");
  REQUIRE(ext);
  CHECK(ext->dotqmail == l.home + "/sam/.qmail-lists-default");
  CHECK(ext->default_part == "quail");
  CHECK(!r.find("sam-other@sys.test"));
  // Nothing changed: nothing is listed or written again.
  u = quail::refresh_home_table(r.path.string(), r.cfg.minuid, r.cfg.passwd);
  REQUIRE(u.ok());
  CHECK((u->listed == 0 && !u->written));

  // A .qmail-other just created: stale until the next refresh lists the home again.
  r.write("home/sam/.qmail-other", "./Maildir/\n");
  auto stale = lookup("sam-other@sys.test");
  REQUIRE(!stale.ok());
  CHECK(stale.error().kind == quail::ErrorKind::temporary);
  // Changed under 2 s ago: listed, but recorded as unknown (still 451).
  REQUIRE(quail::refresh_home_table(r.path.string(), r.cfg.minuid, r.cfg.passwd).ok());
  CHECK(!lookup("sam-other@sys.test").ok());
  l.age("sam", 30);
  REQUIRE(quail::refresh_home_table(r.path.string(), r.cfg.minuid, r.cfg.passwd).ok());
  CHECK(r.find("sam-other@sys.test"));
  // Read directly (root or the login itself), no table is needed.
  r.cfg.homes = quail::HomeAccess::read;
  fs::remove(r.path / "users/homes.cdb");
  CHECK(r.find("sam-other@sys.test"));
}

TEST_CASE("lookup: a login the home table lists but /etc/passwd lacks is deferred, never refused") {
  // bench/README.md: two deliveries bounced 5.1.1 while logins were added and
  // removed. A miss contradicted by local-spawn's last listing is temporary.
  Root r(true);
  Logins l(r);
  l.age("sam", 60);
  REQUIRE(quail::refresh_home_table(r.path.string(), r.cfg.minuid, r.cfg.passwd).ok());
  auto lookup = [&](const std::string& addr) {
    auto a = quail::parse_address(addr);
    REQUIRE(a.ok());
    return quail::lookup_local(r.cfg, *a);
  };
  REQUIRE(r.find("sam@sys.test"));
  // sam's line gone from the file (replaced by rename, as useradd does).
  r.write("passwd.new", "toor:x:0:0::" + l.home + "/root:/bin/sh\n");
  fs::rename(r.path / "passwd.new", r.path / "passwd");
  for (const char* addr : {"sam@sys.test", "SAM@sys.test", "sam-lists-x@sys.test"}) {
    auto t = lookup(addr);
    REQUIRE(!t.ok());
    CHECK(t.error().kind == quail::ErrorKind::temporary);
    CHECK(t.error().reason.find("homes.cdb") != std::string::npos);
  }
  // A name that was never a login is unknown at once, as before.
  CHECK(!r.find("nosuchlogin@sys.test"));
  CHECK(!r.find("nosuchlogin-sam@sys.test"));
  // The refresher keeps it while the file is young: it may be put back.
  auto u = quail::refresh_home_table(r.path.string(), r.cfg.minuid, r.cfg.passwd);
  REQUIRE(u.ok());
  CHECK(u->kept == 1);
  CHECK(!lookup("sam@sys.test").ok());
  // Quiet for passwd_settle_seconds: the removed login is unknown, 5.1.1.
  struct timespec t[2];
  ::clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= quail::passwd_settle_seconds + 1;
  t[1] = t[0];
  REQUIRE(::utimensat(AT_FDCWD, r.cfg.passwd.c_str(), t, 0) == 0);
  u = quail::refresh_home_table(r.path.string(), r.cfg.minuid, r.cfg.passwd);
  REQUIRE(u.ok());
  CHECK(u->kept == 0);
  CHECK(u->written);
  CHECK(!r.find("sam@sys.test"));
  // Without a table (a single program, 45-static's smtpd) a miss is believed.
  fs::remove(r.path / "users/homes.cdb");
  CHECK(!r.find("sam@sys.test"));
}

TEST_CASE("home table: an entry encodes and decodes, and anything else is refused") {
  quail::HomeEntry e{1700000000, 123456789, {".qmail-a", ".qmail-b-default"}};
  auto d = quail::decode_home_entry(quail::encode_home_entry(e));
  REQUIRE(d.ok());
  CHECK(*d == e);
  CHECK(d->has(".qmail-a"));
  CHECK(!d->has(".qmail-c"));
  auto empty = quail::decode_home_entry("0.0");
  REQUIRE(empty.ok());
  CHECK(empty->files.empty());
  for (const char* bad : {"", "1", "1.", ".1", "-1.0", "+1.0", "1.1000000000", "1.0\n", "1.0\nfoo",
                          "1.0\n.qmail-", "1.0\n.qmail-b\n.qmail-a", "1.0\n.qmail-a\n.qmail-a",
                          "1.0\n.qmail-a/b", "1 .0", "99999999999999999999.0", "01.0", "1.05", "0.-0", "-0.0"}) {
    CAPTURE(std::string(bad));
    CHECK(!quail::decode_home_entry(bad).ok());
  }
}

TEST_CASE("lookup: a quoted local part names the same user as its plain form") {
  Root r;
  CHECK(quail::plain_local_part("\"alice\"") == "alice");
  CHECK(quail::plain_local_part("\"a\\\"b c\"") == "a\"b c");
  CHECK(quail::plain_local_part("alice") == "alice");
  auto t = r.find("\"alice\"@example.test");
  REQUIRE(t);
  CHECK(t->user == "alice@example.test");
}

TEST_CASE("lookup: a table kept open between lookups is seen replaced, removed and restored") {
  // One process, many lookups (an smtpd session, a delivery worker): each lookup
  // stats the table and reopens it only when it is another file.
  Root r;
  CHECK(r.find("alice@example.test"));
  REQUIRE(quail::build_cdb((r.path / "users/users.cdb").string(), {{"zoe@example.test", "$argon2id$q"}}).ok());
  fs::create_directories(r.path / "mail/example.test/zoe");
  CHECK_FALSE(r.find("alice@example.test"));
  CHECK(r.find("zoe@example.test"));
  fs::remove(r.path / "users/users.cdb");
  CHECK_FALSE(r.find("zoe@example.test"));
  REQUIRE(quail::build_cdb((r.path / "users/users.cdb").string(), {{"alice@example.test", "$argon2id$x"}}).ok());
  CHECK(r.find("alice@example.test"));
  // Written over in place (not as quail writes it): the size differs, so it is read again.
  r.write("users/users.cdb", "not a cdb at all");
  auto a = quail::parse_address("alice@example.test");
  REQUIRE(a.ok());
  auto res = quail::lookup_local(r.cfg, *a);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().kind == quail::ErrorKind::temporary);
}

TEST_CASE("lookup: a forked child forgets its parent's open tables without closing their descriptor numbers") {
  Root r;
  REQUIRE(r.find("alice@example.test"));  // users.cdb is open now, on some descriptor
  int table = -1;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(e.path(), ec) == r.path / "users/users.cdb") table = std::stoi(e.path().filename().string());
  }
  REQUIRE(table >= 0);
  // What a delivery child does: the inherited descriptor is closed, and its
  // number is taken by a file of the child's own.
  ::close(table);
  int mine = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(mine == table);
  quail::forget_inherited_tables();
  // The table replaced (a new inode): the next lookup opens it afresh and
  // closes nothing of the child's.
  REQUIRE(quail::build_cdb((r.path / "users/users.cdb").string(), {{"alice@example.test", "$argon2id$x"}}).ok());
  CHECK(r.find("alice@example.test"));
  CHECK_FALSE(r.find("bob-smith@example.test"));  // the new table, not the old mapping
  CHECK(::fcntl(mine, F_GETFD) >= 0);
  ::close(mine);
}
