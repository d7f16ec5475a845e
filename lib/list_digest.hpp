// Digests: each post's copy also waits in LISTDIR/digest/pending/<n>; a digest
// (RFC 2046 multipart/digest, one message/rfc822 part per post) goes to the
// digest subscribers once the posts reach digest_size bytes, or when a post
// arrives digest_interval after the last digest, or when the owner asks
// (quail list digest). Spec: queue-layout/lists.md, "Digests".
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "list_mail.hpp"
#include "result.hpp"

namespace quail::list {

// Keeps post n's copy for the next digest (durably; under the list's lock).
Status collect_for_digest(const List& l, uint64_t n, std::string_view copy);

// Sends the digest when it is due (always when force), under the digest's lock.
// Returns a line saying what happened ("digest 3 of 2 posts sent to 5").
Result<std::string> send_digest(const List& l, bool force);

}  // namespace quail::list
