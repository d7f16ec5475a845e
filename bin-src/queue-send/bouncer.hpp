// Queuing the delivery status notices of one message through queue-inject: RFC
// 3464 failure notices (bounces), delay notices and success reports (delivered,
// relayed), honouring DSN NOTIFY, RET, ENVID and ORCPT, VERP return paths, and the
// double bounce and drop rules that keep a failed notice from looping.
#pragma once
#include <cstdint>
#include <string>

#include "settings.hpp"
#include "store.hpp"

namespace quail {

enum class BounceOutcome {
  queued,    // every notice due is in the queue (or none was due, or it was dropped)
  deferred,  // queue-inject failed temporarily: try again later
};

// True when recipient r of a message born at birth_ns owes a delay notice at now_ns:
// still pending after a temporary failure, delaywarning passed, NOTIFY lists DELAY
// (or is absent), and no notice went out yet.
bool delay_notice_due(const Settings& s, int64_t birth_ns, const Rcpt& r, int64_t now_ns);

// Queues every notice m owes at now_ns: failure notices for failed recipients not
// yet bounced (on `queued` every failed recipient is marked bounced: the caller
// writes B), success reports for delivered recipients that asked (marked reported)
// and delay notices that are due (marked warned). The R and W records of what it
// queued are appended to `records` for the caller to write. On `deferred`, `reason`
// says why; what was queued before stays marked.
BounceOutcome send_notices(const Settings& s, const Store& store, Message& m, int64_t now_ns, std::string& records,
                           std::string& reason);

}  // namespace quail
