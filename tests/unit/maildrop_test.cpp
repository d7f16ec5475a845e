// Unit tests for lib/maildrop: the POP3 view of a Maildir (lock, listing, sizes
// cache, UIDL, QUIT's update).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "maildrop.hpp"

namespace fs = std::filesystem;

namespace {

struct TempMaildir {
  fs::path dir;
  TempMaildir() {
    std::string tmpl = (fs::temp_directory_path() / "quail-maildrop-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = fs::path(tmpl) / "Maildir";
    for (const char* s : {"tmp", "new", "cur"}) fs::create_directories(dir / s);
  }
  ~TempMaildir() { fs::remove_all(dir.parent_path()); }
  void put(const std::string& rel, const std::string& text) { std::ofstream(dir / rel, std::ios::binary) << text; }
};

quail::Maildrop open_locked(const fs::path& dir) {
  auto l = quail::Maildrop::lock(dir.string());
  REQUIRE(l);
  REQUIRE(l->has_value());
  return std::move(**l);
}

}  // namespace

TEST_CASE("maildrop: messages of new/ and cur/ in delivery order with wire sizes and UIDLs") {
  TempMaildir m;
  m.put("cur/1700000002.M1P1Q1.h:2,S", "b\n");
  m.put("new/1700000001.M1P1Q1.h", "a\nbc\n");
  m.put("new/999999999.M1P1Q1.h", "old\n");
  m.put("new/.hidden", "x\n");
  auto md = open_locked(m.dir);
  REQUIRE(md.scan());
  auto& msgs = md.messages();
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0].uid == "999999999.M1P1Q1.h");
  CHECK(msgs[1].uid == "1700000001.M1P1Q1.h");
  CHECK(msgs[1].size == 7);
  CHECK(msgs[2].uid == "1700000002.M1P1Q1.h");
  CHECK(msgs[2].path == "cur/1700000002.M1P1Q1.h:2,S");
}

TEST_CASE("maildrop: a second lock on the same Maildir is refused until the first is gone") {
  TempMaildir m;
  auto first = quail::Maildrop::lock(m.dir.string());
  REQUIRE(first);
  REQUIRE(first->has_value());
  auto second = quail::Maildrop::lock(m.dir.string());
  REQUIRE(second);
  CHECK_FALSE(second->has_value());
  first->reset();
  auto third = quail::Maildrop::lock(m.dir.string());
  REQUIRE(third);
  CHECK(third->has_value());
}

TEST_CASE("maildrop: a missing Maildir is an empty maildrop") {
  TempMaildir m;
  auto md = open_locked(m.dir / "nonexistent");
  REQUIRE(md.scan());
  CHECK(md.messages().empty());
  CHECK(md.commit());
}

TEST_CASE("maildrop: the size cache is written, trusted, and a damaged one only costs a recount") {
  TempMaildir m;
  m.put("new/1.M1P1Q1.h", "one\n");
  m.put("new/2.M1P1Q1.h", "two\n");
  {
    auto md = open_locked(m.dir);
    REQUIRE(md.scan());
    REQUIRE(md.save_cache());
  }
  REQUIRE(fs::exists(m.dir / quail::maildrop_cache_name));
  // A cached size is used as it is (a file never changes under its unique name).
  m.put(quail::maildrop_cache_name, "1.M1P1Q1.h 99\n2.M1P1Q1.h x\ngarbage\n3.M1P1Q1.h 5");
  auto md = open_locked(m.dir);
  REQUIRE(md.scan());
  CHECK(md.messages()[0].size == 99);
  CHECK(md.messages()[1].size == 5);  // the malformed line was skipped and the file counted
  REQUIRE(md.save_cache());
  std::ifstream in(m.dir / quail::maildrop_cache_name);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text == "1.M1P1Q1.h 99\n2.M1P1Q1.h 5\n");
}

