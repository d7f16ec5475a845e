// Which instructions apply to a resolved recipient (alias items, a .qmail file,
// a .forward, or the default Maildir) and carrying them out in order.
#pragma once
#include "instructions.hpp"
#include "outcome.hpp"

namespace quail::ld {

// Delivers the message for ctx.target. ok's reason says what was done
// ("delivered to Maildir (#2.0.0)"); the first failing instruction ends the
// delivery with its step (forwards collected so far are then not sent).
Step deliver(const Context& ctx);

}  // namespace quail::ld
