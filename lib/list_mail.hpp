// What the list programs (list-post, list-manage) share: the list they serve
// (LISTDIR's config, secret and store), their exit codes (qmail-command's), the
// List-* header block, the test for automatic mail, and handing mail to the queue.
// Spec: queue-layout/lists.md; man/list-post.8, man/list-manage.8.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "headers.hpp"
#include "list_config.hpp"
#include "list_cookie.hpp"
#include "list_store.hpp"
#include "result.hpp"

namespace quail::list {

// Exit codes of a .qmail program line (local-deliver reads them).
inline constexpr int exit_ok = 0;           // done (delivered, refused with a reply, or ignored on purpose)
inline constexpr int exit_permanent = 100;  // bounce to the sender, the reason on stdout
inline constexpr int exit_temporary = 111;  // try again later

struct List {
  std::string dir;
  ListConfig cfg;
  ListSecret secret;
  ListStore store;   // LISTDIR: subscribers, seq, lock
  ListStore digest;  // LISTDIR/digest: digest subscribers, the last digest's number, its lock
};

// Reads LISTDIR/config and LISTDIR/secret; config error names the file.
Result<List> open_list(const std::string& dir);

// The message on fd (a .qmail program's stdin), at most limit bytes; too_long beyond.
Result<std::string> read_message(int fd, size_t limit);

// RFC 2369 / 2919 fields for the list: List-Id, List-Post, List-Help,
// List-Subscribe, List-Unsubscribe, each ending in "\n".
std::string list_header_fields(const ListConfig& cfg);

// True for mail no list may answer or distribute: the null sender, a double
// bounce, MAILER-DAEMON, or an RFC 3834 Auto-Submitted value other than "no".
bool automatic_mail(std::string_view sender, const std::vector<HeaderField>& fields);

// A message from the list to `to`: From the list's -help address, Auto-Submitted:
// auto-replied, the List-* fields, Reply-To when reply_to is not empty.
std::string list_reply(const ListConfig& cfg, std::string_view to, std::string_view subject, std::string_view body,
                       std::string_view reply_to = "");

// Hands message to the queue (ROOT/bin/queue-inject) with this envelope, marked
// origin=list: remote-deliver DKIM-signs it with the keys of the sender's (the
// list's) domain. A permanent error when the queue refuses it for good, temporary otherwise.
Status inject(const ListConfig& cfg, const std::string& sender, const std::vector<std::string>& recipients,
              std::string_view message);

// The time lists use; $QUAIL_LIST_NOW overrides it when set (tests of expiry).
int64_t now();

}  // namespace quail::list