TEST_CASE("maildrop: commit unlinks deleted messages and moves the rest of new/ to cur/, keeping UIDLs") {
  TempMaildir m;
  m.put("new/1.M1P1Q1.h", "one\n");
  m.put("new/2.M1P1Q1.h", "two\n");
  m.put("cur/3.M1P1Q1.h:2,S", "three\n");
  std::vector<std::string> before;
  {
    auto md = open_locked(m.dir);
    REQUIRE(md.scan());
    for (auto& x : md.messages()) before.push_back(x.uid);
    md.messages()[0].deleted = true;
    md.messages()[2].deleted = true;
    REQUIRE(md.commit());
  }
  CHECK_FALSE(fs::exists(m.dir / "new/1.M1P1Q1.h"));
  CHECK_FALSE(fs::exists(m.dir / "cur/3.M1P1Q1.h:2,S"));
  CHECK(fs::exists(m.dir / "cur/2.M1P1Q1.h:2,"));
  CHECK(fs::is_empty(m.dir / "new"));
  auto md = open_locked(m.dir);
  REQUIRE(md.scan());
  REQUIRE(md.messages().size() == 1);
  CHECK(md.messages()[0].uid == before[1]);
}

TEST_CASE("maildrop: a UIDL is the unique name when it is short and printable, else a digest") {
  CHECK(quail::maildir_uid("1700000000.M1P2Q3.host:2,S") == "1700000000.M1P2Q3.host");
  std::string long_name(80, 'a');
  std::string d = quail::maildir_uid(long_name);
  CHECK(d.size() == 32);
  CHECK(d == quail::maildir_uid(long_name + ":2,S"));
  CHECK(quail::maildir_uid("a b").size() == 32);
  CHECK(quail::maildir_uid("caf\xc3\xa9").size() == 32);
}

TEST_CASE("maildrop: a name's ,W= size is read from the name, never by opening the file") {
  CHECK(quail::maildir_name_size("1700000001.M1P1Q1.h,W=42") == 42u);
  CHECK(quail::maildir_name_size("1700000001.M1P1Q1.h,S=40,W=42:2,S") == 42u);
  CHECK(quail::maildir_name_size("1700000001.M1P1Q1.h,W=42,S=40") == 42u);
  for (const char* none : {"1700000001.M1P1Q1.h", "1700000001.M1P1Q1.h,W=", "1700000001.M1P1Q1.h,W=4x",
                           "1700000001.M1P1Q1.h,W=-1", "1700000001.M1P1Q1.h:2,W=42", "1700000001.M1P1Q1.h,w=42",
                           "1700000001.M1P1Q1.h,W=99999999999999999999", "1700000001.M1P1Q1.h,W=042"}) {
    CAPTURE(none);
    CHECK(!quail::maildir_name_size(none));
  }
  TempMaildir m;
  // The content disagrees with the name on purpose: the name is what counts.
  m.put("new/1700000001.M1P1Q1.h,W=1000", "a\n");
  m.put("cur/1700000002.M1P1Q1.h,W=7:2,S", "a\nbc\n");
  m.put("new/1700000003.M1P1Q1.h", "a\nbc\n");
  {
    auto md = open_locked(m.dir);
    REQUIRE(md.scan());
    auto& msgs = md.messages();
    REQUIRE(msgs.size() == 3);
    CHECK(msgs[0].size == 1000);
    CHECK(msgs[0].uid == "1700000001.M1P1Q1.h,W=1000");  // stable: the move to cur/ keeps it
    CHECK(msgs[1].size == 7);
    CHECK(msgs[2].size == 7);
    REQUIRE(md.save_cache());
  }
  // Only the message without a size in its name is in the cache.
  std::ifstream cache(m.dir / quail::maildrop_cache_name);
  std::string text((std::istreambuf_iterator<char>(cache)), std::istreambuf_iterator<char>());
  CHECK(text == "1700000003.M1P1Q1.h 7\n");
}
