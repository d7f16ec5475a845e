// SASL for SMTP AUTH (lib/sasl): strict base64, the PLAIN message, LOGIN fields
// and the checkpassword input they become.
#include <doctest/doctest.h>

#include <string>

#include "sasl.hpp"

using quail::base64_decode;
using quail::base64_encode;
using quail::SaslSecret;

namespace {

std::string plain(std::string_view s) { return std::string(s); }

}  // namespace

TEST_CASE("sasl: base64 round trips every length") {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    auto d = base64_decode(base64_encode(s));
    REQUIRE(d);
    CHECK(d->str() == s);
    s += static_cast<char>(i * 37);
  }
  CHECK(base64_encode("Username:") == "VXNlcm5hbWU6");
  CHECK(base64_encode("Password:") == "UGFzc3dvcmQ6");
}

TEST_CASE("sasl: base64 that is not canonical or has stray characters is refused") {
  for (const char* bad : {"A", "AB", "ABC", "AB=C", "A===", "====", "QQ==QQ==", "QR==", "QUI=x", "QUJ ", " QUJD",
                          "QU\nJD", "QU*D", "QUJD=", "Q\0==", "QUI9\r"}) {
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad));
  }
  CHECK(base64_decode("")->str().empty());
  CHECK(base64_decode("QQ==")->str() == "A");
  CHECK(base64_decode("QUI=")->str() == "AB");
}

TEST_CASE("sasl: a decoded answer over the limit is refused") {
  std::string big(quail::sasl_max_decoded + 3, 'x');
  CHECK_FALSE(base64_decode(base64_encode(big)));
  std::string ok(quail::sasl_max_decoded, 'x');
  CHECK(base64_decode(base64_encode(ok)));
}

TEST_CASE("sasl: PLAIN gives the user and password, with or without an authzid equal to the user") {
  for (std::string m : {plain(std::string_view("\0alice@example.test\0secret pw", 29)),
                        plain(std::string_view("alice@example.test\0alice@example.test\0secret pw", 47))}) {
    auto l = quail::parse_sasl_plain(SaslSecret(m));
    REQUIRE(l);
    CHECK(l->user == "alice@example.test");
    CHECK(l->password.str() == "secret pw");
  }
}

TEST_CASE("sasl: malformed PLAIN messages are refused") {
  const std::string cases[] = {
      "",
      plain(std::string_view("alice\0pw", 8)),                // one NUL
      plain(std::string_view("\0\0pw", 4)),                   // empty user
      plain(std::string_view("\0alice\0", 7)),                // empty password
      plain(std::string_view("\0alice\0pw\0x", 11)),          // a third NUL
      plain(std::string_view("bob\0alice\0pw", 12)),          // acting for another user
      "\0" + std::string(256, 'u') + std::string("\0pw", 3),  // user over 255 octets
  };
  for (const auto& m : cases) {
    CAPTURE(m.size());
    CHECK_FALSE(quail::parse_sasl_plain(SaslSecret(m)));
  }
}

TEST_CASE("sasl: LOGIN fields are non-empty, NUL-free and at most 255 octets") {
  CHECK(quail::valid_login_field("alice"));
  CHECK_FALSE(quail::valid_login_field(""));
  CHECK_FALSE(quail::valid_login_field(std::string_view("al\0ice", 6)));
  CHECK_FALSE(quail::valid_login_field(std::string(256, 'a')));
}

TEST_CASE("sasl: the checkpassword input is user NUL password NUL timestamp NUL") {
  quail::SaslLogin l{"alice", SaslSecret("pw")};
  CHECK(quail::checkpassword_input(l, "123").str() == std::string("alice\0pw\0" "123\0", 13));
}

TEST_CASE("sasl: a moved-from secret is empty") {
  SaslSecret a(std::string("a secret long enough to live on the heap"));
  SaslSecret b(std::move(a));
  CHECK(a.str().empty());
  CHECK(b.str() == "a secret long enough to live on the heap");
}
