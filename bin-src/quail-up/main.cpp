// quail up: validate every control file, then start queue-send and the listeners
// of control/listeners (a --<service> flag adds or replaces its line there), each
// under supervise, detached with its log in ROOT/log and pids in ROOT/run, and
// return once each is ready. Idempotent: a running service is left alone. Exits
// non-zero when a configured service was left down. See man/quail-up.8.
#include <algorithm>
#include <getopt.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "control.hpp"
#include "dnsbl.hpp"
#include "fd.hpp"
#include "home_table.hpp"
#include "milter_config.hpp"
#include "passwd_file.hpp"
#include "program.hpp"
#include "root.hpp"
#include "service.hpp"
#include "service_cli.hpp"
#include "service_lock.hpp"
#include "service_tables.hpp"
#include "up.hpp"
#include "tls_start.hpp"

namespace {

namespace admin = quail::admin;
constexpr int ready_timeout_ms = 10000;

constexpr std::string_view usage_text =
    "usage: quail up [--smtp A:P] [--submission A:P] [--smtps A:P] [--pop3 A:P] [--pop3s A:P]\n"
    "                [--lists-http A:P]\n"
    "       A:P is 127.0.0.1:25, [::1]:25 or a host name, localhost:25 (resolved once, here)\n";

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

// What to start: queue-send, queue-inject in a system install, then each
// listener of control/listeners, in service_names() order, each under supervise (man/supervise.8).
struct Plan {
  std::vector<quail::up::StartSpec> services;
};

std::vector<std::string> queue_send_argv(const std::string& root, bool system) {
  std::string bin = quail::bin_dir(root);
  // local-spawn runs each local delivery in a forked child (no exec per delivery).
  // System install: it keeps root (the only process that does), starts queue-send
  // as quail-send and each delivery as its recipient. Single-user ("-"): no uid
  // changes, and queue-send takes local-spawn's place (the service's pid is queue-send's).
  return {bin + "/local-spawn", system ? "quail-send" : "-", bin + "/queue-send"};
}

// Starts one service under supervise unless it already runs; admin::ok, or the
// exit code after saying why.
int bring_up(const quail::up::StartSpec& spec) {
  auto sup = quail::supervisor_status(spec.root, spec.service);
  if (sup.state == quail::ServiceState::running) {
    auto running = quail::process_argv(sup.pid);
    if (running && *running != spec.argv) {
      admin::say("up", spec.service + " runs with other arguments; run quail down to change them");
    }
    auto child = quail::service_status(spec.root, spec.service);
    tell(spec.service + " already running, pid " + std::to_string(child.pid ? child.pid : sup.pid));
    return admin::ok;
  }
  // A service an older quail up started without supervise: left alone until quail down.
  if (auto st = quail::service_status(spec.root, spec.service); st.state == quail::ServiceState::running) {
    tell(spec.service + " already running, pid " + std::to_string(st.pid) + " (not supervised: quail down; quail up)");
    return admin::ok;
  }
  // Dead processes, or pids reused by other programs: the files no longer mean anything.
  for (const auto& f : {spec.pid_file, quail::service_pid_file(spec.root, spec.service),
                        quail::service_state_file(spec.root, spec.service)}) {
    if (auto s = quail::remove_pid_file(f); !s) return fail(s.error());
  }
  auto pid = quail::up::start_service(spec, ready_timeout_ms);
  if (!pid) return fail(pid.error());
  auto child = quail::service_status(spec.root, spec.service);
  tell(spec.service + " started, pid " + std::to_string(child.pid ? child.pid : *pid));
  return admin::ok;
}

// The listeners to run: control/listeners, with each --<service> flag replacing
// (or adding) its service's line; *changed when a flag changed the file's list.
quail::Result<std::vector<quail::up::ListenRequest>> listeners(const std::string& root,
                                                              const std::vector<std::string>& addr, bool* changed) {
  auto known = quail::up::read_listeners(root);
  if (!known) return known.error();
  const auto& names = quail::listener_names();  // the --<service> flags, by getopt value - 1
  *changed = false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (addr[i].empty()) continue;
    auto parsed = quail::up::parse_listen(names[i], addr[i], true);
    if (!parsed) return parsed.error();
    // A name is resolved here, once: control/listeners, supervise and remote-deliver's
    // loop check all work with the address (man/quail.8, "up").
    std::vector<std::string> others;
    auto req = quail::up::resolve_listen(*parsed, &others);
    if (!req) return req.error();
    if (!parsed->name.empty()) {
      std::string line = "--" + names[i] + " " + parsed->name + " is " + req->host + "; listening there";
      if (!others.empty()) {
        line += " only (" + parsed->name + " also has";
        for (const auto& o : others) line += " " + o;
        line += ": give an address to choose another)";
      }
      tell(line);
    }
    auto same = std::find_if(known->begin(), known->end(), [&](const auto& r) { return r.service == names[i]; });
    if (same == known->end()) {
      known->push_back(*req);
    } else if (same->host != req->host || same->port != req->port) {
      *same = *req;
    } else {
      continue;
    }
    *changed = true;
  }
  return known;
}

