// quail reload: make the running services use the configuration now in control/.
// Validates every control file and table first and changes nothing when one is
// bad (the services keep the last good configuration); then rebuilds the stale
// cdb files (rules.<service>, aliases), records the new last good configuration
// (run/control.good) and sends SIGHUP to queue-send, which rereads its settings
// (smtpd and tcpserver read theirs per connection). See man/quail-reload.8.
#include <csignal>
#include <string>

#include "control.hpp"
#include "fd.hpp"
#include "program.hpp"
#include "service.hpp"
#include "service_cli.hpp"
#include "service_lock.hpp"
#include "service_tables.hpp"
#include "users_table.hpp"

namespace {

namespace admin = quail::admin;

int refuse(const quail::Error& e) {
  admin::say("reload", e.reason + "; nothing reloaded: the services keep the last good configuration");
  return admin::exit_code(e.kind);
}

void tell(const std::string& line) { (void)quail::write_all(1, line + "\n"); }

int run(int argc, char** argv) {
  if (admin::asks_help(argc, argv)) {
    return admin::help("usage: quail reload    check control/ and the tables, rebuild stale ones, HUP queue-send\n");
  }
  std::string root;
  if (int code = admin::root_only_arguments("reload", argc, argv, &root); code != admin::ok) return code;
  // Not while quail up or down changes the services.
  auto lock = quail::FileLock::acquire(root + "/run/.lock");
  if (!lock) return refuse(lock.error());

  if (auto s = quail::Control(root).validate_all(); !s) return refuse(s.error());
  if (auto users = quail::load_users(root); !users) return refuse(users.error());
  // A table that does not compile keeps its old cdb; the compiler named the line.
  bool compiled = false;
  auto warning = quail::refresh_aliases(root, &compiled);
  if (!warning) return refuse(warning.error());
  if (!warning->empty()) admin::say("reload", "warning: " + *warning);
  if (compiled) tell("users/aliases.cdb rebuilt from control/aliases");
  for (const auto& name : quail::service_names()) {
    if (!quail::service_is_listener(name)) continue;
    warning = quail::refresh_rules(root, name, &compiled);
    if (!warning) return refuse(warning.error());
    if (!warning->empty()) admin::say("reload", "warning: " + *warning);
    if (compiled) tell("control/rules." + name + ".cdb rebuilt from control/rules." + name);
  }
  if (auto s = quail::write_control_snapshot(root); !s) return refuse(s.error());
  for (const auto& name : quail::unknown_control_files(root)) {
    admin::say("reload", "warning: control/" + name + " is not a file quail reads; it is ignored (quail config check)");
  }

  auto qs = quail::service_status(root, "queue-send");
  if (qs.state != quail::ServiceState::running) {
    tell("configuration valid; queue-send is not running (quail up starts it with this configuration)");
    return admin::ok;
  }
  // In a system install the pid is local-spawn's, which passes SIGHUP on to queue-send.
  if (::kill(qs.pid, SIGHUP) != 0) return refuse(quail::sys_error(quail::ErrorKind::temporary, "signal queue-send"));
  tell("configuration valid; queue-send reloaded (SIGHUP to pid " + std::to_string(qs.pid) + ")");
  return admin::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-reload", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
