// The routing control files of remote-deliver: control/smtproutes (qmail's syntax),
// control/tlspolicy, control/dnsservers and control/smtpauth. Each parser takes the
// values of control::lines() and names the file and line of a bad one. Spec:
// man/remote-deliver.8, control/<file>. Trusts nothing (tests/fuzz/smtp_routes_fuzz.cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control.hpp"
#include "result.hpp"

namespace quail {

// A host to connect to: a name to resolve, or an address literal ([192.0.2.1], [::1]).
struct RelayHost {
  std::string name;     // a domain name (lowercased), or the address of a literal
  bool literal = false; // name is an IPv4 or IPv6 address, not to be resolved
  uint16_t port = 25;
};

// One smtproutes line: `domain:relay[:port]`. domain "" is the smarthost,
// ".example" every subdomain of example; relay "" means "look up MX as usual".
struct SmtpRoute {
  std::string domain;
  std::optional<RelayHost> relay;  // nullopt: the MX of the recipient domain
};

Result<std::vector<SmtpRoute>> parse_smtproutes(const std::vector<ControlLine>& lines, const std::string& file);
// The route for a domain, qmail's order: the exact domain, then its parent
// suffixes longest first (.b.example then .example), then the smarthost "";
// nullptr when none applies. domain is lowercase.
const SmtpRoute* find_route(const std::vector<SmtpRoute>& routes, std::string_view domain);

// Parses `host`, `[ip]` or `host:port` / `[ip]:port` (a relay, or the address of a
// literal recipient domain without port). nullopt when malformed.
std::optional<RelayHost> parse_relay_host(std::string_view text, bool allow_port);

// control/tlspolicy: `domain:mode`, modes as below; ".example" for subdomains.
enum class TlsMode {
  none,     // never STARTTLS (a peer known to be broken)
  may,      // opportunistic: STARTTLS when offered, plaintext otherwise (the default)
  encrypt,  // TLS required, any certificate
  verify,   // TLS required, a certificate chain to a trusted CA naming the host
};
struct TlsPolicy {
  std::string domain;
  TlsMode mode = TlsMode::may;
};
Result<std::vector<TlsPolicy>> parse_tlspolicy(const std::vector<ControlLine>& lines, const std::string& file);
// The mode for a domain: exact, then suffixes longest first; may when none.
TlsMode find_tls_mode(const std::vector<TlsPolicy>& policies, std::string_view domain);
std::string_view tls_mode_name(TlsMode m);

// control/dnsservers: `ip` or `ip@port` per line; returns libunbound's "ip@port" form.
Result<std::vector<std::string>> parse_dnsservers(const std::vector<ControlLine>& lines, const std::string& file);

// control/smtpauth: `relay:user:password` (relay as in smtproutes, without port;
// the password is the rest of the line and may hold ':'). Kept readable only by
// the user remote-deliver runs as; never logged.
struct SmtpAuth {
  std::string relay;  // lowercase host name or the address of a literal
  std::string user;
  std::string password;
};
Result<std::vector<SmtpAuth>> parse_smtpauth(const std::vector<ControlLine>& lines, const std::string& file);
const SmtpAuth* find_auth(const std::vector<SmtpAuth>& auths, const RelayHost& relay);

// Parses smtproutes, tlspolicy, dnsservers and smtpauth of a root: the first
// error, naming file and line (Control::validate_all, so quail up refuses them).
Status validate_routing_files(const Control& c);
// The line syntax of routing file `name` (smtproutes, tlspolicy, dnsservers,
// smtpauth) checked on its lines; ok for any other name. Control::lines uses it so
// that a malformed route falls back to the last good file like any other edit.
Status validate_routing_lines(std::string_view name, const std::vector<ControlLine>& lines, const std::string& file);

}  // namespace quail
