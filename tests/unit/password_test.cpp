// Unit tests for lib/password: argon2id hashes via libsodium, the password rules,
// and Secret's wiping. Hashing is slow by design, so few hashes are made.
#include <doctest/doctest.h>

#include <string>

#include "password.hpp"

using quail::acceptable_password;
using quail::hash_password;
using quail::Secret;
using quail::verify_password;

TEST_CASE("password: a hash verifies its password and refuses others") {
  auto h = hash_password(Secret("correct horse battery staple"));
  REQUIRE(h.ok());
  CHECK(h->rfind("$argon2id$", 0) == 0);
  CHECK(h->find("correct") == std::string::npos);
  CHECK(verify_password(*h, Secret("correct horse battery staple")));
  CHECK_FALSE(verify_password(*h, Secret("correct horse battery stapl")));
  CHECK_FALSE(verify_password(*h, Secret("Correct horse battery staple")));
  CHECK_FALSE(verify_password(*h, Secret("")));

  auto again = hash_password(Secret("correct horse battery staple"));
  REQUIRE(again.ok());
  CHECK(*again != *h);  // a fresh salt each time
  CHECK(verify_password(*again, Secret("correct horse battery staple")));
}

TEST_CASE("password: malformed or foreign hashes never verify") {
  auto h = hash_password(Secret("pw"));
  REQUIRE(h.ok());
  std::string truncated = h->substr(0, h->size() - 5);
  std::string other_alg = "$argon2i$" + h->substr(10);
  const std::string cases[] = {"",
                               "!",
                               "!" + *h,  // a disabled user in users.cdb
                               "$argon2id$",
                               "$argon2id$garbage",
                               truncated,
                               other_alg,
                               "$2y$10$abcdefghijklmnopqrstuuPZbV6pH7lCLh0I4HDx1F1ZlKmyXVcY2",  // bcrypt
                               "pw",
                               *h + std::string(200, 'A')};
  for (const auto& c : cases) {
    CAPTURE(c);
    CHECK_FALSE(verify_password(c, Secret("pw")));
  }
}

TEST_CASE("password: acceptable passwords are 1..1024 bytes without NUL, CR or LF") {
  CHECK(acceptable_password("a"));
  CHECK(acceptable_password("with spaces and \xc3\xa9 UTF-8 \t tab"));
  CHECK(acceptable_password(std::string(1024, 'x')));
  CHECK_FALSE(acceptable_password(""));
  CHECK_FALSE(acceptable_password(std::string(1025, 'x')));
  CHECK_FALSE(acceptable_password("a\nb"));
  CHECK_FALSE(acceptable_password("a\rb"));
  CHECK_FALSE(acceptable_password(std::string("a\0b", 3)));
}

TEST_CASE("password: a Secret zeroes its bytes when wiped") {
  Secret s(std::string(64, 'p'));  // long enough to live on the heap
  const char* bytes = s.view().data();
  size_t n = s.view().size();
  s.wipe();
  CHECK(s.view().empty());
  bool all_zero = true;
  for (size_t i = 0; i < n; ++i) all_zero = all_zero && bytes[i] == 0;  // the buffer is still owned by s
  CHECK(all_zero);
}

TEST_CASE("password: a moved-from Secret is empty") {
  Secret a(std::string(40, 'q'));
  Secret b(std::move(a));
  CHECK(b.view() == std::string(40, 'q'));
  CHECK(a.view().empty());
}
