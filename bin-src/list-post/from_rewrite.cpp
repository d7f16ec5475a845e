// The author's DMARC policy and the From rewrite: see from_rewrite.hpp.
#include "from_rewrite.hpp"

#include <optional>

#include "control.hpp"
#include "dns_resolver.hpp"
#include "list_dmarc.hpp"

namespace quail::list {
namespace {

dmarc::Lookup txt_lookup(dns::Resolver& r, const std::string& name, std::vector<std::string>& out) {
  std::string why;
  switch (r.txt(name, out, why)) {
    case dns::DnsStatus::ok: return dmarc::Lookup::ok;
    case dns::DnsStatus::temporary: return dmarc::Lookup::temporary;
    case dns::DnsStatus::nodata:
    case dns::DnsStatus::nxdomain: break;
  }
  return dmarc::Lookup::none;
}

// The policy, or a temporary one when no resolver can be made (a DNS failure
// like any other: the post is rewritten, not delayed).
Result<AuthorPolicy> look_up(const ListConfig& cfg, const Authors& a) {
  Control c(cfg.root);
  auto servers = c.list("dnsservers");
  if (!servers) return servers.error();
  auto psl_path = c.line("publicsuffix");
  if (!psl_path) return psl_path.error();
  // Without the list every name's organisational domain is its last two labels.
  auto psl = PublicSuffixList::load(*psl_path);
  PublicSuffixList list = psl ? std::move(*psl) : PublicSuffixList::parse("");
  auto resolver = dns::Resolver::create(*servers);
  if (!resolver) return AuthorPolicy{dmarc::Policy::none, a.domains.front(), true};
  return author_policy(a.domains, list, [&](const std::string& name, std::vector<std::string>& out) {
    return txt_lookup(*resolver, name, out);
  });
}

}  // namespace

Result<std::string> apply_from_rewrite(const List& l, std::string_view sender, std::string_view header_section,
                                       std::vector<HeaderField>& fields) {
  Authors a = authors(header_section);
  std::optional<AuthorPolicy> policy;
  if (needs_policy(l.cfg, a)) {
    auto p = look_up(l.cfg, a);
    if (!p) return p.error();
    policy = *p;
  }
  std::string why = rewrite_reason(l.cfg, a, policy ? &*policy : nullptr);
  if (!why.empty()) fields = rewrite_from(l.cfg, fields, sender);
  return why;
}

std::string join_message(const std::vector<HeaderField>& fields, std::string_view rest) {
  std::string out;
  for (const auto& f : fields) out += f.raw;
  out += rest;
  return out;
}

}  // namespace quail::list
