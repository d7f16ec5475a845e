// RFC 8058 one-click unsubscription for lists: the per-subscriber HTTPS URL
// list-post puts in each subscriber's copy, and how list-httpd reads one back.
// A URL names an address of the list, <list>-oc.<cookie>-<local=host>@domain,
// whose cookie is a keyed MAC with the list's secret (lib/list_cookie): list-httpd
// cannot check it (it has no list's secret) and hands the address to the queue;
// list-manage, as the list's owner, checks it and unsubscribes. Spec:
// queue-layout/lists.md, "One-click unsubscription".
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <vector>

#include "list_config.hpp"
#include "list_cookie.hpp"
#include "list_mail.hpp"
#include "result.hpp"

namespace quail::list {

// How long a one-click URL works: a user clicks in old mail too. A subscription
// made after the URL was issued is never undone by it (the cookie is "used").
inline constexpr int64_t one_click_lifetime = 400 * 86400;

// control/listsurl: the base of one-click URLs ("https://lists.example.test:8443"),
// "" when unset (no one-click). config error when it is not https://HOST[:PORT][/PATH]
// without a query, a fragment or a final '/'.
Result<std::string> lists_url(const std::string& root);
// The same check on a value; nullopt when good, else why not.
std::optional<std::string> bad_lists_url(std::string_view url);

// The list address a one-click URL names for subscriber, issued at when; ""
// when it would not fit a local part (64 octets): that subscriber's copy then
// carries the mailto: form only.
std::string one_click_address(const ListConfig& cfg, const ListSecret& key, std::string_view subscriber, int64_t when);

// base + "/" + the address, percent-encoded as a path segment.
std::string one_click_url(std::string_view base, std::string_view address);

// The List-Unsubscribe (the URL first, then the mailto: of the -unsubscribe
// address) and List-Unsubscribe-Post fields of one subscriber's copy.
std::string one_click_fields(const ListConfig& cfg, std::string_view url);

struct OneClickTarget {
  std::string address;     // the list address to hand to the queue, lowercased
  std::string list;        // the list's posting address it names (as read: the first split)
  std::string subscriber;  // the subscriber address it names
};
// list-httpd's reading of a URL's last path segment (decoded), when the segment
// is a one-click address of the form above; nullopt otherwise. Says nothing about
// the cookie: only the list can check it.
std::optional<OneClickTarget> one_click_target(std::string_view segment);

// Hands post n's copy to the queue once per subscriber, each with its own
// one-click URL (under base) and its return path <list>-return-<n>-<local=host>@domain
// (what the queue's VERP would have made), through one queue-inject -s. copy is
// list_copy's, whose mailto: List-Unsubscribe line is replaced. An error (permanent
// when the queue refused a copy for good) stops at the first copy not queued.
Status inject_one_click_copies(const List& l, uint64_t n, std::string_view copy,
                               const std::vector<std::string>& subscribers, std::string_view base);

}  // namespace quail::list
