// mailq / sendmail -bp: the queue as a list, oldest first, with each recipient's
// state from its journal. Reads todo/, mess/ and stat/ (queue-layout/README.md);
// changes nothing, and trusts no file: one that does not parse is shown as such.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <dirent.h>

#include "fd.hpp"
#include "log.hpp"
#include "queue_file.hpp"
#include "queue_stat.hpp"
#include "submit.hpp"

namespace quail::submit {
namespace {

struct Entry {
  std::string id;
  QueueHeader header;
  Envelope envelope;
  std::string problem;  // why the file could not be read, "" when it was
};

Status list_ids(const std::string& dir, std::vector<std::string>& ids) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error(ErrorKind::temporary, "read " + dir);
  while (struct dirent* e = ::readdir(d)) {
    if (valid_queue_id(e->d_name)) ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  return {};
}

// Reads todo/<id>, or mess/<id> when queue-send took it meanwhile. false when it
// is in neither: delivered since the directory was read.
bool read_entry(const QueueDirs& dirs, const std::string& id, bool in_todo, Entry& out) {
  auto f = read_queue_file((in_todo ? dirs.todo() : dirs.mess()) + "/" + id);
  if (!f && f.error().kind == ErrorKind::not_found && in_todo) f = read_queue_file(dirs.mess() + "/" + id);
  if (!f && f.error().kind == ErrorKind::not_found) return false;
  out.id = id;
  if (f) {
    out.header = f->header;
    out.envelope = std::move(f->envelope);
  } else {
    out.problem = f.error().reason;
  }
  return true;
}

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

std::string format_entry(const QueueDirs& dirs, const Entry& e) {
  char line[256];
  if (!e.problem.empty()) return e.id + " (unreadable: " + e.problem + ")\n\n";
  const std::string sender = e.envelope.sender.empty() ? "<>" : e.envelope.sender;
  std::snprintf(line, sizeof line, "%-12s %9" PRIu64 " %-20s  ", e.id.c_str(), e.header.message_length,
                arrival(e.header.birth_ns).c_str());
  std::string out = line + sender + "\n";
  // The journal, when queue-send has written one for this very message (same birth).
  QueueStat journal;
  bool have = false;
  if (auto text = read_file(dirs.stat() + "/" + e.id, 1 << 24)) {
    auto st = salvage_queue_stat(*text, e.envelope.recipients.size());
    if (st && st->birth_ns == e.header.birth_ns) {
      journal = std::move(*st);
      have = journal.recipients.size() == e.envelope.recipients.size();
    }
  }
  for (size_t i = 0; i < e.envelope.recipients.size(); ++i) {
    out += std::string(45, ' ') + e.envelope.recipients[i].address;
    if (have) out += state(journal.recipients[i]);
    out += '\n';
  }
  return out + "\n";
}

}  // namespace

int list_queue(const std::string& root) {
  QueueDirs dirs(root);
  std::vector<std::string> todo, mess;
  for (auto [dir, ids] : {std::pair{dirs.todo(), &todo}, std::pair{dirs.mess(), &mess}}) {
    if (auto s = list_ids(dir, *ids); !s) {
      log_error({{"event", "list"}, {"reason", s.error().reason}});
      return exit_temporary;
    }
  }
  std::vector<Entry> entries;
  for (const auto& id : todo) {
    Entry e;
    if (read_entry(dirs, id, true, e)) entries.push_back(std::move(e));
  }
  std::sort(todo.begin(), todo.end());
  for (const auto& id : mess) {
    if (std::binary_search(todo.begin(), todo.end(), id)) continue;  // seen in todo/ already
    Entry e;
    if (read_entry(dirs, id, false, e)) entries.push_back(std::move(e));
  }
  if (entries.empty()) return write_all(1, "Mail queue is empty\n") ? exit_ok : exit_temporary;

  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.header.birth_ns != b.header.birth_ns ? a.header.birth_ns < b.header.birth_ns : a.id < b.id;
  });
  std::string out = "-Queue ID-    --Size-- ----Arrival Time----  -Sender/Recipient-------\n";
  uint64_t bytes = 0;
  for (const auto& e : entries) {
    bytes += e.header.message_length;
    out += format_entry(dirs, e);
    if (out.size() >= (64u << 10)) {
      if (!write_all(1, out)) return exit_temporary;
      out.clear();
    }
  }
  char footer[128];
  std::snprintf(footer, sizeof footer, "-- %" PRIu64 " Kbytes in %zu Request%s.\n", (bytes + 1023) / 1024,
                entries.size(), entries.size() == 1 ? "" : "s");
  out += footer;
  return write_all(1, out) ? exit_ok : exit_temporary;
}

}  // namespace quail::submit