// quail reads logins from /etc/passwd itself (man/quail.8, SYSTEM USERS) and
// skips a malformed line: its login would get no mail, so the administrator hears
// of it here, once per start, rather than from a 550 to a sender.
void warn_malformed_logins() {
  auto file = quail::PasswdFile::read(quail::system_passwd_path);
  if (!file) {
    // Read again at every lookup; mail to logins waits (never bounces) while this lasts.
    admin::say("up", "warning: " + file.error().reason + "; deliveries to logins wait until it reads whole");
    return;
  }
  for (size_t line : file->malformed_lines()) {
    admin::say("up", std::string("warning: ") + quail::system_passwd_path + " line " + std::to_string(line) +
                         " is malformed; quail ignores it (that login receives no mail)");
  }
}

// A resident helper's supervised command line: PROGRAM -d, with quail-smtpd's
// ids in a system install (it binds as root, then becomes the sessions' user).
quail::Result<std::vector<std::string>> resident_helper_argv(const std::string& root, const std::string& name,
                                                             bool system) {
  std::vector<std::string> argv = {quail::bin_dir(root) + "/" + name, "-d"};
  if (system) {
    auto ids = quail::up::smtpd_ids_flags();
    if (!ids) return ids.error();
    argv.insert(argv.end(), ids->begin(), ids->end());
  }
  return quail::up::supervised_argv(root, name, nullptr, std::move(argv));
}

