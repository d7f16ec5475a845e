// Session ids: see session_id.hpp.
#include "session_id.hpp"

#include <cstdint>
#include <ctime>
#include <sys/random.h>
#include <unistd.h>

namespace quail {

std::string new_session_id() {
  unsigned char b[6];
  if (::getrandom(b, sizeof b, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof b)) {
    // No entropy yet (early boot): time and pid still make the id unique enough for a log.
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 20) ^
                 (static_cast<uint64_t>(::getpid()) << 30);
    for (auto& c : b) {
      c = static_cast<unsigned char>(x);
      x >>= 8;
    }
  }
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace quail
