// One local delivery, whole: what local-deliver's main does for its arguments,
// as a function, so local-spawn can run it in a forked child without an exec.
// Contract: man/local-deliver.8 (fd 0 the queue file at the message, the reason
// on fd 1, the log line on fd 2, exit codes of outcome.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "instructions.hpp"
#include "local_lookup.hpp"

namespace quail::ld {

struct DeliveryRequest {
  std::string dlv;        // the delivery id, for the log
  uint64_t length = 0;    // bytes of message on fd 0, from its current offset
  std::string sender;     // "" for a bounce
  std::string recipient;  // local@domain
};

// Delivers the message on fd 0 to req.recipient, writes the one-line reason on
// fd 1 and the log line on fd 2, and returns 0, 100 or 111 (never throws for
// delivery trouble). cfg, when given, is control/ as read by the caller for this
// delivery; otherwise the control files under $QUAIL_ROOT are read here.
// selves: the alias `\user` items already delivered as their users (see
// alias_system_users), or null. looked_up: req.recipient's lookup_local with
// cfg, made a moment ago by this process as the user it delivers as (a worker
// checking its identity), used instead of a second one; null: looked up here.
int run_delivery(const DeliveryRequest& req, const LocalConfig* cfg = nullptr, const SelfOutcomes* selves = nullptr,
                 const std::optional<LocalTarget>* looked_up = nullptr);

// The system users named by `\user` items of the alias req.recipient is, each
// once: their own Maildir takes the message as that user, before the rest of the
// alias runs as ROOT/mail's owner. Empty when req.recipient is no such alias or
// the message loops (run_delivery then refuses it). Runs as root (local-spawn);
// fd 0 is the queue file (read with pread, its offset left alone).
Result<std::vector<LocalTarget>> alias_system_users(const DeliveryRequest& req, const LocalConfig& cfg);

// Delivers the message on fd 0 into user's own Maildir as the alias
// req.recipient does (its Delivered-To line), running as that user.
Step deliver_to_own_maildir(const DeliveryRequest& req, const LocalConfig& cfg, const LocalTarget& user);

// Reports a temporary failure found before any delivery (bad arguments, no
// delivery user): the reason with its code on fd 1, the log line on fd 2; returns 111.
int report_temporary(std::string_view dlv, std::string_view recipient, const std::string& why,
                     const char* code = "4.3.5");

}  // namespace quail::ld
