// Unit tests for lib/cdb: build_cdb then Cdb::find / all; a damaged file gives an
// error, never a crash or a wrong answer presented as good.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "cdb.hpp"

using quail::Cdb;
using quail::ErrorKind;

namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/quail-ut-cdb-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

using Records = std::vector<std::pair<std::string, std::string>>;

Records sample() {
  Records r = {{"alice@example.test", "$argon2id$v=19$m=65536,t=2,p=1$hash"},
               {"bob@example.test", "!disabled"},
               {"empty", ""},
               {std::string("bin\0key", 7), std::string("val\0ue\xff", 7)},
               {"dup", "first"},
               {"dup", "second"}};
  for (int i = 0; i < 500; ++i) r.emplace_back("user" + std::to_string(i) + "@example.org", std::to_string(i * 7));
  return r;
}

}  // namespace

TEST_CASE("cdb: values built into a cdb are found by key") {
  TempDir d;
  std::string p = d.path + "/users.cdb";
  REQUIRE(quail::build_cdb(p, sample()).ok());
  CHECK_FALSE(fs::exists(p + ".tmp"));
  auto c = Cdb::open(p);
  REQUIRE(c.ok());
  CHECK(c->find("alice@example.test").value() == std::optional<std::string>("$argon2id$v=19$m=65536,t=2,p=1$hash"));
  CHECK(c->find("bob@example.test").value() == std::optional<std::string>("!disabled"));
  CHECK(c->find("empty").value() == std::optional<std::string>(""));
  CHECK(c->find(std::string("bin\0key", 7)).value() == std::optional<std::string>(std::string("val\0ue\xff", 7)));
  CHECK(c->find("dup").value() == std::optional<std::string>("first"));  // the first of duplicates
  CHECK(c->find("user499@example.org").value() == std::optional<std::string>(std::to_string(499 * 7)));
}

TEST_CASE("cdb: a missing key is not found, not an error") {
  TempDir d;
  std::string p = d.path + "/t.cdb";
  REQUIRE(quail::build_cdb(p, sample()).ok());
  auto c = Cdb::open(p);
  REQUIRE(c.ok());
  for (const char* k : {"carol@example.test", "", "ALICE@example.test", "alice@example.tes"}) {
    auto r = c->find(k);
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
  }
}

TEST_CASE("cdb: all() lists every record in insertion order") {
  TempDir d;
  std::string p = d.path + "/t.cdb";
  REQUIRE(quail::build_cdb(p, sample()).ok());
  auto c = Cdb::open(p);
  REQUIRE(c.ok());
  auto all = c->all();
  REQUIRE(all.ok());
  CHECK(*all == sample());
}

TEST_CASE("cdb: an empty table opens and finds nothing") {
  TempDir d;
  std::string p = d.path + "/empty.cdb";
  REQUIRE(quail::build_cdb(p, {}).ok());
  auto c = Cdb::open(p);
  REQUIRE(c.ok());
  CHECK_FALSE(c->find("x").value().has_value());
  CHECK(c->all().value().empty());
}

TEST_CASE("cdb: rebuilding replaces the table") {
  TempDir d;
  std::string p = d.path + "/t.cdb";
  REQUIRE(quail::build_cdb(p, sample()).ok());
  REQUIRE(quail::build_cdb(p, {{"only", "one"}}).ok());
  auto c = Cdb::open(p);
  REQUIRE(c.ok());
  CHECK_FALSE(c->find("alice@example.test").value().has_value());
  CHECK(c->find("only").value() == std::optional<std::string>("one"));
}

TEST_CASE("cdb: a missing file is not_found") {
  TempDir d;
  auto c = Cdb::open(d.path + "/nope.cdb");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().kind == ErrorKind::not_found);
}

TEST_CASE("cdb: a truncated or garbled file gives errors, not crashes") {
  TempDir d;
  std::string p = d.path + "/t.cdb";
  REQUIRE(quail::build_cdb(p, sample()).ok());
  auto full = fs::file_size(p);
  std::string bytes;
  {
    std::ifstream in(p, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string bad = d.path + "/bad.cdb";
  // Cut the file at many points, including inside the header table, the records
  // and the hash tables at the end.
  for (size_t len : {size_t{0}, size_t{1}, size_t{100}, size_t{2047}, size_t{2048}, size_t{2100}, size_t{4096},
                     static_cast<size_t>(full / 2), static_cast<size_t>(full - 100), static_cast<size_t>(full - 1)}) {
    CAPTURE(len);
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << bytes.substr(0, len);
    auto c = Cdb::open(bad);
    if (!c.ok()) {
      CHECK(c.error().kind == ErrorKind::format);
      continue;
    }
    // Opened: every lookup either answers or reports damage; none may crash.
    bool any_error = false;
    for (const auto& [k, v] : sample()) {
      auto r = c->find(k);
      if (!r.ok()) {
        any_error = true;
        CHECK(r.error().kind == ErrorKind::format);
      } else if (r->has_value() && k != "dup") {
        CHECK(**r == v);  // an answer, when given, is the right one
      }
    }
    auto all = c->all();
    if (!all.ok()) any_error = true;
    if (len < full) CHECK(any_error);
  }
  // Random-looking garbage of a plausible size.
  std::string garbage(8192, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(bad, std::ios::binary | std::ios::trunc) << garbage;
  auto g = Cdb::open(bad);
  if (g.ok()) {
    (void)g->find("alice@example.test");
    (void)g->all();
  }
}
