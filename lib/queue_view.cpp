// The queue for the administrator's tools: see queue_view.hpp.
#include "queue_view.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>

#include "fd.hpp"
#include "queue_id.hpp"

namespace quail {
namespace {

Status list_names(const std::string& dir, std::vector<std::string>& names) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return {};  // hold/ of a queue made before it existed
    return sys_error(ErrorKind::temporary, "read " + dir);
  }
  while (dirent* e = ::readdir(d)) {
    if (valid_queue_id(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return {};
}

// The journal's view when it belongs to this very message (same birth).
void read_journal(const QueueDirs& dirs, QueuedMessage& m) {
  auto text = read_file(dirs.stat() + "/" + m.name, 16 << 20);
  if (!text) return;
  auto st = salvage_queue_stat(*text, m.envelope.recipients.size());
  if (st && st->birth_ns == m.header.birth_ns && st->recipients.size() == m.envelope.recipients.size()) {
    m.states = std::move(st->recipients);
  }
}

// Reads <where>/<name>; a file gone meanwhile is looked for where it moves next
// (todo -> mess -> hold). false when it is nowhere: done since the listing.
bool read_one(const QueueDirs& dirs, std::string where, const std::string& name, QueuedMessage& out) {
  static const char* order[] = {"todo", "mess", "hold"};
  size_t i = std::find(std::begin(order), std::end(order), where) - std::begin(order);
  for (; i < 3; ++i) {
    auto f = read_queue_file(dirs.queue + "/" + order[i] + "/" + name);
    if (!f && f.error().kind == ErrorKind::not_found) continue;
    out.where = order[i];
    out.name = name;
    if (!f) {
      out.id = name;
      out.problem = f.error().reason;
      return true;
    }
    out.header = f->header;
    out.envelope = std::move(f->envelope);
    out.id = message_id(std::stoull(name), out.header.birth_ns);
    read_journal(dirs, out);
    return true;
  }
  return false;
}

}  // namespace

Result<std::vector<QueuedMessage>> scan_queue(const QueueDirs& dirs) {
  std::vector<std::pair<std::string, std::string>> files;  // (where, name)
  for (const char* where : {"todo", "mess", "hold"}) {
    std::vector<std::string> names;
    if (auto s = list_names(dirs.queue + "/" + where, names); !s) return s.error();
    for (auto& n : names) files.emplace_back(where, std::move(n));
  }
  std::vector<QueuedMessage> out;
  for (const auto& [where, name] : files) {
    QueuedMessage m;
    if (read_one(dirs, where, name, m)) out.push_back(std::move(m));
  }
  // Stable: a message not yet taken has a todo/ and a mess/ name, and is shown as in todo/.
  std::stable_sort(out.begin(), out.end(), [](const QueuedMessage& a, const QueuedMessage& b) {
    return a.header.birth_ns != b.header.birth_ns ? a.header.birth_ns < b.header.birth_ns : a.id < b.id;
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const QueuedMessage& a, const QueuedMessage& b) { return a.id == b.id; }),
            out.end());
  return out;
}

Result<QueuedMessage> find_queued(const QueueDirs& dirs, std::string_view id) {
  auto parts = parse_message_id(id);
  Error none{ErrorKind::not_found, "no message " + std::string(id) + " in the queue"};
  if (!parts) return Error{ErrorKind::permanent, std::string(id) + " is not a message id (see quail queue)"};
  QueuedMessage m;
  if (!read_one(dirs, "todo", std::to_string(parts->inode), m) || !m.problem.empty() ||
      m.header.birth_ns != parts->birth_ns) {
    return none;
  }
  return m;
}

}  // namespace quail
