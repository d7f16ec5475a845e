// Queuing the failure notices of one message (RFC 3464 bounces through
// queue-inject), honouring DSN NOTIFY and RET, VERP return paths, and the double
// bounce and drop rules that keep a failed notice from looping.
#pragma once
#include <string>

#include "settings.hpp"
#include "store.hpp"

namespace quail {

enum class BounceOutcome {
  queued,    // every notice due is in the queue (or none was due, or it was dropped)
  deferred,  // queue-inject failed temporarily: try again later, write no B
};

// Queues the notices for m's failed recipients not yet bounced. On `queued` the
// caller writes B; `reason` then says what happened, else why it must wait.
BounceOutcome send_bounces(const Settings& s, const Store& store, const Message& m, std::string& reason);

}  // namespace quail
