// posix_spawn wrapper: see spawn.hpp.
#include "spawn.hpp"

#include <cerrno>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace quail {

Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnOptions& opt) {
  if (argv.empty()) return Error{ErrorKind::permanent, "spawn: empty argv"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (auto [child, parent] : opt.fd_map) {
    if (child == parent) {
      // dup2 to itself would keep O_CLOEXEC set; dup through a spare number instead
      // is not possible here, so clear it by re-adding: open the same fd number.
      posix_spawn_file_actions_adddup2(&fa, parent, 1000);
      posix_spawn_file_actions_adddup2(&fa, 1000, child);
      posix_spawn_file_actions_addclose(&fa, 1000);
    } else {
      posix_spawn_file_actions_adddup2(&fa, parent, child);
    }
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  sigaddset(&def, SIGXFSZ);
  sigaddset(&def, SIGCHLD);
  sigaddset(&def, SIGHUP);
  sigaddset(&def, SIGTERM);
  sigaddset(&def, SIGINT);
  sigaddset(&def, SIGALRM);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  char** env = environ;
  if (opt.set_env) {
    for (const auto& e : opt.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    env = envp.data();
  }
  pid_t pid;
  int r = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0) return sys_error(ErrorKind::temporary, "spawn " + argv[0], r);
  return pid;
}

ExitStatus decode_status(int w) {
  if (WIFSIGNALED(w)) return {true, WTERMSIG(w)};
  if (WIFEXITED(w)) return {false, WEXITSTATUS(w)};
  return {true, 0};
}

Result<ExitStatus> wait_for(pid_t pid) {
  int w;
  for (;;) {
    pid_t r = ::waitpid(pid, &w, 0);
    if (r == pid) return decode_status(w);
    if (r < 0 && errno == EINTR) continue;
    return sys_error(ErrorKind::temporary, "wait for child " + std::to_string(pid));
  }
}

}  // namespace quail