int run(int argc, char** argv) {
  static const option longopts[] = {
      {"root", required_argument, nullptr, 'r'},  {"smtp", required_argument, nullptr, 1},
      {"submission", required_argument, nullptr, 2}, {"smtps", required_argument, nullptr, 3},
      {"pop3", required_argument, nullptr, 4},    {"pop3s", required_argument, nullptr, 5},
      {"lists-http", required_argument, nullptr, 6},
      {"help", no_argument, nullptr, 'h'},     {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  std::vector<std::string> addr(quail::listener_names().size());  // by listener_names() index; "" = not asked for
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, nullptr)) != -1) {
    if (c == 'r') root_flag = optarg;
    else if (c == 'h') return admin::help(usage_text);
    else if (c >= 1 && c <= 6 && addr[static_cast<size_t>(c - 1)].empty()) addr[static_cast<size_t>(c - 1)] = optarg;
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
  // control/milters has a syntax of its own: smtpd would answer every session 421.
  if (auto m = quail::milter::load_config(quail::Control(*root)); !m) return fail(m.error());
  // What the services fall back to if a file is spoiled later (man/quail-control.5).
  if (auto s = quail::write_control_snapshot(*root); !s) return fail(s.error());
  for (const auto& name : quail::unknown_control_files(*root)) {
    admin::say("up", "warning: control/" + name + " is not a file quail reads; it is ignored (quail config check)");
  }

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
    if (auto s = quail::up::prepare_login_failures(*root); !s) return fail(s.error());
  }
  bool changed = false;
  auto wanted = listeners(*root, addr, &changed);
  if (!wanted) return fail(wanted.error());
  Plan plan;
  auto qs = quail::up::supervised_argv(*root, "queue-send", nullptr, queue_send_argv(*root, *system == 1));
  if (!qs) return fail(qs.error());
  plan.services.push_back({*root, "queue-send", std::move(*qs), quail::service_supervisor_pid_file(*root, "queue-send")});
  struct stat st;
  for (const auto& prog : plan.services[0].argv) {
    if (prog.front() == '/' && ::stat(prog.c_str(), &st) != 0) {
      admin::say("up", "queue-send needs " + prog + ", which is not installed");
      return admin::usage;
    }
  }
  if (*system == 1) {
    // The resident injector: smtpd's sessions fork from it instead of exec'ing the
    // set-uid queue-inject (man/queue-inject.8, "Resident mode").
    auto qi = quail::up::supervised_argv(*root, "queue-inject", nullptr, {quail::bin_dir(*root) + "/queue-inject", "-d"});
    if (!qi) return fail(qi.error());
    plan.services.push_back({*root, "queue-inject", std::move(*qi), quail::service_supervisor_pid_file(*root, "queue-inject")});
  }
  // The resident helpers: smtpd's sessions fork their SPF/DMARC helper (when the
  // checks are on), their tlsd (when TLS can be offered) and their DNS lists'
  // lookup (when a list names a zone) from them instead of exec'ing one
  // (man/mailauth.8, tlsd.8 and dnsbl.8, "Resident mode"). Without them
  // sessions exec their helpers, as before.
  auto authcheck = quail::Control(*root).integer("authcheck");
  if (!authcheck) return fail(authcheck.error());
  auto lists = quail::dns_lists_configured(*root);
  if (!lists) return fail(lists.error());
  for (auto [name, wanted] : {std::pair{"mailauth", *authcheck != 0}, {"tlsd", quail::tls_available(*root)},
                              {"dnsbl", *lists}}) {
    if (!wanted) continue;
    auto argv = resident_helper_argv(*root, name, *system == 1);
    if (!argv) return fail(argv.error());
    plan.services.push_back({*root, name, std::move(*argv), quail::service_supervisor_pid_file(*root, name)});
  }
  for (const auto& name : quail::service_names()) {
    auto req = std::find_if(wanted->begin(), wanted->end(), [&](const auto& r) { return r.service == name; });
    if (req == wanted->end()) continue;
    for (const auto& prog : quail::up::listener_programs(name)) {
      if (::stat((quail::bin_dir(*root) + "/" + prog).c_str(), &st) != 0) {
        admin::say("up", "--" + name + " needs " + prog + ", which is not installed");
        return admin::usage;
      }
    }
    auto largv = quail::up::listener_argv(*root, *req);
    if (!largv) return fail(largv.error());
    auto sargv = quail::up::supervised_argv(*root, name, &*req, std::move(*largv));
    if (!sargv) return fail(sargv.error());
    plan.services.push_back({*root, name, std::move(*sargv), quail::service_supervisor_pid_file(*root, name)});
  }
  for (size_t i = 1; i < plan.services.size(); ++i) {
    if (!quail::service_is_listener(plan.services[i].service)) continue;
    auto warning = quail::refresh_rules(*root, plan.services[i].service);
    if (!warning) return fail(warning.error());
    if (!warning->empty()) admin::say("up", "warning: " + *warning);
  }

  // Only now, with every program there and every rules file compiled, do the flags become configuration.
  if (changed) {
    if (auto s = quail::up::write_listeners(*root, *wanted); !s) return fail(s.error());
  }

  // Every configured service gets its chance; one that stays down makes the exit non-zero.
  int result = admin::ok;
  for (const auto& spec : plan.services) {
    if (int code = bring_up(spec); code != admin::ok && result == admin::ok) result = code;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-up", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
