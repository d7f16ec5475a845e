// Unit tests for lib/srs: a forwarded sender's SRS0 address reverses to it,
// within its lifetime and only with our key; anything else is forged. And
// lib/srs_key: the key file and the check of an SRS0 recipient at our domains.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "address.hpp"
#include "srs.hpp"
#include "srs_key.hpp"

using namespace quail;

namespace {
const int64_t t0 = 1700000000;
ListSecret key(char fill) { return ListSecret::from_bytes(std::string(32, fill)).value(); }
}  // namespace

TEST_CASE("srs: a forwarded sender becomes SRS0 at our domain and reverses to itself") {
  ListSecret k = key('k');
  std::string a = srs_forward(k, "Alice@Example.ORG", "Fwd.Test", t0);
  REQUIRE(a.starts_with("SRS0="));
  REQUIRE(a.ends_with("=alice=example.org@fwd.test"));
  std::string local = a.substr(0, a.rfind('@'));
  std::string original;
  CHECK(srs_reverse(k, local, t0 + 3600, &original) == SrsCheck::good);
  CHECK(original == "alice@example.org");
  // Mail systems may change the case of a local part.
  for (auto& c : local) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(srs_reverse(k, local, t0 + 3600, &original) == SrsCheck::good);
  CHECK(srs_forward(k, "", "fwd.test", t0) == "");
}

TEST_CASE("srs: another key, a changed address, garbage or age are refused") {
  ListSecret k = key('k');
  std::string a = srs_forward(k, "alice@example.org", "fwd.test", t0);
  std::string local = a.substr(0, a.rfind('@'));
  CHECK(srs_reverse(key('x'), local, t0, nullptr) == SrsCheck::forged);
  std::string changed = local;
  changed.replace(changed.find("alice"), 5, "mallo");
  CHECK(srs_reverse(k, changed, t0, nullptr) == SrsCheck::forged);
  CHECK(srs_reverse(k, local, t0 + srs_lifetime + 1, nullptr) == SrsCheck::expired);
  CHECK(srs_reverse(k, "alice", t0, nullptr) == SrsCheck::not_srs);
  for (const char* bad : {"SRS0=", "SRS0=abc=x=y", "srs0=aaaaaaaaaaaaaaaaaaaa=", "SRS0=aaaaaaaaaaaaaaaaaaaa=a=b"}) {
    CHECK_MESSAGE(srs_reverse(k, bad, t0, nullptr) == SrsCheck::forged, bad);
  }
}

namespace {
namespace fs = std::filesystem;
struct KeyRoot {
  fs::path path;
  KeyRoot() {
    char tmpl[] = "/tmp/quail-srs-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
    fs::create_directories(path / "control");
  }
  ~KeyRoot() { fs::remove_all(path); }
  std::string root() const { return path.string(); }
};
}  // namespace

TEST_CASE("srs key: none means SRS off; quail init's key is 32 private bytes, made once") {
  KeyRoot r;
  auto none = load_srs_key(r.root());
  REQUIRE(none.ok());
  CHECK(*none == nullptr);
  ::umask(0);  // the key's mode must not depend on the caller's umask
  REQUIRE(create_srs_key(r.root()).ok());
  ::umask(022);
  struct stat st;
  REQUIRE(::stat(srs_key_path(r.root()).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 32);
  auto first = load_srs_key(r.root());
  REQUIRE(first.ok());
  REQUIRE(*first != nullptr);
  std::string before((*first)->bytes());
  REQUIRE(create_srs_key(r.root()).ok());  // kept: a new key would void every address out there
  auto again = load_srs_key(r.root());
  REQUIRE(again.ok());
  CHECK(std::string((*again)->bytes()) == before);
}

TEST_CASE("srs key: a file that is not 32 bytes is a config error naming it") {
  KeyRoot r;
  fs::create_directories(r.path / "control/srs");
  for (const std::string& text : {std::string(""), std::string(31, 'k'), std::string(33, 'k'), std::string(32, 'k') + "\n"}) {
    std::ofstream(srs_key_path(r.root()), std::ios::trunc) << text;
    auto k = load_srs_key(r.root());
    REQUIRE_FALSE(k.ok());
    CHECK(k.error().kind == ErrorKind::config);
    CHECK(k.error().reason.find("control/srs/key") != std::string::npos);
  }
}

TEST_CASE("srs recipient: only an SRS0 address at one of our domains, with a key, is checked") {
  ListSecret k = key('k');
  LocalConfig cfg;
  cfg.locals = {"fwd.test"};
  std::string a = srs_forward(k, "alice@example.org", "fwd.test", t0);
  auto ours = parse_address(a).value();
  std::string original;
  CHECK(srs_recipient(&k, cfg, ours, t0 + 60, &original) == SrsCheck::good);
  CHECK(original == "alice@example.org");
  CHECK(srs_recipient(nullptr, cfg, ours, t0 + 60, nullptr) == SrsCheck::not_srs);
  auto elsewhere = parse_address(a.substr(0, a.rfind('@')) + "@other.test").value();
  CHECK(srs_recipient(&k, cfg, elsewhere, t0 + 60, nullptr) == SrsCheck::not_srs);
  CHECK(srs_recipient(&k, cfg, parse_address("bob@fwd.test").value(), t0, nullptr) == SrsCheck::not_srs);
  CHECK(srs_recipient(&k, cfg, ours, t0 + srs_lifetime + 60, nullptr) == SrsCheck::expired);
  ListSecret other = key('x');
  CHECK(srs_recipient(&other, cfg, ours, t0 + 60, nullptr) == SrsCheck::forged);
}
