// quail down: stop every service quail up started (listeners first so no new mail
// arrives, queue-send last), each with SIGTERM and up to 30 s to finish, then
// SIGKILL. Pid files naming no live service are just removed. See man/quail.8.
#include <getopt.h>
#include <string>

#include "fd.hpp"
#include "program.hpp"
#include "service.hpp"
#include "service_cli.hpp"
#include "service_lock.hpp"

namespace {

namespace admin = quail::admin;
constexpr int stop_timeout_ms = 30000;

int fail(const quail::Error& e) {
  admin::say("down", e.reason);
  return admin::exit_code(e.kind);
}

void tell(const std::string& line) { (void)quail::write_all(1, line + "\n"); }

// Stops one service; admin::ok when it is stopped (or was not running).
int stop(const std::string& root, const std::string& name) {
  auto st = quail::service_status(root, name);
  std::string pid_file = quail::service_pid_file(root, name);
  if (st.state == quail::ServiceState::running) {
    auto how = quail::stop_process(st.pid, stop_timeout_ms);
    if (!how) return fail(how.error());
    if (*how) {
      tell(name + " stopped, pid " + std::to_string(st.pid));
    } else {
      admin::say("down", name + " (pid " + std::to_string(st.pid) + ") did not stop within 30 s; killed");
    }
  } else if (st.state == quail::ServiceState::stale) {
    admin::say("down", "removing stale pid file " + pid_file);
  }
  if (auto s = quail::remove_pid_file(pid_file); !s) return fail(s.error());
  return admin::ok;
}

int run(int argc, char** argv) {
  std::string opened;
  if (int code = admin::root_only_arguments("down", argc, argv, &opened); code != admin::ok) return code;
  const std::string* root = &opened;
  auto lock = quail::FileLock::acquire(*root + "/run/.lock");
  if (!lock) return fail(lock.error());
  int result = admin::ok;
  const auto& names = quail::service_names();
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    // Go on after a failure: the other services should still stop.
    if (int code = stop(*root, *it); code != admin::ok) result = code;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-down", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
