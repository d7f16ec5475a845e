// Subscription requests, their confirmations, and help: see man/list-manage.8.
// Each returns the line local-deliver records as the delivery's reason; an error
// only for trouble worth a retry (the queue, the disk).
#pragma once
#include <string>

#include "list_cookie.hpp"
#include "list_mail.hpp"

namespace quail::list {

// team-subscribe@ / team-unsubscribe@: mails sender a confirmation address.
Result<std::string> request(const List& l, const ListCommand& cmd, const std::string& sender);
// team-sc.<cookie>-<addr>@ / team-uc.<cookie>-<addr>@: completes a request.
Result<std::string> confirm(const List& l, const ListCommand& cmd, const std::string& sender);
// team-oc.<cookie>-<addr>@ (from list-httpd, RFC 8058 one-click): unsubscribes
// addr at once when the cookie is good and not used; never replies to the sender
// (list-httpd), only tells addr it has left.
Result<std::string> one_click(const List& l, const ListCommand& cmd);
// team-help@ and every address the list does not know.
Result<std::string> help(const List& l, const std::string& sender);

// team-get.<n>@: archived post n, to a subscriber (or the owner) as message/rfc822.
Result<std::string> get_post(const List& l, uint64_t n, const std::string& sender);

// team-return-<n>-<addr>@: a post's copy to addr bounced.
Result<std::string> post_bounce(const List& l, const ListCommand& cmd);
// team-return-p.<cookie>-<addr>@: a probe to addr bounced; addr is removed.
Result<std::string> probe_bounce(const List& l, const ListCommand& cmd);

}  // namespace quail::list
