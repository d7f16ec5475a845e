// The Public Suffix List (publicsuffix.org's format, Debian's publicsuffix
// package) and the organisational domain of RFC 7489 3.2 that DMARC aligns on.
// Trusts the list as the administrator's file; names come from mail (lowercase ASCII).
#pragma once
#include <string>
#include <string_view>
#include <unordered_set>

#include "result.hpp"

namespace quail {

class PublicSuffixList {
 public:
  // Parses the list's text: one rule a line, "//" comments, "*." wildcards, "!" exceptions.
  static PublicSuffixList parse(std::string_view text);
  // Reads path; an error when it cannot be read.
  static Result<PublicSuffixList> load(const std::string& path);

  // The public suffix of a lowercase domain (the prevailing rule; "*" when none matches).
  std::string public_suffix(std::string_view domain) const;
  // RFC 7489 3.2: the public suffix and one more label; the domain itself when it
  // is a public suffix or has no more labels.
  std::string organizational_domain(std::string_view domain) const;
  size_t size() const { return rules_.size() + wildcards_.size() + exceptions_.size(); }

 private:
  std::unordered_set<std::string> rules_, wildcards_, exceptions_;  // wildcards_: what follows "*."
};

}  // namespace quail
