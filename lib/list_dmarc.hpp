// A post whose author's domain publishes DMARC p=reject or p=quarantine cannot
// keep its From through a list: the list changes the subject and adds fields, so
// the author's DKIM signature breaks, and the list's server is not in the
// author's SPF record. Subscribers' providers would refuse or junk it, and count
// the bounces against the subscriber. So the list sends it From its own address
// ("Name via team" <team@domain>, which the list's DKIM signature aligns with) and
// the author goes into Reply-To. Spec: queue-layout/lists.md, "Authors whose
// domain publishes DMARC p=reject"; man/list-post.8.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "dmarc.hpp"
#include "headers.hpp"
#include "list_config.hpp"
#include "psl.hpp"

namespace quail::list {

// The post's authors as RFC 7489 6.6.1 sees them.
struct Authors {
  bool single_from = false;          // exactly one From field holding mailboxes with domains
  std::vector<std::string> domains;  // their domains, lowercase, each once
};
Authors authors(std::string_view header_section);

// The strictest policy the authors' domains publish (p, or sp when it was found
// at the organisational domain, 6.6.3); temporary when a lookup failed.
struct AuthorPolicy {
  dmarc::Policy policy = dmarc::Policy::none;
  std::string domain;      // whose policy (the first failed lookup's when temporary)
  bool temporary = false;
};
AuthorPolicy author_policy(const std::vector<std::string>& domains, const PublicSuffixList& psl,
                           const dmarc::TxtLookup& txt);

// Whether the lookup is needed at all: from_rewrite=dmarc, one From field, and
// an author outside the list's domain (the list's own signature aligns with it).
bool needs_policy(const ListConfig& cfg, const Authors& a);

// The decision, with the words for list-post's reason line ("" when kept):
// always; never; for dmarc, p=reject or p=quarantine, a DNS failure (rewriting
// is harmless, a deferral delays every subscriber), or no single From (6.6.1:
// receivers refuse it; the list's From makes it a valid message).
std::string rewrite_reason(const ListConfig& cfg, const Authors& a, const AuthorPolicy* p);

// The header with the From field(s) replaced by the list's address, its display
// name "<author's name> via <list>" (the author's local part when the From has no
// name; encoded-words kept as they are), and Reply-To holding the author: a Reply-To
// the post has is kept and the author's mailboxes added to it unless already there.
// Without a usable From the envelope sender stands for the author.
std::vector<HeaderField> rewrite_from(const ListConfig& cfg, const std::vector<HeaderField>& fields,
                                      std::string_view envelope_sender);

}  // namespace quail::list
