// Unit tests for lib/spawn: exit codes and signals as wait_for reports them, fd
// mapping, the environment, and a program that cannot be started.
#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.hpp"
#include "spawn.hpp"

using quail::SpawnOptions;

namespace {

quail::ExitStatus run(const std::vector<std::string>& argv, const SpawnOptions& opt = {}) {
  auto pid = quail::spawn(argv, opt);
  REQUIRE(pid.ok());
  auto st = quail::wait_for(*pid);
  REQUIRE(st.ok());
  return *st;
}

// Runs argv with its fd 1 on a pipe; returns what it wrote.
std::string output_of(const std::vector<std::string>& argv, SpawnOptions opt = {}) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  quail::Fd r(p[0]), w(p[1]);
  opt.fd_map.emplace_back(1, w.get());
  auto pid = quail::spawn(argv, opt);
  REQUIRE(pid.ok());
  w.reset();
  std::string out;
  REQUIRE(quail::read_all(r.get(), out));
  REQUIRE(quail::wait_for(*pid).ok());
  return out;
}

}  // namespace

TEST_CASE("spawn: a child's exit code is reported") {
  for (int code : {0, 1, 7, 100, 111, 255}) {
    CAPTURE(code);
    auto st = run({"/bin/sh", "-c", "exit " + std::to_string(code)});
    CHECK_FALSE(st.signaled);
    CHECK(st.code == code);
    CHECK(st.ok() == (code == 0));
  }
}

TEST_CASE("spawn: a child killed by a signal is reported as signaled, not as an exit code") {
  auto st = run({"/bin/sh", "-c", "kill -TERM $$"});
  CHECK(st.signaled);
  CHECK(st.code == SIGTERM);
  CHECK_FALSE(st.ok());
  auto k = run({"/bin/sh", "-c", "kill -KILL $$"});
  CHECK(k.signaled);
  CHECK(k.code == SIGKILL);
}

TEST_CASE("spawn: the child starts with default signal handling even if the parent ignores SIGPIPE") {
  auto old = ::signal(SIGPIPE, SIG_IGN);
  // An ignored signal would be inherited through exec; posix_spawn must reset it.
  auto st = run({"/bin/sh", "-c", "kill -PIPE $$; exit 3"});
  ::signal(SIGPIPE, old);
  CHECK(st.signaled);
  CHECK(st.code == SIGPIPE);
}

TEST_CASE("spawn: a program that does not exist is an error, not a child") {
  auto pid = quail::spawn({"/nonexistent/quail-program"});
  CHECK_FALSE(pid.ok());
  CHECK_FALSE(quail::spawn({}).ok());
}

TEST_CASE("spawn: fd_map puts the parent's descriptors on the child's numbers") {
  CHECK(output_of({"/bin/sh", "-c", "printf hello"}) == "hello");
  // A descriptor mapped onto its own number survives exec despite O_CLOEXEC.
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  quail::Fd r(p[0]), w(p[1]);
  SpawnOptions opt;
  opt.fd_map = {{w.get(), w.get()}};
  // /dev/fd/N, not >&N: dash reads only one digit there, and this process may hold more than ten descriptors.
  auto pid = quail::spawn({"/bin/sh", "-c", "printf same >/dev/fd/" + std::to_string(w.get())}, opt);
  REQUIRE(pid.ok());
  w.reset();
  std::string out;
  REQUIRE(quail::read_all(r.get(), out));
  auto st = quail::wait_for(*pid);
  REQUIRE(st.ok());
  CHECK(st->ok());
  CHECK(out == "same");
}

TEST_CASE("spawn: descriptors opened with O_CLOEXEC and not mapped are closed in the child") {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  quail::Fd r(p[0]), w(p[1]);
  std::string probe = "if [ -e /proc/self/fd/" + std::to_string(w.get()) + " ]; then echo open; else echo closed; fi";
  CHECK(output_of({"/bin/sh", "-c", probe}) == "closed\n");
}

TEST_CASE("spawn: set_env replaces the environment; otherwise it is inherited") {
  ::setenv("QUAIL_UT_INHERITED", "yes", 1);
  CHECK(output_of({"/bin/sh", "-c", "echo \"$QUAIL_UT_INHERITED\""}) == "yes\n");
  SpawnOptions opt;
  opt.set_env = true;
  opt.env = {"ONLY=this"};
  CHECK(output_of({"/bin/sh", "-c", "echo \"$ONLY-$QUAIL_UT_INHERITED\""}, opt) == "this-\n");
  ::unsetenv("QUAIL_UT_INHERITED");
}

TEST_CASE("spawn: decode_status reads wait(2) statuses") {
  int status = 0;
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(42);
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  auto st = quail::decode_status(status);
  CHECK_FALSE(st.signaled);
  CHECK(st.code == 42);
}
