// quail dkim keygen and show: see man/quail-dkim.8, KEYS and ROTATION.
#include <ctime>
#include <pwd.h>
#include <unistd.h>

#include "control.hpp"
#include "dkim_store.hpp"
#include "dkim_tool.hpp"
#include "fd.hpp"
#include "service_cli.hpp"

namespace quail::dkimtool {
namespace {

namespace admin = quail::admin;
using namespace quail::dkim;

// remote-deliver signs; in a system install it runs as this user (quail init --system).
constexpr const char* signer_user = "quail-remote";

int fail(const Error& e) {
  admin::say("dkim", e.reason);
  return admin::exit_code(e.kind);
}

// A zone-file line publishing record at selector._domainkey.domain, in strings
// of at most 250 bytes (a TXT character-string holds 255).
std::string zone_line(const std::string& domain, const std::string& selector, const std::string& record) {
  std::string out = selector + "._domainkey." + domain + ". IN TXT (";
  for (size_t pos = 0; pos < record.size(); pos += 250) out += " \"" + record.substr(pos, 250) + "\"";
  return out + " )\n";
}

std::string today() {
  char buf[16];
  time_t t = ::time(nullptr);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  ::strftime(buf, sizeof buf, "q%Y%m%d", &tm);
  return buf;
}

// In a system install run as root, the keys become the signer's, readable by it alone.
quail::Status hand_over(const std::string& root, const std::string& domain, const std::vector<std::string>& files) {
  auto system = Control(root).integer("system");
  if (!system || *system != 1 || ::geteuid() != 0) return {};
  passwd* pw = ::getpwnam(signer_user);
  if (!pw) return Error{ErrorKind::temporary, std::string("no user ") + signer_user};
  std::string dir = key_dir(root + "/control");
  std::vector<std::string> paths = {dir, dir + "/" + domain};
  for (const auto& f : files) paths.push_back(dir + "/" + domain + "/" + f);
  for (const auto& p : paths) {
    if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) return sys_error(ErrorKind::temporary, "chown " + p);
  }
  return {};
}

}  // namespace

int keygen(const std::string& root, const KeygenOptions& o) {
  std::string control = root + "/control";
  std::string domain = ascii_lower(o.domain);
  if (!dns_name(domain, 2)) return admin::say("dkim", "not a domain name: " + o.domain), admin::usage;
  std::string base = o.selector.empty() ? today() : ascii_lower(o.selector);
  if (!dns_name(base, 1)) return admin::say("dkim", "not a selector: " + o.selector), admin::usage;
  auto active = signing_keys(control, domain);
  if (!active) return fail(active.error());
  std::vector<std::string> selectors, files;
  std::string out;
  for (Algorithm a : {Algorithm::ed25519_sha256, Algorithm::rsa_sha256}) {
    std::string sel = base + (a == Algorithm::ed25519_sha256 ? "-ed25519" : "-rsa");
    auto k = PrivateKey::generate(a, o.rsa_bits);
    if (!k) return fail(k.error());
    if (auto s = write_key(control, domain, sel, *k); !s) return fail(s.error());
    selectors.push_back(sel);
    files.push_back(sel + ".key");
    out += zone_line(domain, sel, k->dns_record());
  }
  if (active->empty()) {
    if (auto s = write_selectors(control, domain, selectors); !s) return fail(s.error());
    out += "; mail from " + domain + " is signed with these keys from now on: publish the records first\n";
  } else {
    out += "; publish these records, wait for them to spread, then put " + selectors[0] + " and " + selectors[1] + " in " +
           key_dir(control) + "/" + domain + "/selectors in place of the old selectors\n";
  }
  files.push_back("selectors");
  if (auto s = hand_over(root, domain, files); !s) return fail(s.error());
  return write_all(1, out) ? admin::ok : admin::temporary;
}

int show(const std::string& root, const std::string& only) {
  std::string control = root + "/control";
  std::vector<std::string> domains = only.empty() ? key_domains(control) : std::vector<std::string>{ascii_lower(only)};
  std::string out;
  for (const auto& d : domains) {
    auto keys = all_keys(control, d);
    if (!keys) return fail(keys.error());
    auto active = signing_keys(control, d);
    if (!active) return fail(active.error());
    if (keys->empty() && !only.empty()) return admin::say("dkim", "no keys for " + d), admin::no;
    for (const auto& k : *keys) {
      bool signing = false;
      for (const auto& a : *active) signing = signing || a.selector == k.selector;
      out += zone_line(d, k.selector, k.key.dns_record());
      out += std::string("; ") + (signing ? "signing" : "not signing") + ", " + k.key.algorithm_name() + ", " +
             std::to_string(k.key.bits()) + " bits\n";
    }
  }
  return write_all(1, out) ? admin::ok : admin::temporary;
}

}  // namespace quail::dkimtool
