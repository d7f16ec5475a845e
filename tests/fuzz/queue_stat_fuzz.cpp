// libFuzzer harness for the stat/<id> journal parser (lib/queue_stat) and the
// reason-to-DSN-status reader (lib/bounce) that reads the journal's F reasons.
// The first byte is the recipient count; the rest is the journal text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bounce.hpp"
#include "queue_file.hpp"
#include "queue_stat.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

bool same(const quail::QueueStat& a, const quail::QueueStat& b) {
  if (a.birth_ns != b.birth_ns || a.recipients.size() != b.recipients.size()) return false;
  for (size_t n = 0; n < a.recipients.size(); ++n) {
    const auto &x = a.recipients[n], &y = b.recipients[n];
    if (x.outcome != y.outcome || x.reason != y.reason) return false;
    // A T time only matters while the recipient is pending.
    if (x.outcome == quail::StatOutcome::pending && x.last_try != y.last_try) return false;
    if (x.outcome == quail::StatOutcome::failed && x.bounced != y.bounced) return false;
    if (x.reported != y.reported || x.warned != y.warned) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t recipients = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto strict = quail::parse_queue_stat(text, recipients);
  auto salvaged = quail::salvage_queue_stat(text, recipients);
  if (strict.ok()) {
    // A sound journal salvages to itself, and its canonical form parses the same.
    require(salvaged.ok() && same(*strict, *salvaged));
    require(strict->good_bytes <= text.size());
    require(strict->torn_tail == (strict->good_bytes != text.size()));
    // Every time read stays where schedule arithmetic cannot overflow (issue 16).
    require(strict->birth_ns >= 0 && strict->birth_ns <= quail::max_queue_time_ns);
    for (const auto& r : strict->recipients) require(r.last_try >= 0 && r.last_try <= quail::max_queue_time_s);
    auto again = quail::parse_queue_stat(quail::format_queue_stat(*strict), recipients);
    require(again.ok() && same(*strict, *again) && !again->torn_tail);
    for (const auto& r : strict->recipients) {
      std::string st = quail::dsn_status(r.reason);
      require(st.size() >= 5 && st[0] == '5');
    }
  }
  if (salvaged.ok()) {
    require(salvaged->good_bytes <= text.size());
    // The kept prefix is itself a sound journal with the same content.
    auto prefix = quail::parse_queue_stat(text.substr(0, salvaged->good_bytes), recipients);
    require(prefix.ok() && same(*prefix, *salvaged));
  }
  // Reasons come from remote servers: the reply found in one is a suffix of it.
  auto rr = quail::remote_reply(text);
  require(rr.reply.size() <= text.size() && text.substr(text.size() - rr.reply.size()) == rr.reply);
  (void)quail::xtext_decode(text);
  (void)quail::message_headers(text);
  return 0;
}
