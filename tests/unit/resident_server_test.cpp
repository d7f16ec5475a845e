// lib/resident_server's child side and lib/unix_connect's bind: what a forked
// helper takes from a caller before anything else, and the socket it listens
// on. A hello that is not whole (its descriptors missing, too long, cut by the
// caller's end) must never be served.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.hpp"
#include "fd_passing.hpp"
#include "resident_server.hpp"
#include "unix_connect.hpp"

using quail::Fd;

namespace {

struct Pair {
  Fd caller, helper;
  Pair() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    caller = Fd(sv[0]);
    helper = Fd(sv[1]);
  }
};

}  // namespace

TEST_CASE("resident_server: a hello is read up to its LF with the descriptors it carries") {
  Pair p;
  const int fds[] = {2, 1};
  REQUIRE(quail::send_with_fds(p.caller.get(), "L192.0.2.7\n", fds, MSG_NOSIGNAL) == 11);
  std::string line;
  Fd got[2];
  CHECK(quail::read_hello(p.helper.get(), 64, 2000, line, got));
  CHECK(line == "L192.0.2.7\n");
  CHECK(got[0].valid());
  CHECK(got[1].valid());
  CHECK(quail::caller_is_trusted(p.helper.get()));  // our own uid, the other end
}

TEST_CASE("resident_server: a hello without its descriptors, too long, or cut short is refused") {
  SUBCASE("no descriptor") {
    Pair p;
    REQUIRE(quail::write_all(p.caller.get(), "L192.0.2.7\n"));
    std::string line;
    Fd got[1];
    CHECK_FALSE(quail::read_hello(p.helper.get(), 64, 2000, line, got));
  }
  SUBCASE("longer than the limit, with no LF in it") {
    Pair p;
    const int fds[] = {2};
    REQUIRE(quail::send_with_fds(p.caller.get(), std::string(100, '1'), fds, MSG_NOSIGNAL) == 100);
    std::string line;
    Fd got[1];
    CHECK_FALSE(quail::read_hello(p.helper.get(), 64, 2000, line, got));
  }
  SUBCASE("the caller gone before its LF") {
    Pair p;
    const int fds[] = {2};
    REQUIRE(quail::send_with_fds(p.caller.get(), "L192.0", fds, MSG_NOSIGNAL) == 6);
    p.caller.reset();
    std::string line;
    Fd got[1];
    CHECK_FALSE(quail::read_hello(p.helper.get(), 64, 2000, line, got));
  }
  SUBCASE("nothing within the timeout") {
    Pair p;
    std::string line;
    Fd got[1];
    CHECK_FALSE(quail::read_hello(p.helper.get(), 64, 300, line, got));
  }
}

TEST_CASE("unix_connect: a helper's socket is 0600 whatever the umask, and replaces a stale one") {
  char tmpl[] = "/tmp/quail-ut-unix-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string path = std::string(tmpl) + "/helper.sock";
  REQUIRE(quail::write_all(Fd(::open(path.c_str(), O_WRONLY | O_CREAT, 0644)).get(), "stale"));
  mode_t old = ::umask(0);
  auto bound = quail::bind_unix_private(path);
  ::umask(old);
  REQUIRE(bound);
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::listen(bound->get(), 4) == 0);
  CHECK(quail::connect_unix_now(path).valid());
  // A path longer than a sockaddr_un holds is a clear error, not a truncated name.
  CHECK_FALSE(quail::bind_unix_private(std::string(tmpl) + "/" + std::string(200, 'x')));
  ::unlink(path.c_str());
  ::rmdir(tmpl);
}
