// Unit tests for lib/credentials: the checkpassword interface's fd 3 input.
#include <doctest/doctest.h>

#include <string>

#include "credentials.hpp"

using namespace std::string_literals;

TEST_CASE("credentials: user, password and timestamp are read up to their NULs") {
  auto c = quail::parse_credentials("alice@example.test\0pass word\0<1.2@host>\0"s);
  REQUIRE(c);
  CHECK(c->user == "alice@example.test");
  CHECK(c->password.view() == "pass word");
  CHECK(c->timestamp == "<1.2@host>");
}

TEST_CASE("credentials: an empty password and timestamp are allowed, bytes after the third NUL ignored") {
  auto c = quail::parse_credentials("bob\0\0\0trailing"s);
  REQUIRE(c);
  CHECK(c->user == "bob");
  CHECK(c->password.view().empty());
}

TEST_CASE("credentials: malformed input is refused") {
  const std::string bad[] = {""s, "alice"s, "alice\0pw"s, "alice\0pw\0"s, "\0pw\0\0"s,
                             std::string(quail::max_credentials - 3, 'a') + "\0b\0\0"s};
  for (const auto& in : bad) CHECK_FALSE(quail::parse_credentials(in));
  CHECK(quail::parse_credentials(std::string(quail::max_credentials - 4, 'a') + "\0b\0\0"s));
}

TEST_CASE("credentials: encode then parse gives the same user and password") {
  auto e = quail::encode_credentials("carol@example.test", "a b:c");
  REQUIRE(e);
  auto c = quail::parse_credentials(e->view());
  REQUIRE(c);
  CHECK(c->user == "carol@example.test");
  CHECK(c->password.view() == "a b:c");
  CHECK(c->timestamp.empty());
}

TEST_CASE("credentials: a NUL inside a field or an overlong pair cannot be encoded") {
  CHECK_FALSE(quail::encode_credentials("a\0b"s, "pw"));
  CHECK_FALSE(quail::encode_credentials("a", "p\0w"s));
  CHECK_FALSE(quail::encode_credentials("a", std::string(quail::max_credentials, 'x')));
}
