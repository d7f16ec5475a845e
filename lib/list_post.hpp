// A post's way through the list: the verdict on it, the copy the subscribers get
// (man/list-post.8, "THE COPY"), its numbered distribution, and holding it for
// the moderator. list-post runs it for new posts, list-manage for accepted ones.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "headers.hpp"
#include "list_config.hpp"
#include "list_mail.hpp"

namespace quail::list {

// Why a post is not distributed as it is; none when it may go out.
enum class PostVerdict { distribute, automatic, loop, not_member, hold };

// Decides what happens to a post from sender with these fields.
PostVerdict judge_post(const ListConfig& cfg, std::string_view sender, const std::vector<HeaderField>& fields,
                       bool sender_subscribed);

// The distributed copy: our Delivered-To first (local-deliver's loop check then
// stops a copy that comes back), the post's header without Return-Path and
// fields the list owns (List-*, Precedence), the subject prefixed once, the
// List-* fields and Precedence: list, then the body unchanged.
std::string list_copy(const ListConfig& cfg, const std::vector<HeaderField>& fields, std::string_view body);

// Keeps post n's copy as LISTDIR/archive/<n> (durably; replaces a copy left by a crash).
Status archive_post(const List& l, uint64_t n, std::string_view copy);

// Numbers the post and hands one copy for all subscribers to the queue with the
// VERP sender <list>-return-<n>-@domain-@[], under the list's lock. Returns a
// line for the delivery's reason ("post 3 sent to 2 subscribers").
Result<std::string> distribute(const List& l, const std::vector<HeaderField>& fields, std::string_view body);

}  // namespace quail::list
