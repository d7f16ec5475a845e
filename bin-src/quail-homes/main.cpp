// quail homes: bring ROOT/users/homes.cdb (the home table) up to date now, from
// /etc/passwd and the logins' homes, for a system install. Root only: it enters
// private homes. local-spawn does the same every few seconds by itself; this is
// for an administrator who will not wait. See man/quail.8, SYSTEM USERS.
#include <string>
#include <unistd.h>

#include "control.hpp"
#include "fd.hpp"
#include "home_table.hpp"
#include "program.hpp"
#include "service_cli.hpp"

namespace {

namespace admin = quail::admin;

int fail(const quail::Error& e) {
  admin::say("homes", e.reason);
  return admin::exit_code(e.kind);
}

int run(int argc, char** argv) {
  if (admin::asks_help(argc, argv)) return admin::help("usage: quail homes    refresh the home table now (system install, root)\n");
  std::string root;
  if (int code = admin::root_only_arguments("homes", argc, argv, &root); code != admin::ok) return code;
  quail::Control control(root);
  auto system = control.integer("system");
  if (!system) return fail(system.error());
  if (*system != 1) {
    admin::say("homes", "not a system install (control/system): there are no system users to list");
    return admin::usage;
  }
  if (::geteuid() != 0) {
    admin::say("homes", "must run as root, to enter private homes");
    return admin::usage;
  }
  auto minuid = control.integer("minuid");
  if (!minuid) return fail(minuid.error());
  auto u = quail::refresh_home_table(root, *minuid);
  // A home changed in the last seconds is recorded as unknown (smtpd keeps
  // answering 451 for its extensions): wait until it has settled and list it
  // again, so that when this returns the table is current.
  for (int round = 0; u && u->unsettled > 0 && round < 5; ++round) {
    ::sleep(quail::home_table_settle_seconds);
    u = quail::refresh_home_table(root, *minuid);
  }
  if (!u) return fail(u.error());
  quail::write_all(1, "quail homes: " + std::to_string(u->logins) + " logins, " + std::to_string(u->listed) +
                          " homes listed, table " + (u->written ? "rewritten" : "unchanged") + "\n");
  return admin::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-homes", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
