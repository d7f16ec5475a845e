// Unit tests for lib/mime_downgrade: quoted-printable lines and the 8BITMIME
// downgrade of single-part, multipart and non-MIME messages.
#include <doctest/doctest.h>

#include <string>

#include "mime_downgrade.hpp"

using namespace quail;

TEST_CASE("quoted-printable: 8-bit bytes, '=', trailing space and long lines") {
  CHECK(quoted_printable("caf\xc3\xa9 = x\n") == "caf=C3=A9 =3D x\n");
  CHECK(quoted_printable("trailing \n") == "trailing=20\n");
  CHECK(quoted_printable("tab\t\n") == "tab=09\n");
  CHECK(quoted_printable("no newline") == "no newline");
  std::string lng(200, 'a');
  std::string out = quoted_printable(lng + "\n");
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    CHECK(nl - start <= 76);
    start = nl + 1;
  }
  std::string joined;
  for (char c : out) {
    if (c != '\n' && c != '=') joined += c;
  }
  CHECK(joined == lng);
}

TEST_CASE("downgrade: a message without 8-bit bytes is unchanged") {
  std::string m = "Subject: x\n\nplain\n";
  CHECK(downgrade_8bit(m) == m);
}

TEST_CASE("downgrade: a non-MIME 8-bit body gains MIME headers") {
  std::string out = downgrade_8bit("Subject: x\n\ncaf\xc3\xa9\n");
  CHECK(out == "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n");
  CHECK(downgrade_8bit("Subject: x\n\n\xff\n").find("charset=unknown-8bit") != std::string::npos);
}

TEST_CASE("downgrade: an 8bit Content-Transfer-Encoding is replaced") {
  std::string out = downgrade_8bit(
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n\xe9t\xe9\n");
  CHECK(out == "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
               "Content-Transfer-Encoding: quoted-printable\n\n=E9t=E9\n");
  CHECK_FALSE(has_8bit(out));
}

TEST_CASE("downgrade: each 8-bit part of a multipart message is converted") {
  std::string m =
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\npreamble\n"
      "--b1\nContent-Type: text/plain\n\nascii part\n"
      "--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n"
      "--b1--\nepilogue\n";
  std::string out = downgrade_8bit(m);
  CHECK_FALSE(has_8bit(out));
  CHECK(out.find("--b1\nContent-Type: text/plain\n\nascii part\n--b1\n") != std::string::npos);
  CHECK(out.find("Content-Transfer-Encoding: quoted-printable\n\n=C3=A9t=C3=A9\n--b1--\nepilogue\n") !=
        std::string::npos);
}

TEST_CASE("downgrade: what cannot be converted is left as it is") {
  std::string hdr = "Subject: caf\xc3\xa9\n\nascii\n";
  CHECK(downgrade_8bit(hdr) == hdr);
  std::string b64 = "Content-Transfer-Encoding: base64\n\n\xff\n";
  CHECK(downgrade_8bit(b64) == b64);
}
