// Unit tests for lib/fd: the Fd owner, full reads and writes, read_file's limit
// and not_found, open_fd's close-on-exec.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.hpp"
#include "fd_passing.hpp"

using quail::ErrorKind;
using quail::Fd;

namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/quail-ut-fd-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

}  // namespace

TEST_CASE("fd: an Fd closes its descriptor once, and moves hand it over") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  ::close(p[1]);
  {
    Fd a(p[0]);
    CHECK(a.valid());
    Fd b(std::move(a));
    CHECK_FALSE(a.valid());
    CHECK(b.get() == p[0]);
    Fd c;
    CHECK_FALSE(c.valid());
    c = std::move(b);
    CHECK(is_open(p[0]));
  }
  CHECK_FALSE(is_open(p[0]));
  Fd r(::dup(0));
  int raw = r.release();
  CHECK_FALSE(r.valid());
  CHECK(is_open(raw));
  ::close(raw);
}

TEST_CASE("fd: write_all and read_all move every byte through a file") {
  TempDir d;
  std::string path = d.path + "/data";
  std::string data;
  for (int i = 0; i < 300000; ++i) data += static_cast<char>(i * 31);
  {
    auto w = quail::open_fd(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    REQUIRE(w.ok());
    CHECK(quail::write_all(w->get(), data));
    CHECK(quail::write_all(w->get(), ""));
  }
  auto r = quail::open_fd(path, O_RDONLY);
  REQUIRE(r.ok());
  std::string out = "prefix";
  CHECK(quail::read_all(r->get(), out));
  CHECK(out == "prefix" + data);
}

TEST_CASE("fd: read_all stops with EFBIG over its limit") {
  TempDir d;
  std::string path = d.path + "/big";
  std::ofstream(path) << std::string(1000, 'x');
  auto r = quail::open_fd(path, O_RDONLY);
  REQUIRE(r.ok());
  std::string out;
  errno = 0;
  CHECK_FALSE(quail::read_all(r->get(), out, 999));
  CHECK(errno == EFBIG);
  auto exact = quail::read_file(path, 1000);
  REQUIRE(exact.ok());
  CHECK(exact->size() == 1000);
  auto over = quail::read_file(path, 10);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::io_read);
}

TEST_CASE("fd: read_full returns fewer bytes only at end of file") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(quail::write_all(p[1], "abc"));
  REQUIRE(quail::write_all(p[1], "def"));
  ::close(p[1]);
  char buf[16];
  CHECK(quail::read_full(p[0], buf, 4) == 4);
  CHECK(quail::read_full(p[0], buf, 16) == 2);
  CHECK(std::string(buf, 2) == "ef");
  CHECK(quail::read_full(p[0], buf, 16) == 0);
  ::close(p[0]);
}

TEST_CASE("fd: a write to a closed pipe fails instead of claiming success") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  ::close(p[0]);
  auto old = ::signal(SIGPIPE, SIG_IGN);
  errno = 0;
  CHECK_FALSE(quail::write_all(p[1], "lost"));
  CHECK(errno == EPIPE);
  ::signal(SIGPIPE, old);
  ::close(p[1]);
}

TEST_CASE("fd: read_file of a missing file is not_found and names it") {
  TempDir d;
  auto r = quail::read_file(d.path + "/nope");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::not_found);
  CHECK(r.error().reason.find("unable to open " + d.path + "/nope: ") == 0);
  std::ofstream(d.path + "/empty");
  auto e = quail::read_file(d.path + "/empty");
  REQUIRE(e.ok());
  CHECK(e->empty());
}

TEST_CASE("fd: open_fd sets close-on-exec") {
  auto f = quail::open_fd("/dev/null", O_RDONLY);
  REQUIRE(f.ok());
  CHECK((::fcntl(f->get(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("fd: several descriptors ride one message, in order, and extras are closed") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  quail::Fd a(sv[0]), b(sv[1]);
  int p1[2], p2[2];
  REQUIRE(::pipe(p1) == 0);
  REQUIRE(::pipe(p2) == 0);
  quail::Fd r1(p1[0]), w1(p1[1]), r2(p2[0]), w2(p2[1]);
  const int fds[] = {w1.get(), w2.get()};
  REQUIRE(quail::send_with_fds(a.get(), "hi", fds, 0) == 2);
  char buf[8];
  quail::Fd got[2];
  bool truncated = true;
  REQUIRE(quail::recv_with_fds(b.get(), buf, sizeof buf, got, truncated) == 2);
  CHECK_FALSE(truncated);
  REQUIRE(got[0].valid());
  REQUIRE(got[1].valid());
  // Each is the pipe it was sent as: what goes in comes out of the matching reader.
  REQUIRE(::write(got[0].get(), "1", 1) == 1);
  REQUIRE(::write(got[1].get(), "2", 1) == 1);
  char c = 0;
  REQUIRE(::read(r1.get(), &c, 1) == 1);
  CHECK(c == '1');
  REQUIRE(::read(r2.get(), &c, 1) == 1);
  CHECK(c == '2');
  // One slot for two: the second is closed, not leaked.
  REQUIRE(quail::send_with_fds(a.get(), "x", fds, 0) == 1);
  quail::Fd one;
  REQUIRE(quail::recv_with_fd(b.get(), buf, sizeof buf, one, truncated) == 1);
  CHECK(one.valid());
  // More than a message may carry is refused before anything is sent.
  const int five[] = {0, 0, 0, 0, 0};
  CHECK(quail::send_with_fds(a.get(), "y", five, 0) == -1);
}
