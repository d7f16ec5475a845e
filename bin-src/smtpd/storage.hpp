// smtpd's side of the queue's free-space floor (control/queuefree, lib/queue_space):
// MAIL FROM is answered 452 4.3.1 while the queue's filesystem is nearly full.
#pragma once
#include <cstdint>
#include <optional>

#include "session.hpp"
#include "settings.hpp"

namespace quail::smtpd {

// The refusal of a MAIL FROM that announced `size` bytes (SIZE=, 0 when none),
// logged as event=mail result=defer; nullopt when the queue has room. A statvfs
// that fails is logged and lets the mail in: queue-inject still refuses what
// it cannot write.
std::optional<Refusal> storage_refusal(const Settings& s, uint64_t size);

}  // namespace quail::smtpd
