// mailq / sendmail -bp: the queue as a list, oldest first, by message id, with
// each recipient's state from its journal (lib/queue_view reads todo/, mess/,
// hold/ and stat/); changes nothing; a file that does not parse is shown as such.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "fd.hpp"
#include "log.hpp"
#include "queue_command.hpp"
#include "queue_view.hpp"
#include "submit.hpp"

namespace quail::submit {
namespace {

std::string arrival(int64_t birth_ns) {
  time_t t = static_cast<time_t>(birth_ns / 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S", &tm);
  return buf;
}

// " (delivered)", " (failed: why)", " (deferred: why)" or "" for a recipient not tried yet.
std::string state(const StatRecipient& r) {
  switch (r.outcome) {
    case StatOutcome::delivered: return " (delivered)";
    case StatOutcome::failed: return " (failed" + std::string(r.bounced ? ", bounced" : "") + ": " + r.reason + ")";
    case StatOutcome::pending: return r.last_try ? " (deferred: " + r.reason + ")" : "";
  }
  return "";
}

std::string format_entry(const QueuedMessage& e) {
  char line[256];
  if (!e.problem.empty()) return e.id + " (unreadable: " + e.problem + ")\n\n";
  const std::string sender = e.envelope.sender.empty() ? "<>" : e.envelope.sender;
  // Postfix's mark after the id: '!' for a message on hold.
  std::string id = e.id + (e.held() ? "!" : "");
  std::snprintf(line, sizeof line, "%-19s %9" PRIu64 " %-20s  ", id.c_str(), e.header.message_length,
                arrival(e.header.birth_ns).c_str());
  std::string out = line + sender + "\n";
  const bool have = e.states.size() == e.envelope.recipients.size();
  for (size_t i = 0; i < e.envelope.recipients.size(); ++i) {
    out += std::string(52, ' ') + e.envelope.recipients[i].address;
    if (have) out += state(e.states[i]);
    out += '\n';
  }
  return out + "\n";
}

}  // namespace

int run_queue(const std::string& root) {
  QueueCommand c;
  c.verb = QueueVerb::retry;
  c.all = true;
  auto r = give_queue_command(QueueDirs(root), c, 60000);
  if (!r) {
    log_error({{"event", "run_queue"}, {"reason", r.error().reason}});
    return exit_temporary;
  }
  if (*r == CommandOutcome::done) return exit_ok;
  log_warn({{"event", "run_queue"}, {"result", *r == CommandOutcome::not_running ? "queue-send is not running" : "pending"}});
  return *r == CommandOutcome::not_running ? exit_ok : exit_temporary;
}

int list_queue(const std::string& root) {
  auto entries = scan_queue(QueueDirs(root));
  if (!entries) {
    log_error({{"event", "list"}, {"reason", entries.error().reason}});
    return exit_temporary;
  }
  if (entries->empty()) return write_all(1, "Mail queue is empty\n") ? exit_ok : exit_temporary;
  std::string out = "-Queue ID-----------  --Size-- ----Arrival Time----  -Sender/Recipient-------\n";
  uint64_t bytes = 0;
  for (const auto& e : *entries) {
    bytes += e.header.message_length;
    out += format_entry(e);
    if (out.size() >= (64u << 10)) {
      if (!write_all(1, out)) return exit_temporary;
      out.clear();
    }
  }
  char footer[128];
  std::snprintf(footer, sizeof footer, "-- %" PRIu64 " Kbytes in %zu Request%s.\n", (bytes + 1023) / 1024,
                entries->size(), entries->size() == 1 ? "" : "s");
  out += footer;
  return write_all(1, out) ? exit_ok : exit_temporary;
}

}  // namespace quail::submit
