// The free-space floor at MAIL FROM: see storage.hpp. RFC 5321 4.2.2 gives 452
// for "insufficient system storage", RFC 3463 4.3.1 "mail system full"; a
// client that announced SIZE= is refused when its message would cross the floor.
#include "storage.hpp"

#include "log.hpp"
#include "queue_space.hpp"

namespace quail::smtpd {

std::optional<Refusal> storage_refusal(const Settings& s, uint64_t size) {
  if (s.queue_floor.percent == 0 && s.queue_floor.bytes == 0) return std::nullopt;
  auto fs = fs_space(s.root + "/queue");
  if (!fs) {
    log_warn({{"sid", s.sid}, {"event", "mail"}, {"result", "error"}, {"reason", fs.error().reason}});
    return std::nullopt;
  }
  auto why = below_floor(*fs, s.queue_floor, size);
  if (!why) return std::nullopt;
  log_warn({{"sid", s.sid}, {"event", "mail"}, {"result", "defer"}, {"dsn", "4.3.1"}, {"reason", *why}});
  return Refusal{452, "4.3.1", "insufficient system storage"};
}

}  // namespace quail::smtpd
