// quail dkim verify: every DKIM signature of the message on stdin, keys looked up
// through control/dnsservers (else /etc/resolv.conf). See man/quail-dkim.8.
#include <ctime>

#include "control.hpp"
#include "dkim_store.hpp"
#include "dkim.hpp"
#include "dkim_tool.hpp"
#include "fd.hpp"
#include "service_cli.hpp"
#include "smtp_routes.hpp"

namespace quail::dkimtool {

namespace admin = quail::admin;

int verify_stdin(const std::string& root) {
  Control c(root);
  auto lines = c.lines("dnsservers");
  if (!lines) return admin::say("dkim", lines.error().reason), admin::exit_code(lines.error().kind);
  auto servers = parse_dnsservers(*lines, c.dir() + "/dnsservers");
  if (!servers) return admin::say("dkim", servers.error().reason), admin::exit_code(servers.error().kind);
  auto resolver = dns::Resolver::create(*servers);
  if (!resolver) return admin::say("dkim", resolver.error().reason), admin::temporary;
  std::string message;
  if (!read_all(0, message, size_t{1} << 30)) return admin::say("dkim", "unable to read the message"), admin::temporary;
  auto results = dkim::verify(message, [&](const std::string& name, std::vector<std::string>& out, std::string& why) {
    return resolver->txt(name, out, why);
  });
  std::string out;
  bool pass = false;
  for (const auto& r : results) {
    pass = pass || r.status == dkim::Status::pass;
    out += "dkim=" + std::string(dkim::status_name(r.status)) + " header.d=" + (r.domain.empty() ? "-" : r.domain) +
           " header.s=" + (r.selector.empty() ? "-" : r.selector) + " a=" + (r.algorithm.empty() ? "-" : r.algorithm);
    if (!r.reason.empty()) out += " (" + r.reason + ")";
    out += "\n";
  }
  if (results.empty()) out = "dkim=none (no DKIM-Signature)\n";
  if (!write_all(1, out)) return admin::temporary;
  return pass ? admin::ok : admin::no;
}

int sign_stdin(const std::string& root, const std::string& domain) {
  auto keys = dkim::signing_keys(root + "/control", dkim::ascii_lower(domain));
  if (!keys) return admin::say("dkim", keys.error().reason), admin::exit_code(keys.error().kind);
  if (keys->empty()) return admin::say("dkim", "no selectors for " + domain), admin::no;
  std::string message;
  if (!read_all(0, message, size_t{1} << 30)) return admin::say("dkim", "unable to read the message"), admin::temporary;
  std::vector<dkim::SigningKey> use;
  for (const auto& k : *keys) use.push_back({k.domain, k.selector, &k.key});
  auto fields = dkim::sign(message, use, static_cast<int64_t>(std::time(nullptr)));
  if (!fields) return admin::say("dkim", fields.error().reason), admin::exit_code(fields.error().kind);
  return write_all(1, *fields + message) ? admin::ok : admin::temporary;
}

}  // namespace quail::dkimtool
