// Unit tests for lib/srs: a forwarded sender's SRS0 address reverses to it,
// within its lifetime and only with our key; anything else is forged.
#include <doctest/doctest.h>

#include <string>

#include "srs.hpp"

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
