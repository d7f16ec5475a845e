// Milliseconds on the monotonic clock: deadlines and waits that a change of
// the wall clock (NTP, an administrator) must not stretch or cut short.
#pragma once
#include <cstdint>

namespace quail {

int64_t monotonic_ms();

}  // namespace quail
