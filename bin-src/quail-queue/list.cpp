// `quail queue` and `quail queue show ID`: what a person asks of the queue: which
// messages wait, and for each recipient why (held, the last deferral from the
// journal's T record, the next attempt by queue-send's schedule). Read-only.
#include <algorithm>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

#include "control.hpp"
#include "fd.hpp"
#include "headers.hpp"
#include "local_lookup.hpp"
#include "queue_tool.hpp"
#include "queue_view.hpp"
#include "root.hpp"
#include "service_cli.hpp"

namespace quail::queue_tool {
namespace {
namespace admin = quail::admin;
constexpr int64_t ns_per_s = 1000000000;

std::string iso_time(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  tm utc;
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// What queue-send's schedule needs to say when a recipient is tried next
// (man/queue-send.8): the local domains, the remote unit and the lifetime. A
// control file that does not parse leaves the next attempt unsaid.
struct Schedule {
  bool known = false;
  LocalConfig local;
  int64_t unit_remote_s = 300;
  int64_t lifetime_s = 604800;
  bool remote_installed = false;
  bool is_local(std::string_view address) const {
    size_t at = address.rfind('@');
    return at == std::string_view::npos || is_local_domain(local, std::string(address.substr(at + 1)));
  }
};

Schedule read_schedule(const std::string& root) {
  Schedule s;
  Control c(root);
  auto unit = c.integer("retryunitremote");
  auto life = c.integer("queuelifetime");
  auto local = load_local_config(root);
  if (!unit || !life || !local) return s;
  s.known = true;
  s.unit_remote_s = *unit;
  s.lifetime_s = *life;
  s.local = std::move(*local);
  s.remote_installed = ::access((bin_dir(root) + "/remote-deliver").c_str(), X_OK) == 0;
  return s;
}

// One recipient's state in words.
std::string recipient_state(const Schedule& sch, const QueuedMessage& m, size_t i) {
  StatRecipient r = i < m.states.size() ? m.states[i] : StatRecipient{};
  const std::string& address = m.envelope.recipients[i].address;
  switch (r.outcome) {
    case StatOutcome::delivered: return "delivered";
    case StatOutcome::failed: return "failed" + std::string(r.bounced ? " (sender notified)" : "") + ": " + r.reason;
    case StatOutcome::pending: break;
  }
  std::string last = r.last_try ? "; last deferral " + iso_time(r.last_try) + ": " + r.reason : "";
  if (m.held()) return "held: nothing is tried until quail queue release " + m.id + last;
  if (sch.known && !sch.remote_installed && !sch.is_local(address)) {
    return "held: no remote-deliver program is installed" + last;
  }
  if (m.where == "todo") return "waiting for queue-send to take the message";
  if (!r.last_try) return "being delivered";
  std::string next;
  if (sch.known) {
    int64_t at = sch.is_local(address) ? next_retry_ns(m.header.birth_ns, r.last_try * ns_per_s)
                                       : next_retry_unit_ns(m.header.birth_ns, r.last_try * ns_per_s,
                                                            sch.unit_remote_s * ns_per_s);
    at = std::min(at, m.header.birth_ns + sch.lifetime_s * ns_per_s);
    next = " next attempt " + iso_time(std::max(at / ns_per_s, static_cast<int64_t>(std::time(nullptr)))) + ";";
  }
  return "deferred:" + next + " last deferral " + iso_time(r.last_try) + ": " + r.reason;
}

std::string describe(const Schedule& sch, const QueuedMessage& m) {
  if (!m.problem.empty()) return m.id + " unreadable: " + m.problem + " (see quail check)\n";
  std::string out = m.id + "  " + iso_time(m.header.birth_ns / ns_per_s) + "  " +
                    std::to_string(m.header.message_length) + " bytes  from <" + m.envelope.sender + ">" +
                    (m.held() ? "  HELD" : "") + "\n";
  for (size_t i = 0; i < m.envelope.recipients.size(); ++i) {
    out += "  <" + m.envelope.recipients[i].address + ">  " + recipient_state(sch, m, i) + "\n";
  }
  return out;
}

// The header section of the message (at most 64 KiB), control bytes shown as '?'.
std::string header_section(const QueueDirs& dirs, const QueuedMessage& m) {
  auto fd = open_fd(dirs.queue + "/" + m.where + "/" + m.name, O_RDONLY);
  if (!fd) return "";
  std::string buf(std::min<uint64_t>(m.header.message_length, 64 << 10), '\0');
  ssize_t n = ::pread(fd->get(), buf.data(), buf.size(), static_cast<off_t>(queue_header_size));
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  buf.resize(split_message(buf).header_end);
  for (char& c : buf) {
    if ((static_cast<unsigned char>(c) < 32 && c != '\n' && c != '\t') || c == 127) c = '?';
  }
  return buf;
}

}  // namespace

int list(const std::string& root, const QueueDirs& dirs) {
  auto all = scan_queue(dirs);
  if (!all) {
    admin::say("queue", all.error().reason);
    return admin::temporary;
  }
  if (all->empty()) return write_all(1, "The queue is empty.\n") ? admin::ok : admin::temporary;
  Schedule sch = read_schedule(root);
  std::string out;
  for (const auto& m : *all) out += describe(sch, m);
  out += std::to_string(all->size()) + (all->size() == 1 ? " message" : " messages") + " in the queue.\n";
  return write_all(1, out) ? admin::ok : admin::temporary;
}

int show(const std::string& root, const QueueDirs& dirs, std::string_view id) {
  auto m = find_queued(dirs, id);
  if (!m) {
    admin::say("queue", m.error().reason);
    return m.error().kind == ErrorKind::not_found ? admin::no : admin::usage;
  }
  Schedule sch = read_schedule(root);
  const Envelope& e = m->envelope;
  std::string out = "id: " + m->id + "\n";
  out += "state: " + std::string(m->held()            ? "held (quail queue release to deliver it)"
                                 : m->where == "todo" ? "queued, not yet taken by queue-send"
                                                      : "in delivery") + "\n";
  out += "arrival: " + iso_time(m->header.birth_ns / ns_per_s) + "\n";
  out += "size: " + std::to_string(m->header.message_length) + " bytes\n";
  out += "sender: <" + e.sender + ">\n";
  if (!e.ret.empty()) out += "dsn ret: " + e.ret + "\n";
  if (!e.envid.empty()) out += "dsn envid: " + e.envid + "\n";
  if (!e.auth.empty()) out += "authenticated as: " + e.auth + "\n";
  if (e.smtputf8) out += "smtputf8: yes\n";
  out += "recipients:\n";
  for (size_t i = 0; i < e.recipients.size(); ++i) {
    out += "  <" + e.recipients[i].address + ">  " + recipient_state(sch, *m, i) + "\n";
  }
  out += "headers:\n" + header_section(dirs, *m);
  return write_all(1, out) ? admin::ok : admin::temporary;
}

}  // namespace quail::queue_tool
