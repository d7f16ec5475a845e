// lib/fork_server: the program's side of tcpserver -F, driven as tcpserver drives
// it over a SOCK_SEQPACKET pair; the "session" each fork runs reports what it got.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.hpp"
#include "fd_passing.hpp"
#include "fork_server.hpp"

using namespace quail;

namespace {

// What a session of the test server does: tells its connection its environment
// as "TCPREMOTEIP|FORK|OTHER|fd0==fd1", then exits 7.
[[noreturn]] void test_session() {
  auto var = [](const char* n) { const char* v = std::getenv(n); return std::string(v ? v : "-"); };
  std::string out = var("TCPREMOTEIP") + "|" + var(fork_server::env_name) + "|" + var("OTHER");
  write_all(1, out);
  _exit(7);
}

// A server on one end of a fresh pair, fd 0 in the child: its pid; *channel ours.
pid_t start_server(Fd& channel) {
  int ch[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ch) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(ch[1], 0);
    ::close(ch[0]);
    ::close(ch[1]);
    ::setenv(fork_server::env_name, "1", 1);
    ::setenv("OTHER", "the server's own", 1);
    fork_server::serve_if_asked("test");
    test_session();
  }
  ::close(ch[1]);
  channel = Fd(ch[0]);
  return pid;
}

fork_server::Report next_report(int channel) {
  fork_server::Report r{};
  REQUIRE(::recv(channel, &r, sizeof r, 0) == static_cast<ssize_t>(sizeof r));
  return r;
}

std::string read_all(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("fork server: each session gets its own environment and connection; its end is reported") {
  Fd channel;
  pid_t server = start_server(channel);
  for (const char* ip : {"192.0.2.1", "2001:db8::7"}) {
    int conn[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, conn) == 0);
    Fd ours(conn[0]), theirs(conn[1]);
    std::string env = std::string("TCPREMOTEIP=") + ip + '\0' + "PROTO=TCP" + '\0' + "not an entry" + '\0';
    REQUIRE(send_with_fd(channel.get(), env, theirs.get(), 0) == static_cast<ssize_t>(env.size()));
    theirs = Fd();
    auto spawned = next_report(channel.get());
    CHECK(spawned.kind == fork_server::Report::spawned);
    CHECK(spawned.pid > 0);
    // Only the session's environment: neither the server's variable nor its own OTHER.
    CHECK(read_all(ours.get()) == std::string(ip) + "|-|-");
    auto ended = next_report(channel.get());
    CHECK(ended.kind == fork_server::Report::exited);
    CHECK(ended.pid == spawned.pid);
    CHECK(WIFEXITED(ended.status));
    CHECK(WEXITSTATUS(ended.status) == 7);
  }
  // A request without a connection is not a session; "stop" ends a server with none running.
  REQUIRE(::send(channel.get(), "hello", 5, 0) == 5);
  REQUIRE(::send(channel.get(), fork_server::stop_request.data(), fork_server::stop_request.size(), 0) ==
          static_cast<ssize_t>(fork_server::stop_request.size()));
  int status = 0;
  REQUIRE(::waitpid(server, &status, 0) == server);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("fork server: a request larger than max_request forks nothing and is answered E2BIG") {
  Fd channel;
  pid_t server = start_server(channel);
  int big = static_cast<int>(fork_server::max_request) + 4096;
  REQUIRE(::setsockopt(channel.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big) == 0);
  int conn[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, conn) == 0);
  Fd ours(conn[0]), theirs(conn[1]);
  std::string env = "TCPREMOTEIP=" + std::string(fork_server::max_request, 'x') + '\0';
  REQUIRE(send_with_fd(channel.get(), env, theirs.get(), 0) == static_cast<ssize_t>(env.size()));
  theirs = Fd();
  auto r = next_report(channel.get());
  CHECK(r.kind == fork_server::Report::failed);
  CHECK(r.status == E2BIG);
  // Nobody got the connection: our end reads EOF at once.
  CHECK(read_all(ours.get()).empty());
  channel = Fd();
  int status = 0;
  REQUIRE(::waitpid(server, &status, 0) == server);
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("fork server: the end of the channel ends the server, not its sessions") {
  Fd channel;
  pid_t server = start_server(channel);
  int conn[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, conn) == 0);
  Fd ours(conn[0]), theirs(conn[1]);
  std::string env = std::string("TCPREMOTEIP=198.51.100.9") + '\0';
  REQUIRE(send_with_fd(channel.get(), env, theirs.get(), 0) > 0);
  theirs = Fd();
  CHECK(next_report(channel.get()).kind == fork_server::Report::spawned);
  channel = Fd();
  int status = 0;
  REQUIRE(::waitpid(server, &status, 0) == server);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_all(ours.get()) == "198.51.100.9|-|-");
}

TEST_CASE("fork server: the variable without tcpserver's channel on fd 0 is ignored") {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // fd 0 a stream socket, as a client's connection under inetd would be.
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0) _exit(2);
    ::dup2(sp[0], 0);
    ::setenv(fork_server::env_name, "1", 1);
    fork_server::serve_if_asked("test");
    // Returned at once, in this very process, with the variable gone.
    _exit(std::getenv(fork_server::env_name) == nullptr ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
