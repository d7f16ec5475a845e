// The queue as the administrator's tools read it (mailq, `quail queue`): every
// message in todo/, mess/ and hold/ with its envelope and its journal's view of
// each recipient. Read-only; files moving under it (queue-send at work) are
// followed or skipped, never half-read. Spec: queue-layout/README.md.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "envelope.hpp"
#include "queue_file.hpp"
#include "queue_stat.hpp"
#include "result.hpp"

namespace quail {

struct QueuedMessage {
  std::string id;     // the message id (lib/queue_id.hpp); the file's name when unreadable
  std::string where;  // "todo", "mess" or "hold"
  std::string name;   // the file's name there (its inode)
  QueueHeader header;
  Envelope envelope;
  std::vector<StatRecipient> states;  // one per recipient; empty: no journal of this message
  std::string problem;                // why the file could not be read; "" when it was
  bool held() const { return where == "hold"; }
};

// Every message, oldest first; one moving from todo/ to mess/ (or to or from
// hold/) while it is read is listed once. Unreadable files are listed with a problem.
Result<std::vector<QueuedMessage>> scan_queue(const QueueDirs& dirs);
// The message an id names (same inode and birth), wherever it is; not_found when none.
Result<QueuedMessage> find_queued(const QueueDirs& dirs, std::string_view id);

}  // namespace quail
