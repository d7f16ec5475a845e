// quail queue: list the messages in todo/ and mess/, oldest first: id, birth, size,
// sender, and each recipient's state from its journal stat/<id>. Read-only; files
// moving under it (queue-send at work) are followed or skipped. See man/quail.8.
#include <algorithm>
#include <cerrno>
#include <ctime>
#include <dirent.h>
#include <getopt.h>
#include <string>
#include <vector>

#include "fd.hpp"
#include "program.hpp"
#include "queue_file.hpp"
#include "queue_stat.hpp"
#include "service_cli.hpp"

namespace {

namespace admin = quail::admin;

struct Entry {
  std::string id;
  std::string where;  // todo or mess
  quail::QueueHeader header;
  quail::Envelope envelope;
  std::vector<quail::StatRecipient> states;  // empty when the journal says nothing
};

std::string iso_time(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  tm utc;
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// The journal's view of each recipient; empty when there is none, it is damaged
// past its first line, or it belongs to an earlier message with the same inode.
std::vector<quail::StatRecipient> journal(const quail::QueueDirs& q, const Entry& e) {
  auto text = quail::read_file(q.stat() + "/" + e.id, 16 << 20);
  if (!text) return {};
  auto st = quail::salvage_queue_stat(*text, e.envelope.recipients.size());
  if (!st || st->birth_ns != e.header.birth_ns) return {};
  return st->recipients;
}

// Reads every message of one directory; a file that vanished meanwhile is skipped.
quail::Status scan(const quail::QueueDirs& q, const std::string& where, std::vector<Entry>& out,
                   std::vector<std::string>& problems) {
  std::string dir = q.queue + "/" + where;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return quail::sys_error(quail::ErrorKind::temporary, "open " + dir);
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    auto file = quail::read_queue_file(dir + "/" + name);
    if (!file) {
      if (file.error().kind != quail::ErrorKind::not_found) problems.push_back(file.error().reason);
      continue;
    }
    Entry e{name, where, file->header, std::move(file->envelope), {}};
    e.states = journal(q, e);
    out.push_back(std::move(e));
  }
  ::closedir(d);
  return {};
}

std::string describe(const Entry& e) {
  std::string out = e.id + " " + iso_time(e.header.birth_ns / 1000000000) + " " +
                    std::to_string(e.header.message_length) + " <" + e.envelope.sender + "> " + e.where + "\n";
  for (size_t i = 0; i < e.envelope.recipients.size(); ++i) {
    quail::StatRecipient r = i < e.states.size() ? e.states[i] : quail::StatRecipient{};
    std::string rcpt = "<" + e.envelope.recipients[i].address + ">";
    switch (r.outcome) {
      case quail::StatOutcome::delivered: out += "  delivered " + rcpt + "\n"; break;
      case quail::StatOutcome::failed: out += "  failed " + rcpt + " " + r.reason + "\n"; break;
      case quail::StatOutcome::pending:
        out += "  pending " + rcpt;
        if (r.last_try) out += " last try " + iso_time(r.last_try) + ": " + r.reason;
        out += "\n";
        break;
    }
  }
  return out;
}

int run(int argc, char** argv) {
  std::string opened;
  if (int code = admin::root_only_arguments("queue", argc, argv, &opened); code != admin::ok) return code;
  const std::string* root = &opened;
  quail::QueueDirs q(*root);
  std::vector<Entry> entries;
  std::vector<std::string> problems;
  // todo/ first: a message queue-send renames into mess/ between the two scans is
  // then seen twice (and listed once), never missed.
  for (const char* where : {"todo", "mess"}) {
    if (auto s = scan(q, where, entries, problems); !s) {
      admin::say("queue", s.error().reason);
      return admin::temporary;
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.header.birth_ns != b.header.birth_ns ? a.header.birth_ns < b.header.birth_ns : a.id < b.id;
  });
  entries.erase(std::unique(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.id == b.id; }),
                entries.end());
  std::string out;
  for (const auto& e : entries) out += describe(e);
  if (!quail::write_all(1, out)) return admin::temporary;
  for (const auto& p : problems) admin::say("queue", p + " (see quail check)");
  return admin::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-queue", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
