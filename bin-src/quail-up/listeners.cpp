// The listeners quail up knows: what each needs installed and the tcpserver command
// line it runs (the contract with tcpserver and smtpd; man/quail.8, "LISTENERS").
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <netdb.h>
#include <pwd.h>
#include <sys/stat.h>

#include "control.hpp"
#include "dnsbl.hpp"
#include "durable.hpp"
#include "group_file.hpp"
#include "root.hpp"
#include "service.hpp"
#include "up.hpp"

namespace quail::up {
namespace {

bool exists(const std::string& path, struct stat* st = nullptr) {
  struct stat local;
  return ::stat(path.c_str(), st ? st : &local) == 0;
}

bool is_pop3(const std::string& service) { return service == "pop3" || service == "pop3s"; }
// The lists' one-click endpoint (man/list-httpd.8): HTTPS only, through tlsd.
bool is_http(const std::string& service) { return service == "lists-http"; }

}  // namespace

// A host name as RFC 1123 allows one (letters, digits, hyphens, dot-separated
// labels of 1-63): only such a name is handed to the resolver.
bool is_host_name(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (c == '.') {
      if (label == 0 || h[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) return false;
    if (++label > 63) return false;
  }
  return h.back() != '-' && h.back() != '.';
}

Result<ListenRequest> parse_listen(const std::string& service, const std::string& text, bool names) {
  Error bad{ErrorKind::permanent,
            "--" + service + " " + text + ": expected ADDRESS:PORT or HOSTNAME:PORT, as 127.0.0.1:25, [::1]:25 or localhost:25"};
  if (!names) bad.reason = "--" + service + " " + text + ": expected ADDRESS:PORT, as 127.0.0.1:25 or [::1]:25";
  ListenRequest r{service, "", "", ""};
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
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, r.host.c_str(), buf) != 1) {
    // Not an address: a name is resolved later by resolve_listen (a flag only).
    if (!names || v6 || text.front() == '[' || !is_host_name(r.host)) return bad;
    r.name = r.host;
  } else if (v6 != (text.front() == '[')) {
    return bad;  // IPv6 only in brackets, IPv4 never
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(r.port.data(), r.port.data() + r.port.size(), port);
  if (ec != std::errc() || ptr != r.port.data() + r.port.size() || port == 0 || port > 65535 || r.port[0] == '0') {
    return bad;
  }
  return r;
}

Result<ListenRequest> resolve_listen(const ListenRequest& r, std::vector<std::string>* others) {
  if (r.name.empty()) return r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;  // no AI_ADDRCONFIG: it hides 127.0.0.1 on a host with only loopback
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(r.name.c_str(), r.port.c_str(), &hints, &list);
  std::string what = "--" + r.service + " " + r.name + ":" + r.port + ": ";
  if (rc == EAI_NONAME || rc == EAI_NODATA || (rc == 0 && !list)) {
    return Error{ErrorKind::permanent, what + "the name " + r.name +
                                           " does not resolve to an address; give an address, as 127.0.0.1:" + r.port};
  }
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
    if (list) ::freeaddrinfo(list);
    // EAI_AGAIN and the like: the resolver may answer later.
    return Error{rc == EAI_AGAIN ? ErrorKind::temporary : ErrorKind::permanent,
                 what + "unable to resolve " + r.name + ": " + why};
  }
  ListenRequest out = r;
  out.host.clear();
  for (addrinfo* a = list; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = "";
    const void* bytes = a->ai_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr)
                                                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr);
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || !::inet_ntop(a->ai_family, bytes, text, sizeof text)) continue;
    // The resolver's first address (RFC 6724 order, /etc/gai.conf) is the one listened on.
    if (out.host.empty()) out.host = text;
    else if (text != out.host && others && std::find(others->begin(), others->end(), text) == others->end()) {
      others->push_back(text);
    }
  }
  ::freeaddrinfo(list);
  if (out.host.empty()) {
    return Error{ErrorKind::permanent, what + "the name " + r.name + " has no IPv4 or IPv6 address; give an address"};
  }
  return out;
}

std::vector<std::string> listener_programs(const std::string& service) {
  // AUTH (submission, smtps) and POP3 logins verify passwords through checkpassword.
  // Implicit TLS (smtps, pop3s) runs tlsd in front of the protocol program.
  if (service == "smtp") return {"tcpserver", "smtpd"};
  if (service == "pop3") return {"tcpserver", "pop3d", "checkpassword"};
  if (service == "pop3s") return {"tcpserver", "tlsd", "pop3d", "checkpassword"};
  if (service == "smtps") return {"tcpserver", "tlsd", "smtpd", "checkpassword"};
  if (is_http(service)) return {"tcpserver", "tlsd", "list-httpd"};
  return {"tcpserver", "smtpd", "checkpassword"};
}

// When every place is taken, a session this long without a byte either way is
// closed for a newcomer (tcpserver -i; man/tcpserver.8, "Limits and load"): long
// enough that no client in the middle of a command or a message is ever that
// idle, short enough that a newcomer waits at most that long for a place.
constexpr int evict_idle_seconds = 2;

