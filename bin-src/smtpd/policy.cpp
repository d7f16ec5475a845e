// Recipient policy: see policy.hpp. The order matters: relay rights are settled
// before any lookup, so an outsider learns nothing about domains we do not serve.
#include "policy.hpp"

#include <algorithm>
#include <ctime>

#include "local_lookup.hpp"
#include "srs_key.hpp"

namespace quail::smtpd {

bool rcpthosts_match(const std::vector<std::string>& rcpthosts, const std::string& domain) {
  for (const auto& h : rcpthosts) {
    if (h == domain) return true;
    // qmail: ".example.com" matches every name under example.com, not example.com itself.
    if (h.size() > 1 && h.front() == '.' && domain.size() > h.size() &&
        domain.compare(domain.size() - h.size(), h.size(), h) == 0) {
      return true;
    }
  }
  return false;
}

bool relay_trick(const Address& a) {
  const std::string& l = a.local();
  if (l.find('%') != std::string::npos || l.find('!') != std::string::npos) return true;
  return a.quoted() && l.find('@') != std::string::npos;
}

RcptVerdict check_recipient(const Settings& s, const Address& a, bool relay_allowed) {
  RcptVerdict v;
  const std::string shown = "<" + a.str() + ">";
  const bool local = is_local_domain(s.local, a.domain());
  if (!relay_allowed) {
    // A route (<@a:b@c>) was dropped by the parser: only the final domain counts here.
    if ((!local && !rcpthosts_match(s.rcpthosts, a.domain())) || relay_trick(a)) {
      return {554, "5.7.1", shown + ": relaying denied", ""};
    }
  }
  if (local && lowercase(a.local()) != "postmaster") {
    // A bounce to a forward of ours: its SRS0 address is checked, not looked up.
    switch (srs_recipient(s.local.srs_key.get(), s.local, a, std::time(nullptr), nullptr)) {
      case SrsCheck::not_srs: break;
      case SrsCheck::good: return {250, "2.1.5", shown + " ok", ""};
      case SrsCheck::forged: return {550, "5.7.1", shown + ": forged SRS address", ""};
      case SrsCheck::expired: return {550, "5.7.1", shown + ": expired SRS address", ""};
    }
    auto t = lookup_local(s.local, a);
    if (!t) return {451, "4.3.0", shown + ": temporary failure looking up the mailbox", t.error().reason};
    if (!*t) return {550, "5.1.1", shown + ": no mailbox here by that name", ""};
  }
  v.text = shown + " ok";
  return v;
}

Address postmaster_address(const Settings& s) {
  std::string domain = s.me;
  if (!is_local_domain(s.local, domain)) {
    for (const auto* list : {&s.local.locals, &s.local.virtualdomains}) {
      auto it = std::find_if(list->begin(), list->end(), [](const std::string& d) { return d.front() != '.'; });
      if (it != list->end()) {
        domain = *it;
        break;
      }
    }
  }
  auto a = parse_address("postmaster@" + domain);
  return a ? *a : Address();
}

}  // namespace quail::smtpd
