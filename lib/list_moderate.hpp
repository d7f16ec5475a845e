// Moderation: posts held in LISTDIR/held/<id> until the moderator (the list's
// owner) sends to the cookie-bearing accept or reject address, or they time out.
// Spec: queue-layout/lists.md, "Held posts".
#pragma once
#include <string>
#include <string_view>

#include "list_mail.hpp"
#include "result.hpp"

namespace quail::list {

// Keeps a post in LISTDIR/held/ and mails the owner accept and reject addresses.
// Expired held posts are swept first.
Status hold_post(const List& l, std::string_view sender, std::string_view message);

// The moderator's answer for a held post (cookie already parsed from the address).
// Returns a line for the delivery's reason; a forged or expired cookie, or a post
// already handled, changes nothing and is said in the line.
Result<std::string> moderate(const List& l, bool accept, std::string_view cookie, std::string_view id);

// Drops held posts older than the cookie lifetime, telling each sender.
Status sweep_held(const List& l);

}  // namespace quail::list
