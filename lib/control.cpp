// Control file registry and strict readers: see control.hpp and control/README.md.
#include "control.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <dirent.h>
#include <fcntl.h>
#include <type_traits>

#include "address.hpp"
#include "decimal.hpp"
#include "durable.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "smtp_routes.hpp"

namespace quail {

const std::vector<ControlSpec>& control_registry() {
  static const std::vector<ControlSpec> registry = {
      {"me", ControlKind::line, "localhost", 0, 0, "all", "this host's fully qualified name: the greeting, Received lines, bounces"},
      {"defaultdomain", ControlKind::line, "=me", 0, 0, "sendmail, inject", "domain added to an address with no @"},
      {"locals", ControlKind::domains, "", 0, 0, "queue-send, local-deliver, smtpd", "domains delivered to system users and aliases on this host"},
      {"virtualdomains", ControlKind::domains, "", 0, 0, "queue-send, local-deliver, smtpd", "domains whose users are virtual (users/users.cdb)"},
      {"rcpthosts", ControlKind::domains, "", 0, 0, "smtpd", "domains accepted from clients without relay rights; .example matches subdomains"},
      {"concurrencylocal", ControlKind::integer, "20", 1, 1000, "queue-send", "local deliveries run at once"},
      {"concurrencyremote", ControlKind::integer, "20", 1, 1000, "queue-send", "remote deliveries run at once"},
      {"queuelifetime", ControlKind::integer, "604800", 60, 31536000, "queue-send", "seconds a message may stay queued before it bounces"},
      {"bouncefrom", ControlKind::line, "MAILER-DAEMON", 0, 0, "queue-send", "local part of the From: address of bounces"},
      {"doublebounceto", ControlKind::line, "postmaster", 0, 0, "queue-send", "local part (at control/me) that receives bounces that could not be delivered"},
      {"databytes", ControlKind::integer, "52428800", 0, 2147483647, "smtpd, queue-inject", "largest message accepted, in bytes; 0 means no limit"},
      {"maxrcpt", ControlKind::integer, "1000", 1, 100000, "smtpd", "recipients accepted per message"},
      {"timeoutsmtpd", ControlKind::integer, "300", 1, 86400, "smtpd", "seconds to wait for a client command or data"},
      {"timeoutprogram", ControlKind::integer, "3600", 1, 86400, "local-deliver", "seconds a .qmail |program may run before it is killed and the delivery deferred"},
      {"maxerrors", ControlKind::integer, "10", 1, 1000, "smtpd", "bad commands before the session is closed"},
      {"smtpgreeting", ControlKind::line, "=me", 0, 0, "smtpd", "text of the 220 greeting after the code"},
      {"smtproutes", ControlKind::list, "", 0, 0, "remote-deliver", "domain:relay[:port] routes that override MX lookup"},
      {"system", ControlKind::integer, "0", 0, 1, "quail, queue-send, local-deliver", "1 in a privilege-separated install (quail init --system): system users receive mail"},
      {"concurrencyincoming", ControlKind::integer, "1000", 1, 100000, "quail up, tcpserver", "SMTP connections served at once per listener"},
      {"concurrencyperip", ControlKind::integer, "50", 1, 100000, "quail up, tcpserver", "SMTP connections served at once per client address"},
      {"backlog", ControlKind::integer, "256", 1, 65535, "quail up, tcpserver", "listen(2) backlog of each listener"},
      {"aliases", ControlKind::list, "", 0, 0, "quail-aliases", "aliases in /etc/aliases syntax, compiled into users/aliases.cdb by quail aliases"},
      {"dnsservers", ControlKind::list, "", 0, 0, "remote-deliver, smtpd, list-post", "IP addresses of the DNS resolvers to ask; empty means /etc/resolv.conf"},
      {"delaywarning", ControlKind::integer, "14400", 0, 31536000, "queue-send", "seconds after a message's birth before a recipient still deferred gets one delay notice; 0 sends none"},
      {"retryunitremote", ControlKind::integer, "300", 1, 86400, "queue-send", "seconds: remote attempt n of a message comes unit * n^2 after its birth"},
      {"concurrencyperdomain", ControlKind::integer, "10", 1, 1000, "queue-send", "remote deliveries run at once to one domain"},
      {"minuid", ControlKind::integer, "1000", 1, 4294967294, "smtpd, local-deliver, local-spawn, quail homes", "the smallest uid of a system login that receives mail (system installs)"},
      {"tlspolicy", ControlKind::list, "", 0, 0, "remote-deliver", "domain:mode lines (none, may, encrypt, verify): where STARTTLS is required and certificates verified"},
      {"smtpauth", ControlKind::list, "", 0, 0, "remote-deliver", "relay:user:password logins for smtproutes relays; readable only by remote-deliver's user", true},
      {"timeoutconnect", ControlKind::integer, "60", 1, 86400, "remote-deliver", "seconds to wait for a TCP connection to a mail host"},
      {"timeoutgreeting", ControlKind::integer, "300", 1, 86400, "remote-deliver", "seconds to wait for a mail host's greeting"},
      {"timeoutremote", ControlKind::integer, "300", 1, 86400, "remote-deliver", "seconds to wait for the reply to each SMTP command"},
      {"timeoutdata", ControlKind::integer, "600", 1, 86400, "remote-deliver", "seconds to wait while sending each part of the message and for the reply to its end"},
      {"tls", ControlKind::directory, "", 0, 0, "tlsd, smtpd", "cert.pem (the certificate chain) and key.pem (its private key) for STARTTLS and implicit TLS"},
      {"sendas", ControlKind::list, "", 0, 0, "smtpd", "more sender addresses an authenticated user may use on the submission service"},
      {"checkpassword", ControlKind::list, "", 0, 0, "pop3d, smtpd", "path of the checkpassword program that verifies logins; empty means ROOT/bin/checkpassword"},
      {"timeoutpop3d", ControlKind::integer, "600", 1, 86400, "pop3d", "seconds to wait for a POP3 client command"},
      {"listeners", ControlKind::list, "", 0, 0, "quail up, quail status", "the listeners quail up runs, one SERVICE ADDRESS:PORT per line (smtp 127.0.0.1:25); quail up --smtp A:P writes it"},
      {"dkim", ControlKind::directory, "", 0, 0, "remote-deliver, quail dkim", "DKIM signing keys: DOMAIN/SELECTOR.key and DOMAIN/selectors (the selectors signed with); written by quail dkim keygen"},
      {"authcheck", ControlKind::integer, "1", 0, 1, "smtpd, mailauth", "1: check SPF and DMARC of mail from clients without relay rights (mailauth); 0: no checks"},
      {"authservid", ControlKind::line, "=me", 0, 0, "mailauth", "the authserv-id of our Authentication-Results fields; fields claiming it in incoming mail are removed"},
      {"spfreject", ControlKind::integer, "0", 0, 1, "mailauth", "1: refuse MAIL FROM with 550 5.7.23 when SPF fails"},
      {"spftempfail", ControlKind::integer, "0", 0, 1, "mailauth", "1: answer 451 4.7.24 to MAIL FROM when SPF gives temperror"},
      {"spfreceived", ControlKind::integer, "0", 0, 1, "mailauth", "1: add a Received-SPF field (RFC 7208 9.1) besides Authentication-Results"},
      {"dmarcreject", ControlKind::integer, "0", 0, 1, "mailauth", "1: refuse at the end of DATA (550 5.7.1) mail that fails DMARC under p=reject"},
      {"dmarcquarantine", ControlKind::integer, "0", 0, 1, "mailauth", "1: mark mail failing DMARC under p=quarantine (or p=reject not refused) with X-Quail-Quarantine"},
      {"publicsuffix", ControlKind::line, "/usr/share/publicsuffix/public_suffix_list.dat", 0, 0, "mailauth, list-post", "the Public Suffix List that gives DMARC's organisational domains"},
      {"store", ControlKind::line, "lmdb", 0, 0, "smtpd, quail grey, quail limits", "where the abuse-control state lives: lmdb (ROOT/state/store) or redis://IP:PORT shared by several MX hosts"},
      {"greylist", ControlKind::integer, "0", 0, 1, "smtpd", "1 turns greylisting on: a new (network, sender, recipient) triplet is deferred with 451 4.7.1 until greydelay has passed"},
      {"greyspfpass", ControlKind::integer, "0", 0, 1, "smtpd", "1: a sender that passes SPF (control/authcheck on) is not greylisted"},
      {"greydelay", ControlKind::integer, "300", 0, 86400, "smtpd", "seconds a new greylisting triplet is deferred before a retry is accepted"},
      {"greywindow", ControlKind::integer, "86400", 60, 2592000, "smtpd", "seconds after its first attempt within which a greylisted triplet's retry is accepted"},
      {"greyallow", ControlKind::integer, "2592000", 0, 31536000, "smtpd", "seconds a client network stays allowlisted after it passed greylisting once; 0 allowlists nothing"},
      {"ratelimitconnections", ControlKind::integer, "0", 0, 1000000, "smtpd", "connections per minute accepted from one client address; 0: no limit"},
      {"ratelimitmessages", ControlKind::integer, "0", 0, 1000000, "smtpd", "messages per hour accepted from one client address (unauthenticated sessions); 0: no limit"},
      {"ratelimitrecipients", ControlKind::integer, "0", 0, 1000000, "smtpd", "recipients per hour accepted from one client address (unauthenticated sessions); 0: no limit"},
      {"ratelimitusermessages", ControlKind::integer, "500", 0, 1000000, "smtpd", "messages per hour accepted from one authenticated user; 0: no limit"},
      {"ratelimituserrecipients", ControlKind::integer, "2000", 0, 1000000, "smtpd", "recipients per hour accepted from one authenticated user; 0: no limit"},
      {"tarpitcount", ControlKind::integer, "5", 0, 100000, "smtpd", "refused recipients in a session after which each further reply is delayed; 0: no tarpit"},
      {"tarpitdelay", ControlKind::integer, "5", 0, 600, "smtpd", "seconds each reply is delayed once the tarpit is on"},
      {"tarpitmax", ControlKind::integer, "20", 0, 100000, "smtpd", "refused recipients in a session after which smtpd answers 421 and closes it; 0: never"},
      {"dnsbl", ControlKind::list, "", 0, 0, "dnsbl, quail up", "DNS blocklist zones queried for each client address, one per line: zone or zone=answer"},
      {"dnswl", ControlKind::list, "", 0, 0, "dnsbl, quail up", "DNS allowlist zones, one per line (zone or zone=answer): a listed client skips the blocklists and greylisting"},
      {"dnsblrcpt", ControlKind::integer, "1", 0, 1, "dnsbl, smtpd", "1: a blocklisted client is refused at each RCPT but postmaster; 0: refused at connection"},
      {"timeoutdnsbl", ControlKind::integer, "5", 1, 60, "dnsbl, smtpd", "seconds all DNSBL and DNSWL lookups of one connection may take before the client is let through"},
      {"milters", ControlKind::list, "", 0, 0, "smtpd", "content filters (milters) smtpd consults, in order, one unix:/path or inet:host:port [timeout=N] [default=accept|tempfail] per line"},
      {"timeoutmilter", ControlKind::integer, "30", 1, 3600, "smtpd", "seconds to wait for a content filter's connection and each of its replies"},
      {"milterdefault", ControlKind::line, "tempfail", 0, 0, "smtpd", "what a message gets when a content filter is down or too slow: tempfail or accept"},
      {"listsurl", ControlKind::list, "", 0, 0, "list-post", "base of the lists' RFC 8058 one-click unsubscribe URLs (https://lists.example.test:8443), served by list-httpd; empty means no one-click"},
      {"queuefree", ControlKind::integer, "5", 0, 50, "smtpd, queue-inject", "percent of the queue filesystem's space and of its inodes kept free: below it new mail is refused temporarily (452 4.3.1, exit 82), queue-send's notices excepted; 0: no floor"},
      {"queuefreebytes", ControlKind::integer, "0", 0, 1099511627776, "smtpd, queue-inject", "bytes kept free on the queue's filesystem beside queuefree's percent (the larger floor wins); 0: only the percent"},
      {"srs", ControlKind::directory, "", 0, 0, "smtpd, local-deliver, local-spawn", "key: the SRS key (32 random bytes, quail init makes it) for forwards to other domains and the check of SRS0 recipients; none: SRS off"},
      {"concurrencypernet", ControlKind::integer, "100", 0, 100000, "quail up, tcpserver", "SMTP connections served at once per client network (IPv4 /24, IPv6 /64); 0: no limit"},
      {"timeoutsmtpdbusy", ControlKind::integer, "20", 1, 86400, "smtpd", "seconds to wait for a client command or data in a session started while the listener was busy"},
      {"maxjunk", ControlKind::integer, "100", 0, 100000, "smtpd", "commands without a message (NOOP, RSET, HELP, VRFY, EXPN, HELO, EHLO) in a row before the session is closed; 0: no limit"},
      {"timeoutsmtpdsession", ControlKind::integer, "3600", 0, 604800, "smtpd", "seconds a whole SMTP session may last; checked between commands, never in the middle of a message; 0: no limit"},
      {"maxjunkpop3d", ControlKind::integer, "100", 0, 100000, "pop3d", "commands in a row that download nothing (NOOP, STAT, LIST, UIDL, RSET, CAPA, a message fetched again; before login all but PASS and AUTH PLAIN) before the POP3 session is closed; 0: no limit"},
      {"timeoutpop3dsession", ControlKind::integer, "3600", 0, 604800, "pop3d", "seconds a whole POP3 session may last, from the connection; checked between commands; once over, only the first RETR, TOP or DELE of each message and QUIT are served; 0: no limit"},
  };
  return registry;
}

const ControlSpec* control_spec(std::string_view name) {
  for (const auto& s : control_registry()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

constexpr size_t max_control_size = size_t{1} << 20;

Error config_error(const std::string& file, int line, const std::string& what) {
  return Error{ErrorKind::config, file + ":" + std::to_string(line) + ": " + what};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

}  // namespace

Result<std::string> parse_control_line(std::string_view text, const std::string& file) {
  if (has_nul(text)) return config_error(file, 1, "contains a NUL byte");
  std::string_view first = text.substr(0, text.find('\n'));
  first = trim(first);
  if (first.empty()) return config_error(file, 1, "empty value");
  for (unsigned char c : first) {
    if (c < 0x20 || c == 0x7f) return config_error(file, 1, "control character in value");
  }
  return std::string(first);
}

Result<int64_t> parse_control_integer(std::string_view text, const std::string& file, int64_t min, int64_t max) {
  auto line = parse_control_line(text, file);
  if (!line) return line.error();
  const std::string& v = *line;
  // No sign (man/quail-control.5): every registered range is non-negative. Leading
  // zeros are harmless in a file a person writes; a value of any length past max,
  // even past UINT64_MAX, is out of range rather than wrapped.
  if (!is_decimal(v, LeadingZeros::allow)) return config_error(file, 1, "not a decimal integer: " + v);
  auto n = parse_decimal(v, max < 0 ? 0 : static_cast<uint64_t>(max), LeadingZeros::allow);
  if (!n || max < 0 || static_cast<int64_t>(*n) < min) {
    return config_error(file, 1, v + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  return static_cast<int64_t>(*n);
}

Result<std::vector<ControlLine>> parse_control_lines(std::string_view text, const std::string& file, bool domains) {
  std::vector<ControlLine> out;
  int lineno = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++lineno;
    size_t nl = text.find('\n', start);
    std::string_view raw = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (has_nul(raw)) return config_error(file, lineno, "contains a NUL byte");
    std::string_view v = trim(raw);
    if (v.empty() || v.front() == '#') continue;
    for (unsigned char c : v) {
      if (c < 0x20 || c == 0x7f) return config_error(file, lineno, "control character in value");
    }
    if (domains) {
      std::string_view d = v.front() == '.' ? v.substr(1) : v;
      if (!valid_domain(d)) return config_error(file, lineno, "not a domain name: " + std::string(v));
      out.push_back({lineno, lowercase(v)});
    } else {
      out.push_back({lineno, std::string(v)});
    }
  }
  return out;
}

Result<std::vector<std::string>> parse_control_list(std::string_view text, const std::string& file, bool domains) {
  auto lines = parse_control_lines(text, file, domains);
  if (!lines) return lines.error();
  std::vector<std::string> out;
  out.reserve(lines->size());
  for (auto& l : *lines) out.push_back(std::move(l.value));
  return out;
}

namespace {
// run/control.good is world-readable (every service reads it), so a file that
// holds secrets is never copied there, and a malformed one stays an error for
// its reader: no last good value, and never its default (no relay logins at all).
bool kept_out_of_snapshot(std::string_view name) {
  const ControlSpec* spec = control_spec(name);
  return spec && spec->secret;
}
}  // namespace

template <typename T, typename Parse>
Result<T> Control::last_good(std::string_view name, const Error& refused, Parse parse) const {
  if (kept_out_of_snapshot(name)) return refused;
  std::string root = dir_.substr(0, dir_.size() - std::string_view("/control").size());
  auto text = read_file(control_snapshot_path(root), max_control_size * 4);
  if (!text) return refused;
  auto files = parse_control_snapshot(*text);
  if (!files) return refused;
  std::string source = control_snapshot_path(root) + " (" + std::string(name) + ")";
  Result<T> value = refused;
  const ControlSpec* spec = control_spec(name);
  bool found = false;
  for (const auto& [n, contents] : *files) {
    if (n != name) continue;
    value = parse(contents, source);
    found = true;
  }
  if (!found) {
    // Absent when the snapshot was taken: the default was the good value.
    if (!spec) return refused;
    if (spec->fallback == "=me") {
      if constexpr (std::is_same_v<T, std::string>) {
        value = line("me");
      } else {
        return refused;
      }
    } else {
      value = parse(spec->fallback, source + " (default)");
    }
  }
  if (!value) return refused;
  log_error({{"event", "control_refused"}, {"file", dir_ + "/" + std::string(name)}, {"reason", refused.reason},
             {"using", "the last good value from " + control_snapshot_path(root)}});
  return value;
}


// smtpd reads ~35 files at each start and most are absent (their defaults): one
// listing replaces the failed opens, and the rest walk one component, not ROOT's.
struct Control::Once {
  bool opened = false;
  Fd dir;                          // ROOT/control; not valid: every file read by its path
  bool listed = false;             // names holds the directory's entries, sorted
  std::vector<std::string> names;
  std::vector<std::pair<std::string, Result<std::string>>> texts;  // every file read so far

  void open(const std::string& path) {
    opened = true;
    int fd;
    do fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return;  // each file then gives the error it always gave
    dir.reset(fd);
    alignas(8) char buf[2048];  // on the stack: a listing takes a few calls at most, and no heap page is touched for it
    for (;;) {
      ssize_t n = ::getdents64(fd, buf, sizeof buf);
      if (n < 0) {
        names.clear();  // unlisted (a directory we may search but not read): open each file
        return;
      }
      if (n == 0) break;
      const char* p = buf;
      for (ssize_t off = 0; off < n;) {
        const auto* d = reinterpret_cast<const dirent64*>(p + off);
        names.emplace_back(d->d_name);
        off += d->d_reclen;
      }
    }
    std::sort(names.begin(), names.end());
    listed = true;
  }

  Result<std::string> read(const std::string& dir_path, std::string_view name) {
    std::string path = dir_path + "/" + std::string(name);
    if (!opened) open(dir_path);
    if (!dir.valid()) return read_file(path, max_control_size);
    std::string_view first = name.substr(0, name.find('/'));
    if (listed && !std::binary_search(names.begin(), names.end(), first)) {
      return sys_error(ErrorKind::not_found, "open " + path, ENOENT);
    }
    return read_file_at(dir.get(), std::string(name), path, max_control_size);
  }
};

Control Control::read_once(std::string root) {
  Control c(std::move(root));
  c.once_ = std::make_shared<Once>();
  return c;
}

Result<std::string> Control::raw(std::string_view name) const {
  if (!once_) return read_file(dir_ + "/" + std::string(name), max_control_size);
  for (const auto& [n, text] : once_->texts) {
    if (n == name) return text;
  }
  Result<std::string> text = once_->read(dir_, name);
  once_->texts.emplace_back(std::string(name), text);
  return text;
}

Result<std::string> Control::line(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  auto text = raw(name);
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return Error{ErrorKind::config, text.error().reason};
    if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
    if (spec->fallback == "=me") return line("me");
    return std::string(spec->fallback);
  }
  auto parsed = parse_control_line(*text, dir_ + "/" + std::string(name));
  if (parsed || strict_) return parsed;
  return last_good<std::string>(name, parsed.error(), [](std::string_view t, const std::string& f) {
    return parse_control_line(t, f);
  });
}

Result<int64_t> Control::integer(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
  auto text = raw(name);
  std::string file = dir_ + "/" + std::string(name);
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return Error{ErrorKind::config, text.error().reason};
    return parse_control_integer(spec->fallback, file + " (default)", spec->min, spec->max);
  }
  auto parsed = parse_control_integer(*text, file, spec->min, spec->max);
  if (parsed || strict_) return parsed;
  return last_good<int64_t>(name, parsed.error(), [spec](std::string_view t, const std::string& f) {
    return parse_control_integer(t, f, spec->min, spec->max);
  });
}

Result<std::vector<std::string>> Control::list(std::string_view name) const {
  auto ls = lines(name);
  if (!ls) return ls.error();
  std::vector<std::string> out;
  out.reserve(ls->size());
  for (auto& l : *ls) out.push_back(std::move(l.value));
  return out;
}

// Every list file, smtproutes and tlspolicy included, falls back to its last good
// contents when an edit made it malformed (quail(8), LAST GOOD CONFIGURATION).
Result<std::vector<ControlLine>> Control::lines(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
  auto text = raw(name);
  std::string file = dir_ + "/" + std::string(name);
  bool domains = spec->kind == ControlKind::domains;
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return Error{ErrorKind::config, text.error().reason};
    return parse_control_lines(spec->fallback, file + " (default)", domains);
  }
  // A routing file's lines have a syntax of their own: a bad route is a bad edit too.
  auto parse = [domains, name](std::string_view t, const std::string& f) -> Result<std::vector<ControlLine>> {
    auto ls = parse_control_lines(t, f, domains);
    if (!ls) return ls;
    if (auto s = validate_routing_lines(name, *ls, f); !s) return s.error();
    return ls;
  };
  auto parsed = parse(*text, file);
  if (parsed || strict_) return parsed;
  return last_good<std::vector<ControlLine>>(name, parsed.error(), parse);
}

Status Control::validate(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
  Control strict = *this;
  strict.strict_ = true;
  switch (spec->kind) {
    case ControlKind::line:
      if (auto r = strict.line(name); !r) return r.error();
      break;
    case ControlKind::integer:
      if (auto r = strict.integer(name); !r) return r.error();
      break;
    case ControlKind::list:
    case ControlKind::domains:
      if (auto r = strict.list(name); !r) return r.error();
      break;
    case ControlKind::directory:
      break;  // tlsd reads and checks its own files, per connection
  }
  return {};
}

Status Control::validate_all() const {
  for (const auto& s : control_registry()) {
    if (auto r = validate(s.name); !r) return r;
  }
  // Files whose lines have a syntax of their own.
  return validate_routing_files(*this);
}

std::string control_snapshot_path(const std::string& root) { return root + "/run/control.good"; }

namespace {
constexpr std::string_view snapshot_magic = "quail-control-good 1\n";
}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> parse_control_snapshot(std::string_view text) {
  Error bad{ErrorKind::format, "not a control snapshot"};
  if (!text.starts_with(snapshot_magic)) return bad;
  text.remove_prefix(snapshot_magic.size());
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad;
    std::string_view head = text.substr(0, nl);
    size_t space = head.find(' ');
    if (space == std::string_view::npos || space == 0) return bad;
    std::string_view len_text = head.substr(space + 1);
    size_t len = 0;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc() || ptr != len_text.data() + len_text.size() || len_text.empty()) return bad;
    text.remove_prefix(nl + 1);
    if (len > text.size()) return bad;
    out.emplace_back(std::string(head.substr(0, space)), std::string(text.substr(0, len)));
    text.remove_prefix(len);
  }
  return out;
}

Status write_control_snapshot(const std::string& root) {
  Control control(root);
  if (auto s = control.validate_all(); !s) return s;
  std::string out(snapshot_magic);
  for (const auto& spec : control_registry()) {
    if (spec.kind == ControlKind::directory) continue;  // its program reads its files itself
    if (spec.secret) continue;
    auto text = read_file(control.dir() + "/" + std::string(spec.name), max_control_size);
    if (!text) {
      if (text.error().kind == ErrorKind::not_found) continue;
      return Error{ErrorKind::temporary, text.error().reason};
    }
    out += std::string(spec.name) + " " + std::to_string(text->size()) + "\n" + *text;
  }
  return write_file_durable(control_snapshot_path(root), out, 0644);
}

}  // namespace quail
