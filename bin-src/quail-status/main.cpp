// quail status: one line per service, for queue-send, every listener of
// control/listeners and any other service with a pid file:
//   <name> <state> pid=<pid|-> listen=<address|-> up=<seconds>s restarts=<n>
// state: running, restarting (supervise waits to restart it), stopped, or
// unsupervised. Exit 0 when every configured service runs, 1 otherwise. Reads
// ROOT/control/listeners, ROOT/run and /proc only. See man/quail-status.8.
#include <ctime>
#include <getopt.h>
#include <string>

#include "control.hpp"
#include "dnsbl.hpp"
#include "fd.hpp"
#include "program.hpp"
#include "service.hpp"
#include "service_cli.hpp"
#include "tls_start.hpp"

namespace {

namespace admin = quail::admin;

// "smtp 127.0.0.1:25" lines of control/listeners, by service; unreadable ones are
// shown as they are (quail up names the fault).
std::string listen_address(const std::vector<std::string>& lines, const std::string& name) {
  for (const auto& l : lines) {
    size_t space = l.find_first_of(" \t");
    if (space == std::string::npos || l.substr(0, space) != name) continue;
    size_t a = l.find_first_not_of(" \t", space);
    return a == std::string::npos ? "?" : l.substr(a);
  }
  return "";
}

constexpr std::string_view usage_text =
    "usage: quail status    one line per service: <name> <state> pid= listen= up= restarts=\n"
    "       exit 0 when every configured service runs, 1 otherwise\n";

int run(int argc, char** argv) {
  if (admin::asks_help(argc, argv)) return admin::help(usage_text);
  std::string opened;
  if (int code = admin::root_only_arguments("status", argc, argv, &opened); code != admin::ok) return code;
  const std::string& root = opened;
  auto listeners = quail::Control(root).list("listeners");
  std::vector<std::string> lines = listeners ? *listeners : std::vector<std::string>();
  if (!listeners) admin::say("status", listeners.error().reason);
  std::string out;
  bool all_run = static_cast<bool>(listeners);
  long now = static_cast<long>(::time(nullptr));
  auto system_flag = quail::Control(root).integer("system");
  const bool system = system_flag && *system_flag == 1;  // queue-inject runs only there
  auto authcheck = quail::Control(root).integer("authcheck");
  const bool checks = authcheck && *authcheck != 0;  // and mailauth only with these
  const bool tls = quail::tls_available(root);        // tlsd with a certificate
  auto lists = quail::dns_lists_configured(root);
  const bool dns_lists = lists && *lists;  // dnsbl when a list names a zone
  for (const auto& name : quail::service_names()) {
    std::string addr = listen_address(lines, name);
    bool configured = name == "queue-send" || (name == "queue-inject" && system) || (name == "mailauth" && checks) ||
                      (name == "tlsd" && tls) || (name == "dnsbl" && dns_lists) || !addr.empty();
    auto sup = quail::supervisor_status(root, name);
    auto child = quail::service_status(root, name);
    if (!configured && sup.state == quail::ServiceState::stopped && child.state == quail::ServiceState::stopped) continue;
    bool supervised = sup.state == quail::ServiceState::running;
    bool running = child.state == quail::ServiceState::running;
    std::string state = running ? (supervised ? "running" : "unsupervised") : (supervised ? "restarting" : "stopped");
    std::string up = "-", restarts = "-";
    if (auto rec = quail::read_service_record(root, name); rec && supervised) {
      if (running && rec->child == child.pid) up = std::to_string(now > rec->since ? now - rec->since : 0) + "s";
      restarts = std::to_string(rec->restarts);
    }
    if (configured && !(running && supervised)) all_run = false;
    out += name + " " + state + " pid=" + (running ? std::to_string(child.pid) : "-") +
           " listen=" + (addr.empty() ? "-" : addr) + " up=" + up + " restarts=" + restarts + "\n";
  }
  if (!quail::write_all(1, out)) return admin::temporary;
  return all_run ? admin::ok : admin::no;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-status", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
