// Forwarding, with SRS: a forward to another domain leaves with the sender
// rewritten to SRS0 at the forwarding recipient's domain, so it passes SPF
// there; mail for a good SRS0 address at our domains goes back to the original
// sender. Decisions: man/local-deliver.8, FORWARDING, and man/mailauth.8.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "instructions.hpp"
#include "outcome.hpp"

namespace quail::ld {

// The sender a copy for another domain carries: SRS0 of sender at the
// recipient's domain when sender is from outside our domains and a key is
// loaded; sender itself for the null sender, our own addresses, VERP forms, and
// when the SRS0 local part would pass 64 octets (logged: event=srs action=skip).
std::string remote_sender(const Context& ctx, const std::string& sender);

// Injects the message once with sender to the local addresses in `to` and once
// with remote_sender(sender) to the others (one injection when they agree), each
// copy carrying dtline. ok when every copy is queued; else the queue's answer.
Step inject_forwards(const Context& ctx, const std::string& dtline, const std::string& sender,
                     const std::vector<std::string>& to);

// Delivery to an SRS0 address at our domains (lib/srs_key): a good one is
// forwarded to the original sender (event=srs action=return); a forged or
// expired one fails permanently (5.7.1); nullopt when rcpt is no SRS0 address.
std::optional<Step> deliver_srs(const Context& ctx);

}  // namespace quail::ld
