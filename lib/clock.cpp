// The monotonic clock in milliseconds: see clock.hpp.
#include "clock.hpp"

#include <ctime>

namespace quail {

int64_t monotonic_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace quail
