// The local spawner's packets (lib/lspawn): what queue-send sends is what
// local-spawn reads, and nothing malformed gets through.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include "lspawn.hpp"

using namespace quail;

TEST_CASE("lspawn: a request round-trips with its descriptor") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  int devnull = open("/dev/null", O_RDONLY);
  REQUIRE(send_request(a.get(), {7, 1234, "bob@example.test", "alice-foo@example.test"}, devnull).ok());
  close(devnull);
  Fd got;
  auto req = recv_request(b.get(), got);
  REQUIRE(req.ok());
  CHECK(req->dlv == 7);
  CHECK(req->message_length == 1234);
  CHECK(req->sender == "bob@example.test");
  CHECK(req->recipient == "alice-foo@example.test");
  CHECK(got.valid());
}

TEST_CASE("lspawn: a request without a descriptor is refused") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  std::string p = encode_request({1, 2, "", "x@y"});
  REQUIRE(send(a.get(), p.data(), p.size(), 0) == static_cast<ssize_t>(p.size()));
  Fd got;
  CHECK_FALSE(recv_request(b.get(), got).ok());
}

TEST_CASE("lspawn: end of stream is reported as not_found") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  Fd b(sv[1]);
  close(sv[0]);
  Fd got;
  auto r = recv_request(b.get(), got);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::not_found);
}

TEST_CASE("lspawn: malformed requests are refused") {
  using namespace std::string_literals;
  const std::string bad[] = {
      ""s, "1\0"s, "1\0002\0a\0"s, "x\0002\0a\0b\0"s, "1\0-2\0a\0b\0"s, "1\0002\0a\0\0"s,
      "1\0002\0a\nb\0c\0"s, "1\0002\0a\0b"s, "1\0002\0a\0b\0extra\0"s, "99999999999999999999999\0002\0a\0b\0"s,
  };
  for (const auto& p : bad) CHECK_FALSE(decode_request(p).ok());
  CHECK_FALSE(decode_request("1\0002\0"s + std::string(1001, 'a') + "\0b\0"s).ok());
}

TEST_CASE("lspawn: replies round-trip and codes stay in 0..255") {
  auto r = decode_reply(encode_reply({3, 100, "no mailbox here by that name (#5.1.1)"}));
  REQUIRE(r.ok());
  CHECK(r->dlv == 3);
  CHECK(r->code == 100);
  CHECK(r->reason == "no mailbox here by that name (#5.1.1)");
  using namespace std::string_literals;
  CHECK_FALSE(decode_reply("3\000256\0x\0"s).ok());
  CHECK_FALSE(decode_reply("3\0-1\0x\0"s).ok());
}

TEST_CASE("lspawn: numbers at and past INT64_MAX and UINT64_MAX are refused, never wrapped") {
  using namespace std::string_literals;
  auto request = [](const std::string& dlv, const std::string& length) { return dlv + "\0"s + length + "\0a\0b\0"s; };
  // A delivery id is any uint64_t; a message length is an off_t for local-deliver.
  CHECK(decode_request(request("18446744073709551615", "1"))->dlv == UINT64_MAX);
  CHECK(decode_request(request("1", "9223372036854775807"))->message_length == uint64_t{INT64_MAX});
  for (const char* n : {"18446744073709551616", "99999999999999999999", "123456789012345678901234", "007", "-0"}) {
    CAPTURE(std::string(n));
    CHECK_FALSE(decode_request(request(n, "1")).ok());
    CHECK_FALSE(decode_reply(std::string(n) + "\0000\0x\0"s).ok());
  }
  for (const char* n : {"9223372036854775808", "18446744073709551615", "18446744073709551616", "123456789012345678901234"}) {
    CAPTURE(std::string(n));
    CHECK_FALSE(decode_request(request("1", n)).ok());
  }
  // A reply code is an exit code: 0..255, one spelling each.
  CHECK(decode_reply("3\000255\0x\0"s)->code == 255);
  for (const char* c : {"256", "9223372036854775807", "9223372036854775808", "18446744073709551615",
                        "18446744073709551616", "4294967296", "123456789012345678901234", "0100", "-0"}) {
    CAPTURE(std::string(c));
    CHECK_FALSE(decode_reply("3\0"s + c + "\0x\0"s).ok());
  }
}