Result<std::vector<std::string>> smtpd_ids_flags() {
  struct passwd* pw = ::getpwnam("quail-smtpd");
  if (!pw) return Error{ErrorKind::permanent, "system install without the quail-smtpd user: rerun quail init --system"};
  // Its memberships too: it reads users/*.cdb through group quail-mail (lib/system_accounts).
  uid_t uid = pw->pw_uid;
  auto groups = supplementary_groups("quail-smtpd", pw->pw_gid);
  if (!groups) return groups.error();
  std::string gids;
  for (gid_t g : *groups) gids += (gids.empty() ? "" : ",") + std::to_string(g);
  return std::vector<std::string>{"-u", std::to_string(uid), "-g", gids};
}

Result<std::vector<std::string>> listener_argv(const std::string& root, const ListenRequest& r) {
  Control control(root);
  auto incoming = control.integer("concurrencyincoming");
  if (!incoming) return incoming.error();
  auto perip = control.integer("concurrencyperip");
  if (!perip) return perip.error();
  auto pernet = control.integer("concurrencypernet");
  if (!pernet) return pernet.error();
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
    auto ids = smtpd_ids_flags();
    if (!ids) return ids.error();
    argv.insert(argv.end(), ids->begin(), ids->end());
  }
  std::string rules = root + "/control/rules." + r.service;
  if (r.service == "smtp" || exists(rules) || exists(rules + ".cdb")) {
    argv.insert(argv.end(), {"-x", rules + ".cdb"});
  }
  std::string busy = is_pop3(r.service) ? "-ERR " + *me + " too many connections, try again later"
                     : is_http(r.service) ? "HTTP/1.1 503 Service Unavailable"
                                          : "421 " + *me + " too many connections, try again later";
  argv.insert(argv.end(), {"-c", std::to_string(*incoming), "-C", std::to_string(*perip), "-n",
                           std::to_string(*pernet), "-i", std::to_string(evict_idle_seconds), "-b",
                           std::to_string(*backlog), "-o", busy, "-", "-"});  // supervise binds r.host r.port
  // The lists' HTTPS: tlsd in front of list-httpd. smtps and pop3s: the protocol
  // program starts TLS itself through tlsd before its greeting ("tls"), so its
  // tlsd comes from the resident one (and smtpd from tcpserver's fork server).
  if (is_http(r.service)) argv.push_back(bin + "/tlsd");
  if (is_http(r.service)) {
    argv.push_back(bin + "/list-httpd");
    return argv;
  }
  // smtpd is started once as a fork server and forked per connection instead
  // of exec'd (man/tcpserver.8, -F).
  if (!is_pop3(r.service)) argv.insert(argv.begin() + 1, "-F");
  argv.push_back(bin + (is_pop3(r.service) ? "/pop3d" : "/smtpd"));
  // DNS lists on the port mail arrives on: smtpd asks the resident dnsbl (which
  // alone links a resolver) before its greeting.
  auto lists = dns_lists_configured(root);
  if (!lists) return lists.error();
  if (r.service == "smtp" && *lists) argv.push_back("dnsbl");
  if (r.service == "pop3s") argv.push_back("tls");
  // Submission's policy (RFC 6409, RFC 8314 for 465): AUTH first, the user's own sender.
  if (r.service == "submission" || r.service == "smtps") argv.push_back("submission");
  if (r.service == "smtps") argv.push_back("tls");
  return argv;
}

Result<std::vector<std::string>> supervised_argv(const std::string& root, const std::string& service,
                                                const ListenRequest* listen, std::vector<std::string> argv) {
  std::vector<std::string> out = {bin_dir(root) + "/supervise"};
  if (listen) {
    auto backlog = Control(root).integer("backlog");
    if (!backlog) return backlog.error();
    out.insert(out.end(), {"-l", listen->host, "-p", listen->port, "-b", std::to_string(*backlog)});
  }
  out.push_back(service);
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Result<std::vector<ListenRequest>> read_listeners(const std::string& root) {
  auto lines = Control(root).list("listeners");
  if (!lines) return lines.error();
  std::vector<ListenRequest> out;
  for (const auto& line : *lines) {
    std::string where = root + "/control/listeners: " + line;
    size_t space = line.find_first_of(" \t");
    if (space == std::string::npos) return Error{ErrorKind::config, where + ": expected SERVICE ADDRESS:PORT"};
    std::string service = line.substr(0, space);
    std::string addr = line.substr(line.find_first_not_of(" \t", space));
    const auto& names = service_names();
    if (!service_is_listener(service) || std::find(names.begin(), names.end(), service) == names.end()) {
      return Error{ErrorKind::config, where + ": unknown service " + service};
    }
    for (const auto& r : out) {
      if (r.service == service) return Error{ErrorKind::config, where + ": a second " + service + " listener"};
    }
    // Addresses only: quail up resolved any name it was given before writing the file.
    auto r = parse_listen(service, addr, false);
    if (!r) return Error{ErrorKind::config, where + ": " + r.error().reason};
    out.push_back(*r);
  }
  return out;
}

Status write_listeners(const std::string& root, const std::vector<ListenRequest>& listeners) {
  std::string text = "# The listeners quail up runs: SERVICE ADDRESS:PORT, one per line (quail-up(8)).\n";
  for (const auto& name : service_names()) {
    for (const auto& r : listeners) {
      if (r.service != name) continue;
      bool v6 = r.host.find(':') != std::string::npos;
      text += name + " " + (v6 ? "[" + r.host + "]" : r.host) + ":" + r.port + "\n";
    }
  }
  return write_file_durable(root + "/control/listeners", text, 0644);
}

}  // namespace quail::up
