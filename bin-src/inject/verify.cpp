// sendmail -bv: how each address would be delivered, in one sentence each, from
// the lookup smtpd and local-deliver use (lib/local_lookup): local user (and the
// .qmail or .forward file that decides), alias, postmaster, remote, or refused.
// Reads tables and homes; queues nothing.
#include <unistd.h>

#include "fd.hpp"
#include "local_lookup.hpp"
#include "log.hpp"
#include "root.hpp"
#include "submit.hpp"

namespace quail::submit {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string local_sentence(const LocalTarget& t) {
  switch (t.kind) {
    case TargetKind::alias: return "alias " + t.user + ", delivered to " + join(t.alias_targets);
    case TargetKind::postmaster: return "postmaster, delivered to " + t.home + "/Maildir/";
    case TargetKind::virtual_user:
    case TargetKind::system_user: break;
  }
  std::string who = (t.kind == TargetKind::virtual_user ? "local virtual user " : "local system user ") + t.user;
  if (!t.dotqmail.empty()) {
    return who + (t.ext.empty() ? "" : ", extension " + t.ext) + ", delivered as " + t.dotqmail + " says";
  }
  if (!t.forward.empty()) return who + ", forwarded as " + t.forward + " says";
  return who + ", delivered to " + t.home + "/Maildir/";
}

}  // namespace

int verify_addresses(const std::string& root, const std::vector<std::string>& addresses) {
  if (addresses.empty()) return usage_error("-bv needs an address", "sendmail -bv address ...");
  auto cfg = load_local_config(root);
  if (!cfg) {
    log_error({{"event", "verify"}, {"reason", cfg.error().reason}});
    return exit_temporary;
  }
  const bool remote = ::access((bin_dir(root) + "/remote-deliver").c_str(), X_OK) == 0;
  int code = exit_ok;
  std::string out;
  for (const auto& text : addresses) {
    auto a = parse_address(text);
    if (!a) {
      out += text + ": not an address (" + a.error().reason + ")\n";
      code = exit_permanent;
      continue;
    }
    std::string shown = "<" + text + ">: ";
    if (!a->domain().empty() && !is_local_domain(*cfg, a->domain())) {
      out += shown + "remote, sent over SMTP to the mail exchangers of " + a->domain() +
             (remote ? "" : " (held in the queue: no remote-deliver program is installed)") + "\n";
      continue;
    }
    auto t = lookup_local(*cfg, *a);
    if (!t) {
      log_error({{"event", "verify"}, {"reason", t.error().reason}});
      return exit_temporary;
    }
    if (!*t) {
      out += shown + "no such local address: refused (550 5.1.1)\n";
      code = exit_permanent;
      continue;
    }
    out += shown + local_sentence(**t) + "\n";
  }
  if (!write_all(1, out)) return exit_temporary;
  return code;
}

}  // namespace quail::submit
