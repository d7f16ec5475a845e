// The listeners quail up knows: what each needs installed and the tcpserver command
// line it runs (the contract with tcpserver and smtpd; man/quail.8, "LISTENERS").
#include <arpa/inet.h>
#include <charconv>
#include <pwd.h>
#include <sys/stat.h>

#include "control.hpp"
#include "root.hpp"
#include "spawn.hpp"
#include "up.hpp"

namespace quail::up {
namespace {

bool exists(const std::string& path, struct stat* st = nullptr) {
  struct stat local;
  return ::stat(path.c_str(), st ? st : &local) == 0;
}

bool is_pop3(const std::string& service) { return service == "pop3" || service == "pop3s"; }

}  // namespace

Result<ListenRequest> parse_listen(const std::string& service, const std::string& text) {
  Error bad{ErrorKind::permanent, "--" + service + " " + text + ": expected ADDRESS:PORT, as 127.0.0.1:25 or [::1]:25"};
  ListenRequest r{service, "", ""};
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == std::string::npos) return bad;
    r.host = text.substr(1, close - 1);
    r.port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) return bad;
    r.host = text.substr(0, colon);
    r.port = text.substr(colon + 1);
  }
  unsigned char buf[16];
  bool v6 = r.host.find(':') != std::string::npos;
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, r.host.c_str(), buf) != 1) return bad;
  if (v6 != (text.front() == '[')) return bad;  // IPv6 only in brackets, IPv4 never
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(r.port.data(), r.port.data() + r.port.size(), port);
  if (ec != std::errc() || ptr != r.port.data() + r.port.size() || port == 0 || port > 65535 || r.port[0] == '0') {
    return bad;
  }
  return r;
}

std::vector<std::string> listener_programs(const std::string& service) {
  // AUTH (submission, smtps) and POP3 logins verify passwords through checkpassword.
  // Implicit TLS (smtps, pop3s) runs tlsd in front of the protocol program.
  if (service == "smtp") return {"tcpserver", "smtpd"};
  if (service == "pop3") return {"tcpserver", "pop3d", "checkpassword"};
  if (service == "pop3s") return {"tcpserver", "tlsd", "pop3d", "checkpassword"};
  if (service == "smtps") return {"tcpserver", "tlsd", "smtpd", "checkpassword"};
  return {"tcpserver", "smtpd", "checkpassword"};
}

Result<std::vector<std::string>> listener_argv(const std::string& root, const ListenRequest& r) {
  Control control(root);
  auto incoming = control.integer("concurrencyincoming");
  if (!incoming) return incoming.error();
  auto perip = control.integer("concurrencyperip");
  if (!perip) return perip.error();
  auto backlog = control.integer("backlog");
  if (!backlog) return backlog.error();
  auto me = control.line("me");
  if (!me) return me.error();
  auto system = control.integer("system");
  if (!system) return system.error();
  std::string bin = bin_dir(root);
  std::vector<std::string> argv = {bin + "/tcpserver"};
  // POP3 sessions keep root until checkpassword has become the user (only root
  // reads /etc/shadow and can switch to a login; man/pop3d.8, SECURITY).
  if (*system == 1 && !is_pop3(r.service)) {
    // A system install: tcpserver binds (port 25 needs root), then every session runs as quail-smtpd.
    struct passwd* pw = ::getpwnam("quail-smtpd");
    if (!pw) return Error{ErrorKind::permanent, "system install without the quail-smtpd user: rerun quail init --system"};
    argv.insert(argv.end(), {"-u", std::to_string(pw->pw_uid), "-g", std::to_string(pw->pw_gid)});
  }
  std::string rules = root + "/control/rules." + r.service;
  if (r.service == "smtp" || exists(rules) || exists(rules + ".cdb")) {
    argv.insert(argv.end(), {"-x", rules + ".cdb"});
  }
  std::string busy = is_pop3(r.service) ? "-ERR " + *me + " too many connections, try again later"
                                        : "421 " + *me + " too many connections, try again later";
  argv.insert(argv.end(), {"-c", std::to_string(*incoming), "-C", std::to_string(*perip), "-b",
                           std::to_string(*backlog), "-o", busy, r.host, r.port});
  if (r.service == "smtps" || r.service == "pop3s") argv.push_back(bin + "/tlsd");
  argv.push_back(bin + (is_pop3(r.service) ? "/pop3d" : "/smtpd"));
  // Submission's policy (RFC 6409, RFC 8314 for 465): AUTH first, the user's own sender.
  if (r.service == "submission" || r.service == "smtps") argv.push_back("submission");
  return argv;
}

Result<std::string> refresh_rules(const std::string& root, const std::string& service) {
  std::string text = root + "/control/rules." + service;
  std::string cdb = text + ".cdb";
  struct stat ts, cs;
  if (!exists(text, &ts)) return std::string();
  bool have_cdb = exists(cdb, &cs);
  if (have_cdb && (cs.st_mtim.tv_sec > ts.st_mtim.tv_sec ||
                   (cs.st_mtim.tv_sec == ts.st_mtim.tv_sec && cs.st_mtim.tv_nsec >= ts.st_mtim.tv_nsec))) {
    return std::string();
  }
  std::string tool = bin_dir(root) + "/quail-rules";
  if (!exists(tool)) {
    return std::string("control/rules." + service + (have_cdb ? " is newer than its cdb" : " has no cdb") +
                       ", but quail-rules is not installed to compile it");
  }
  // Its messages (naming the file and line of a bad rule) go straight to our stderr.
  auto pid = spawn({tool, "--root", root, service});
  if (!pid) return pid.error();
  auto st = wait_for(*pid);
  if (!st) return st.error();
  if (st->ok()) return std::string();
  if (!st->signaled && st->code == 100) return Error{ErrorKind::permanent, "control/rules." + service + " does not compile"};
  return Error{ErrorKind::temporary, "unable to compile control/rules." + service + ": quail-rules failed"};
}

}  // namespace quail::up
