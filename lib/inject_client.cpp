// Running queue-inject (or its QUEUE_PROGRAM filter): see inject_client.hpp.
#include "inject_client.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

#include "fd.hpp"
#include "root.hpp"
#include "spawn.hpp"

extern char** environ;

namespace quail {

std::string queue_program(const std::string& root) {
  const char* p = std::getenv("QUEUE_PROGRAM");
  if (p && *p) return p;
  return bin_dir(root) + "/queue-inject";
}

Result<qq::Outcome> inject_message(const std::string& root, const std::function<bool(int)>& write_message,
                                   const Envelope& env, int* exit_code) {
  int mp[2], ep[2], cp[2];
  if (::pipe2(mp, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd m_read(mp[0]), m_write(mp[1]);
  if (::pipe2(ep, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd e_read(ep[0]), e_write(ep[1]);
  // fd 6 carries notqmail's custom error text (exit 82).
  if (::pipe2(cp, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create pipe");
  Fd c_read(cp[0]), c_write(cp[1]);

  SpawnOptions opt;
  opt.fd_map = {{0, m_read.get()}, {1, e_read.get()}, {6, c_write.get()}};
  // The queue program finds its root in the environment: hand it ours, whatever
  // the caller's environment says.
  opt.set_env = true;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).rfind("QUAIL_ROOT=", 0) != 0) opt.env.emplace_back(*e);
  }
  opt.env.push_back("QUAIL_ROOT=" + root);
  auto pid = spawn({queue_program(root)}, opt);
  if (!pid) return pid.error();
  m_read.reset();
  e_read.reset();
  c_write.reset();

  // A queue program that dies early closes its pipes: our writes then fail with
  // EPIPE (SIGPIPE is ignored by every quail program) and its exit code tells why.
  bool wrote = write_message(m_write.get());
  m_write.reset();
  if (wrote) write_all(e_write.get(), serialize_envelope(env));
  e_write.reset();
  std::string custom;
  read_all(c_read.get(), custom, 4096);
  auto st = wait_for(*pid);
  if (!st) return st.error();
  if (exit_code) *exit_code = st->signaled ? -1 : st->code;
  if (!wrote && st->ok()) return qq::Outcome{false, "unable to write the message to the queue (#4.3.0)"};
  return qq::describe(st->code, st->signaled, custom);
}

}  // namespace quail
