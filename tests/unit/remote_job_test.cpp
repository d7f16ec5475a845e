// The remote-deliver job channel (lib/remote_job): what queue-send sends is what a
// kept remote-deliver run reads, nothing malformed gets through, and the stream of
// reports on the run's fd 1 splits into one qmail-remote report per job.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "remote_job.hpp"

using namespace quail;

namespace {
std::string packet(std::initializer_list<std::string_view> fields) {
  std::string p;
  for (auto f : fields) {
    p += f;
    p += '\0';
  }
  return p;
}
}  // namespace

TEST_CASE("remote job: a job round-trips with its descriptor") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  int devnull = open("/dev/null", O_RDONLY);
  REQUIRE(send_job(a.get(), {9, 4096, {0, 2, 17}}, devnull).ok());
  close(devnull);
  Fd got;
  auto j = recv_job(b.get(), got);
  REQUIRE(j.ok());
  CHECK(j->dlv == 9);
  CHECK(j->message_length == 4096);
  CHECK(j->rcpts == std::vector<uint32_t>{0, 2, 17});
  CHECK(got.valid());
}

TEST_CASE("remote job: a job without a descriptor is refused, end of stream is not_found") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  std::string p = encode_job({1, 2, {0}});
  REQUIRE(send(a.get(), p.data(), p.size(), 0) == static_cast<ssize_t>(p.size()));
  Fd got;
  auto j = recv_job(b.get(), got);
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().kind == ErrorKind::format);
  a.reset();
  auto end = recv_job(b.get(), got);
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().kind == ErrorKind::not_found);
}

TEST_CASE("remote job: malformed packets are refused") {
  const std::string cases[] = {
      "",                                  // nothing
      packet({"1", "2"}),                  // no recipient
      packet({"1", "02", "0"}),            // leading zero
      packet({"1", "-2", "0"}),            // sign
      packet({"1", "2", "x"}),             // not a number
      packet({"1", "2", "4294967296"}),    // past an index
      packet({"1", "9223372036854775808", "0"}),  // past an off_t
      std::string("1\0002\0003", 5),       // last field without its NUL
      packet({"1", "2", ""}),              // empty field
  };
  for (const auto& c : cases) {
    CAPTURE(c);
    CHECK_FALSE(decode_job(c).ok());
  }
  RemoteJob big{1, 2, std::vector<uint32_t>(remote_job_max_rcpts + 1, 0)};
  CHECK_FALSE(decode_job(encode_job(big)).ok());
  big.rcpts.pop_back();
  CHECK(decode_job(encode_job(big)).ok());
}

TEST_CASE("remote job: reports split one per job by their NULs") {
  std::string two = packet({"r", "sbusy (#4.2.1)", "Kpeer accepted (#2.0.0)"}) + packet({"h550 no (#5.1.1)", "D"});
  size_t first = remote_report_length(two, 2);
  REQUIRE(first > 0);
  CHECK(two.substr(0, first) == packet({"r", "sbusy (#4.2.1)", "Kpeer accepted (#2.0.0)"}));
  CHECK(remote_report_length(std::string_view(two).substr(first), 1) == two.size() - first);
  CHECK(remote_report_length(std::string_view(two).substr(0, first - 1), 2) == 0);  // the last NUL not yet read
  CHECK(remote_report_length("", 0) == 0);
}
