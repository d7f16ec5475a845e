// The Public Suffix List (publicsuffix.org's format, Debian's publicsuffix
// package) and the organisational domain of RFC 7489 3.2 that DMARC aligns on.
// Trusts the list as the administrator's file; names come from mail (lowercase ASCII).
//
// The list is kept as its text and searched at each lookup (one pass over its
// ~14,000 lines for the few suffixes of one name), not parsed into tables: mailauth
// runs once per SMTP session and asks about one to three names, and building the
// tables cost 2-4 ms of CPU per session against ~0.1 ms per lookup (bench/README.md).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.hpp"

namespace quail {

class PublicSuffixList {
 public:
  // Keeps the list's text: one rule a line (its first word), "//" comments, "*."
  // wildcards, "!" exceptions.
  static PublicSuffixList parse(std::string_view text);
  // Reads path; an error when it cannot be read.
  static Result<PublicSuffixList> load(const std::string& path);

  // The public suffix of a lowercase domain (the prevailing rule; "*" when none matches).
  std::string public_suffix(std::string_view domain) const;
  // RFC 7489 3.2: the public suffix and one more label; the domain itself when it
  // is a public suffix or has no more labels.
  std::string organizational_domain(std::string_view domain) const;
  // How many rules the list holds (a pass over it).
  size_t size() const;

 PublicSuffixList() = default;
  PublicSuffixList(PublicSuffixList&& o) noexcept;
  PublicSuffixList& operator=(PublicSuffixList&& o) noexcept;
  PublicSuffixList(const PublicSuffixList&) = delete;
  PublicSuffixList& operator=(const PublicSuffixList&) = delete;
  ~PublicSuffixList();

 private:
  std::string_view text() const;
  std::string text_;  // parse()'s copy
  void* map_ = nullptr;  // load()'s mapping of the file
  size_t map_len_ = 0;
  mutable std::vector<std::pair<std::string, std::string>> seen_;  // domain -> public suffix, a few per session
};

}  // namespace quail
