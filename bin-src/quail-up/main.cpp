// quail up: validate every control file, then start queue-send and the listeners
// asked for, each detached with its log in ROOT/log and pid in ROOT/run, and return
// once each is ready. Idempotent: a running service is left alone. See man/quail.8.
#include <getopt.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "control.hpp"
#include "fd.hpp"
#include "home_table.hpp"
#include "passwd_file.hpp"
#include "program.hpp"
#include "root.hpp"
#include "service.hpp"
#include "service_cli.hpp"
#include "service_lock.hpp"
#include "up.hpp"

namespace {

namespace admin = quail::admin;
constexpr int ready_timeout_ms = 10000;

constexpr std::string_view usage_text =
    "usage: quail up [--smtp A:P] [--submission A:P] [--smtps A:P] [--pop3 A:P] [--pop3s A:P]\n"
    "       A:P is 127.0.0.1:25 or [::1]:25\n";

int usage() {
  admin::say("up", "usage error");
  (void)quail::write_all(2, usage_text);
  return admin::usage;
}

int fail(const quail::Error& e) {
  admin::say("up", e.reason);
  return admin::exit_code(e.kind);
}

void tell(const std::string& line) { (void)quail::write_all(1, line + "\n"); }

// What to start: queue-send, then each listener asked for, in service_names() order.
struct Plan {
  std::vector<quail::up::StartSpec> services;
};

Plan make_plan(const std::string& root, bool system) {
  Plan plan;
  std::string bin = quail::bin_dir(root);
  // local-spawn runs each local delivery in a forked child (no exec per delivery).
  // System install: it keeps root (the only process that does), starts queue-send
  // as quail-send and each delivery as its recipient. Single-user ("-"): no uid
  // changes, and queue-send takes local-spawn's place (the service's pid is queue-send's).
  plan.services.push_back({root, "queue-send", {bin + "/local-spawn", system ? "quail-send" : "-", bin + "/queue-send"}});
  return plan;
}

// Starts one service unless it already runs; false (after saying why) when it fails.
int bring_up(const quail::up::StartSpec& spec) {
  auto st = quail::service_status(spec.root, spec.service);
  if (st.state == quail::ServiceState::running) {
    auto running = quail::process_argv(st.pid);
    // A script's interpreter comes first in its argv (see process_is).
    if (running && running->size() > 1 && (*running)[0] != spec.argv[0]) running->erase(running->begin());
    // `local-spawn - queue-send` runs as the queue-send it execs in its own place.
    std::vector<std::string> expected = spec.argv;
    if (expected.size() > 2 && expected[1] == "-" && expected[0].ends_with("/local-spawn")) {
      expected.erase(expected.begin(), expected.begin() + 2);
    }
    if (running && *running != expected) {
      admin::say("up", spec.service + " runs with other arguments; run quail down to change them");
    }
    tell(spec.service + " already running, pid " + std::to_string(st.pid));
    return admin::ok;
  }
  if (st.state == quail::ServiceState::stale) {
    // A dead process, or a pid reused by another program: the file no longer means anything.
    if (auto s = quail::remove_pid_file(quail::service_pid_file(spec.root, spec.service)); !s) return fail(s.error());
  }
  auto pid = quail::up::start_service(spec, ready_timeout_ms);
  if (!pid) return fail(pid.error());
  tell(spec.service + " started, pid " + std::to_string(*pid));
  return admin::ok;
}

// quail reads logins from /etc/passwd itself (man/quail.8, SYSTEM USERS) and
// skips a malformed line: its login would get no mail, so the administrator hears
// of it here, once per start, rather than from a 550 to a sender.
void warn_malformed_logins() {
  auto file = quail::PasswdFile::read(quail::system_passwd_path);
  if (!file) return;
  for (size_t line : file->malformed_lines()) {
    admin::say("up", std::string("warning: ") + quail::system_passwd_path + " line " + std::to_string(line) +
                         " is malformed; quail ignores it (that login receives no mail)");
  }
}

int run(int argc, char** argv) {
  static const option longopts[] = {
      {"root", required_argument, nullptr, 'r'},  {"smtp", required_argument, nullptr, 1},
      {"submission", required_argument, nullptr, 2}, {"smtps", required_argument, nullptr, 3},
      {"pop3", required_argument, nullptr, 4},    {"pop3s", required_argument, nullptr, 5},
      {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  std::vector<std::string> addr(6);  // by service_names() index; "" = not asked for
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    if (c == 'r') root_flag = optarg;
    else if (c >= 1 && c <= 5 && addr[static_cast<size_t>(c)].empty()) addr[static_cast<size_t>(c)] = optarg;
    else return usage();
  }
  if (optind != argc) return usage();
  auto root = admin::open_root(root_flag);
  if (!root) return fail(root.error());
  // One quail up or down at a time per root: two would race on the same pid files.
  auto lock = quail::FileLock::acquire(*root + "/run/.lock");
  if (!lock) return fail(lock.error());

  // Nothing starts on a malformed control file: the error names the file and line.
  if (auto s = quail::Control(*root).validate_all(); !s) return fail(s.error());

  auto system = quail::Control(*root).integer("system");
  if (!system) return fail(system.error());
  if (*system == 1 && ::geteuid() != 0) {
    admin::say("up", "a system install (control/system) is started by root");
    return admin::usage;
  }
  if (*system == 1) {
    warn_malformed_logins();
    // smtpd validates system users' extensions with the home table (man/quail.8,
    // SYSTEM USERS): current before the first session; local-spawn keeps it so.
    auto minuid = quail::Control(*root).integer("minuid");
    if (!minuid) return fail(minuid.error());
    if (auto u = quail::refresh_home_table(*root, *minuid); !u) return fail(u.error());
  }
  Plan plan = make_plan(*root, *system == 1);
  struct stat st;
  for (const auto& prog : plan.services[0].argv) {
    if (prog.front() == '/' && ::stat(prog.c_str(), &st) != 0) {
      admin::say("up", "queue-send needs " + prog + ", which is not installed");
      return admin::usage;
    }
  }
  const auto& names = quail::service_names();
  for (size_t i = 1; i < names.size(); ++i) {
    if (addr[i].empty()) continue;
    auto req = quail::up::parse_listen(names[i], addr[i]);
    if (!req) return fail(req.error());
    for (const auto& prog : quail::up::listener_programs(names[i])) {
      if (::stat((quail::bin_dir(*root) + "/" + prog).c_str(), &st) != 0) {
        admin::say("up", "--" + names[i] + " needs " + prog + ", which is not installed");
        return admin::usage;
      }
    }
    auto largv = quail::up::listener_argv(*root, *req);
    if (!largv) return fail(largv.error());
    plan.services.push_back({*root, names[i], std::move(*largv)});
  }
  for (size_t i = 1; i < plan.services.size(); ++i) {
    auto warning = quail::up::refresh_rules(*root, plan.services[i].service);
    if (!warning) return fail(warning.error());
    if (!warning->empty()) admin::say("up", "warning: " + *warning);
  }

  for (const auto& spec : plan.services) {
    if (int code = bring_up(spec); code != admin::ok) return code;
  }
  return admin::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-up", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
