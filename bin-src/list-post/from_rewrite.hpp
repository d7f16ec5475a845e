// The DMARC part of a post's way (lib/list_dmarc.hpp): the author domains' policy
// looked up through lib/dns_resolver (control/dnsservers) and the Public Suffix
// List (control/publicsuffix), and the From rewrite it calls for.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "headers.hpp"
#include "list_mail.hpp"
#include "result.hpp"

namespace quail::list {

// Rewrites fields in place when the list's from_rewrite setting and the authors'
// policy ask for it; returns why ("" when the From is kept). A config error when
// a control file is malformed (the post is deferred).
Result<std::string> apply_from_rewrite(const List& l, std::string_view sender, std::string_view header_section,
                                       std::vector<HeaderField>& fields);

// The header section and body again as one message.
std::string join_message(const std::vector<HeaderField>& fields, std::string_view rest);

}  // namespace quail::list
