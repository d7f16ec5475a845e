// Running a .qmail program line: see program.hpp. The child gets its own process
// group so a time-out kills everything it started.
#include "command.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.hpp"
#include "fd.hpp"
#include "spawn.hpp"

namespace quail::ld {
namespace {

constexpr size_t output_keep = 1000;

Result<pid_t> start(const ProgramRun& run, int out_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, run.stdin_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, def;
  sigemptyset(&none);
  sigfillset(&def);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  const char* argv[] = {"sh", "-c", run.command.c_str(), nullptr};
  std::vector<char*> envp;
  for (const auto& e : run.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid;
  int r = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0) return sys_error(ErrorKind::temporary, "start /bin/sh", r);
  return pid;
}

// Output as one printable line: line ends become '/', other controls '_'.
std::string one_line(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw) {
    if (c == '\n') {
      if (!out.empty() && out.back() != '/') out += '/';
    } else if (c < 0x20 || c == 0x7f) {
      out += '_';
    } else {
      out += static_cast<char>(c);
    }
  }
  while (!out.empty() && (out.back() == '/' || out.back() == ' ')) out.pop_back();
  return out;
}

// True when s already ends in an RFC 3463 code of the given class ("(#4.2.2)").
bool ends_with_code(const std::string& s, char cls) {
  size_t open = s.rfind("(#");
  return open != std::string::npos && s.back() == ')' && s.size() - open >= 8 && s[open + 2] == cls &&
         s[open + 3] == '.';
}

}  // namespace

Step program_step(bool signaled, int code, const std::string& output) {
  std::string said = one_line(output);
  auto with = [&](const std::string& fallback) { return said.empty() ? fallback : said; };
  if (signaled) return temporary(with("program killed by signal " + std::to_string(code)));
  switch (code) {
    case 0:
      return ok_step();
    case 99:
      return Step{StepKind::stop, {}};
    case 64: case 65: case 70: case 76: case 77: case 78: case 100: case 112: {
      std::string why = with("program exited " + std::to_string(code));
      return ends_with_code(why, '5') ? Step{StepKind::permanent, why} : permanent(why, "5.3.0");
    }
    default: {
      std::string why = with("program exited " + std::to_string(code));
      return ends_with_code(why, '4') ? Step{StepKind::temporary, why} : temporary(why, "4.3.0");
    }
  }
}

Step run_program(const ProgramRun& run) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return temporary(sys_error(ErrorKind::temporary, "create a pipe"));
  Fd rd(p[0]), wr(p[1]);
  if (::lseek(run.stdin_fd, 0, SEEK_SET) != 0) return temporary(sys_error(ErrorKind::temporary, "rewind the message"));
  auto pid = start(run, wr.get());
  if (!pid) return temporary(pid.error());
  wr.reset();
  // A pidfd says when the child ends even if something it started keeps the
  // pipe open; without one (old kernels), poll in short ticks.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));
  std::string output;
  const int64_t deadline = monotonic_ms() + run.timeout_seconds * 1000LL;
  bool pipe_open = true, exited = false;
  int wstatus = 0;
  while (!exited) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      ::kill(-*pid, SIGKILL);
      ::waitpid(*pid, &wstatus, 0);
      return temporary("program timed out after " + std::to_string(run.timeout_seconds) + " seconds");
    }
    struct pollfd fds[2] = {{rd.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    int tick = pidfd.valid() ? static_cast<int>(std::min<int64_t>(left, 60000)) : 50;
    int n = ::poll(pipe_open ? fds : fds + 1, pipe_open ? 2 : 1, pidfd.valid() || pipe_open ? tick : 0);
    if (n < 0 && errno != EINTR) return temporary(sys_error(ErrorKind::temporary, "wait for the program"));
    if (pipe_open && n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[4096];
      ssize_t r = ::read(rd.get(), buf, sizeof buf);
      if (r > 0 && output.size() < output_keep) output.append(buf, std::min(static_cast<size_t>(r), output_keep - output.size()));
      if (r == 0) pipe_open = false;
    }
    pid_t w = ::waitpid(*pid, &wstatus, WNOHANG);
    if (w == *pid) exited = true;
    if (!pidfd.valid() && !pipe_open && !exited) ::usleep(50000);
  }
  // Whatever the program wrote before it ended is already in the pipe.
  ::fcntl(rd.get(), F_SETFL, O_NONBLOCK);
  char buf[4096];
  ssize_t r;
  while (pipe_open && output.size() < output_keep && (r = ::read(rd.get(), buf, sizeof buf)) > 0) {
    output.append(buf, std::min(static_cast<size_t>(r), output_keep - output.size()));
  }
  ExitStatus st = decode_status(wstatus);
  return program_step(st.signaled, st.code, output);
}

}  // namespace quail::ld
