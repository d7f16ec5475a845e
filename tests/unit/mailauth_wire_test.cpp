// Unit tests for lib/mailauth_wire: the netstring frames between smtpd and
// mailauth, a descriptor passed with a frame, malformed and truncated frames.
#include <doctest/doctest.h>

#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.hpp"
#include "mailauth_wire.hpp"

using namespace quail;

TEST_CASE("mailauth wire: fields survive encoding, NUL-separated in a netstring") {
  std::vector<std::string> f = {"spf", "192.0.2.1", "", "a@b.test"};
  std::string e = mailauth::encode(f);
  const std::string nul(1, '\0');
  CHECK(e == "23:spf" + nul + "192.0.2.1" + nul + nul + "a@b.test,");
  CHECK(mailauth::decode(e) == f);
  for (const char* bad : {"", "3:abc", "3:ab,", "03:abc,", "x:abc,", ":,", "4:abc,", "3:abc,,"}) {
    CHECK_MESSAGE(!mailauth::decode(bad), bad);
  }
}

TEST_CASE("mailauth wire: a frame and a descriptor cross a socketpair") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  int p[2];
  REQUIRE(::pipe(p) == 0);
  Fd pr(p[0]), pw(p[1]);
  REQUIRE(mailauth::send_frame(a.get(), {"msg"}, pr.get()));
  int got = -1;
  auto f = mailauth::read_frame(b.get(), 5000, &got);
  REQUIRE(f);
  CHECK(*f == std::vector<std::string>{"msg"});
  REQUIRE(got >= 0);
  Fd passed(got);
  REQUIRE(::write(pw.get(), "x", 1) == 1);
  char c = 0;
  CHECK(::read(passed.get(), &c, 1) == 1);
  CHECK(c == 'x');
}

TEST_CASE("mailauth wire: a closed peer, a truncated frame and a silent peer are errors") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  auto silent = mailauth::read_frame(b.get(), 50);
  REQUIRE(!silent);
  CHECK(silent.error().kind == ErrorKind::temporary);
  REQUIRE(::write(a.get(), "5:ab", 4) == 4);
  a.reset();
  auto cut = mailauth::read_frame(b.get(), 5000);
  REQUIRE(!cut);
  CHECK(cut.error().kind == ErrorKind::format);
  auto gone = mailauth::read_frame(b.get(), 5000);
  REQUIRE(!gone);
  CHECK(gone.error().kind == ErrorKind::not_found);
}
