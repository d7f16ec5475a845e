// Unit tests for lib/line_io: read-ahead, pipelined lines, replies held back until
// a read would block (RFC 2920), long lines skipped, timeouts and EOF.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>
#include <thread>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "line_io.hpp"

using quail::IoStatus;
using quail::LineIo;

namespace {

struct Pair {
  int near = -1;  // LineIo's end
  int far = -1;   // the test's end (the "client")
  Pair() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    near = sv[0];
    far = sv[1];
  }
  ~Pair() {
    if (near >= 0) ::close(near);
    if (far >= 0) ::close(far);
  }
  void send(const std::string& s) const { REQUIRE(::write(far, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
  // What LineIo wrote so far, without waiting.
  std::string received() const {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(far, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

}  // namespace

TEST_CASE("line io: CRLF and bare LF lines, with the ending reported") {
  Pair p;
  LineIo io(p.near, p.near, 1000);
  p.send("EHLO a\r\nNOOP\nQUIT\r\n");
  std::string line;
  bool crlf = false;
  REQUIRE(io.read_line(line, 1000, &crlf) == IoStatus::ok);
  CHECK(line == "EHLO a");
  CHECK(crlf);
  REQUIRE(io.read_line(line, 1000, &crlf) == IoStatus::ok);
  CHECK(line == "NOOP");
  CHECK_FALSE(crlf);
  CHECK(io.has_buffered_input());
  REQUIRE(io.read_line(line, 1000, &crlf) == IoStatus::ok);
  CHECK(line == "QUIT");
  CHECK_FALSE(io.has_buffered_input());
}

TEST_CASE("line io: replies wait while pipelined input is buffered, and go before a blocking read") {
  Pair p;
  LineIo io(p.near, p.near, 50);
  p.send("A\r\nB\r\n");
  std::string line;
  REQUIRE(io.read_line(line, 100) == IoStatus::ok);
  io.write("1\r\n");
  REQUIRE(io.read_line(line, 100) == IoStatus::ok);  // B was read ahead: no flush yet
  CHECK(line == "B");
  CHECK(p.received().empty());
  io.write("2\r\n");
  CHECK(io.read_line(line, 100) == IoStatus::timeout);  // nothing buffered: flush, then wait
  CHECK(p.received() == "1\r\n2\r\n");
}

TEST_CASE("line io: a line over the limit is skipped to its LF, the next one survives") {
  Pair p;
  LineIo io(p.near, p.near, 1000, 7);  // tiny reads: the long line spans many of them
  p.send(std::string(50, 'x') + "\r\nNOOP\r\n" + std::string(10, 'y') + "\r\n");
  std::string line;
  CHECK(io.read_line(line, 20) == IoStatus::too_long);
  REQUIRE(io.read_line(line, 20) == IoStatus::ok);
  CHECK(line == "NOOP");
  // Exactly at the limit (line end included) is fine; one more is not.
  p.send(std::string(18, 'z') + "\r\n" + std::string(19, 'z') + "\r\n");
  CHECK(io.read_line(line, 20) == IoStatus::ok);  // the 10 y's
  CHECK(io.read_line(line, 20) == IoStatus::ok);
  CHECK(line.size() == 18);
  CHECK(io.read_line(line, 20) == IoStatus::too_long);
}

TEST_CASE("line io: EOF, also inside a line; a timeout when nothing comes") {
  Pair p;
  LineIo io(p.near, p.near, 30);
  std::string line;
  CHECK(io.read_line(line, 100) == IoStatus::timeout);
  p.send("partial");
  ::shutdown(p.far, SHUT_WR);
  CHECK(io.read_line(line, 100) == IoStatus::eof);
  CHECK(io.fill() == IoStatus::eof);
}

TEST_CASE("line io: the timeout bounds a whole line, so a byte at a time does not hold it open") {
  Pair p;
  LineIo io(p.near, p.near, 200);
  std::string line;
  struct timespec t0, t1;
  ::clock_gettime(CLOCK_MONOTONIC, &t0);
  // Each byte comes well within the timeout; the line never ends in time.
  std::thread drip([&p] {
    for (int i = 0; i < 12; i++) {
      ::usleep(50 * 1000);
      if (::write(p.far, "N", 1) != 1) return;
    }
  });
  CHECK(io.read_line(line, 100) == IoStatus::timeout);
  ::clock_gettime(CLOCK_MONOTONIC, &t1);
  drip.join();
  double waited = double(t1.tv_sec - t0.tv_sec) + double(t1.tv_nsec - t0.tv_nsec) / 1e9;
  CHECK(waited < 0.7);  // a per-read timeout would go on to 0.8 s (12 bytes 50 ms apart, then 200 ms)
  // A line that completes in time is read as before.
  p.send("OOP\r\n");
  CHECK(io.read_line(line, 100) == IoStatus::ok);
}

TEST_CASE("line io: raw access to read-ahead bytes for DATA and BDAT") {
  Pair p;
  LineIo io(p.near, p.near, 1000);
  p.send("BDAT 5\r\nhelloNOOP\r\n");
  std::string line;
  REQUIRE(io.read_line(line, 100) == IoStatus::ok);
  CHECK(io.buffered() == "helloNOOP\r\n");
  io.consume(5);
  REQUIRE(io.read_line(line, 100) == IoStatus::ok);
  CHECK(line == "NOOP");
  io.consume(100);  // beyond what is buffered: clamps
  CHECK_FALSE(io.has_buffered_input());
}

TEST_CASE("line io: output to a pipe (not a socket) and explicit flush") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  {
    LineIo io(-1, fds[1], 1000);
    io.write("220 hi\r\n");
    CHECK(io.has_pending_output());
    CHECK(io.flush() == IoStatus::ok);
    CHECK_FALSE(io.has_pending_output());
    char buf[16] = {};
    REQUIRE(::read(fds[0], buf, 8) == 8);
    CHECK(std::string(buf, 8) == "220 hi\r\n");
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("line io: writing to a peer that went away is an error, not a signal") {
  Pair p;
  LineIo io(p.near, p.near, 1000);
  ::close(p.far);
  p.far = -1;
  io.write("250 ok\r\n");
  CHECK(io.flush() == IoStatus::error);
  CHECK(io.errno_value() == EPIPE);
}
