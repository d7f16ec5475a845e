// quail down: stop every service quail up started (listeners first so no new mail
// arrives, queue-send last): SIGTERM to its supervise, which passes it on and
// exits when the service has, up to 30 s, then SIGKILL. Pid files naming no live
// service are just removed. control/listeners is kept for the next quail up.
// See man/quail-down.8.
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

// Stops one service: its supervise first (which passes SIGTERM on and waits
// for the child), then the child itself if it outlived supervise or never had
// one; admin::ok when it is stopped (or was not running).
int stop(const std::string& root, const std::string& name) {
  auto sup = quail::supervisor_status(root, name);
  auto child = quail::service_status(root, name);
  std::string sup_file = quail::service_supervisor_pid_file(root, name);
  if (sup.state == quail::ServiceState::running) {
    auto how = quail::stop_process(sup.pid, stop_timeout_ms);
    if (!how) return fail(how.error());
    if (!*how) admin::say("down", name + " (supervise pid " + std::to_string(sup.pid) + ") did not stop within 30 s; killed");
  } else if (sup.state == quail::ServiceState::stale) {
    admin::say("down", "removing stale pid file " + sup_file);
  }
  std::string pid_file = quail::service_pid_file(root, name);
  if (auto left = quail::service_status(root, name); left.state == quail::ServiceState::running) {
    auto how = quail::stop_process(left.pid, stop_timeout_ms);
    if (!how) return fail(how.error());
    if (!*how) admin::say("down", name + " (pid " + std::to_string(left.pid) + ") did not stop within 30 s; killed");
  } else if (left.state == quail::ServiceState::stale && sup.state != quail::ServiceState::running) {
    admin::say("down", "removing stale pid file " + pid_file);
  }
  if (sup.state == quail::ServiceState::running || child.state == quail::ServiceState::running) {
    tell(name + " stopped, pid " + std::to_string(child.pid ? child.pid : sup.pid));
  }
  for (const auto& f : {sup_file, pid_file, quail::service_state_file(root, name)}) {
    if (auto s = quail::remove_pid_file(f); !s) return fail(s.error());
  }
  return admin::ok;
}

constexpr std::string_view usage_text =
    "usage: quail down    stop every service quail up started (control/listeners is kept)\n";

int run(int argc, char** argv) {
  if (admin::asks_help(argc, argv)) return admin::help(usage_text);
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
