// queue-send's view of the queue: a compact in-memory message (no body, the
// envelope's addresses only) and the disk steps of queue-layout/README.md that
// move it from S2 (todo/) through S3/S4 (mess/ + stat/) to S5 (gone).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fd.hpp"
#include "queue_file.hpp"
#include "queue_id.hpp"
#include "queue_pool.hpp"
#include "result.hpp"

namespace quail {

enum class RcptState : uint8_t {
  pending,    // waiting for next_ns
  queued,     // waiting for a delivery slot
  running,    // a delivery is under way
  delivered,  // final: D
  failed,     // final: F
  held,       // remote, and no remote-deliver is installed: never bounced, never expired
};

struct Rcpt {
  std::string address;
  std::string reason;     // the F reason, or the last temporary one
  int64_t next_ns = 0;    // pending: when the next attempt is due
  int64_t last_try = 0;   // unix time of the last temporary failure (a T record to write)
  RcptState state = RcptState::pending;
  bool recorded = false;  // its D/F is in the journal, fdatasync'ed
  bool bounced = false;   // its F is covered by a queued notice (or needs none)
  bool t_due = false;     // a T record is owed at the end of the pass
  uint8_t notify = 0;     // DSN NOTIFY bits (lib/bounce notify_flags)
  bool reported = false;  // its success report is queued, or the peer sends it (R)
  bool warned = false;    // its delay notice is queued (W)
  bool deleted = false;   // `quail queue delete` while it was queued or running: a deferral fails it
  bool delete_bounce = false;  // ... and that failure is bounced (--bounce)
};

struct Message {
  uint64_t id = 0;
  int64_t birth_ns = 0;
  uint64_t length = 0;     // message bytes after the 56-byte header
  std::string sender;
  std::vector<Rcpt> rcpts;
  uint32_t active = 0;     // recipients queued or running: the pass is open while > 0
  bool journal = false;    // stat/<id> exists
  bool journal_named = false;  // and its name is durable (stat/ fsync'ed since it was made)
  bool small = false;      // the queue file fits pool/ (a bool: it sits in padding, a size would not)
  int64_t wake_ns = 0;     // the heap entry that is current (0: none)
  int64_t bounce_retry_ns = 0;  // a notice that failed to queue is retried then
  bool hold_asked = false;      // `quail queue hold`: moves to hold/ when its pass ends
  bool orphan = false;          // found in mess/ alone while running (scheduler_orphans.cpp)
  // The message's id in the log (lib/queue_id.hpp); `id` is its file's inode.
  std::string id_str() const { return message_id(id, birth_ns); }
  bool final() const;            // every recipient delivered or failed
  bool owes_bounce() const;      // a failed recipient not yet covered by a notice, or a success report due
  bool owes_record() const;      // a final outcome not yet in the journal
};

class Store {
 public:
  explicit Store(const std::string& root) : dirs_(root), pool_(dirs_.pool()) {}
  const QueueDirs& dirs() const { return dirs_; }
  std::string mess_path(uint64_t id) const { return dirs_.mess() + "/" + std::to_string(id); }
  std::string stat_path(uint64_t id) const { return dirs_.stat() + "/" + std::to_string(id); }

  // The ids named in a directory (todo/ or mess/); names that are not ids are skipped.
  Result<std::vector<uint64_t>> list(const std::string& dir) const;
  // Reads a message; from todo/ it is taken first (S2 -> S3, a rename). Its journal
  // is applied when its birth matches, discarded when not, rewritten when damaged.
  // Errors: format for a file that does not parse (left where it is for quail check);
  // any other error (EACCES, EMFILE, EIO on the file or its journal) is temporary
  // and changed nothing on disk: the caller loads it again later.
  // never_taken: the message was never taken (from todo/, or an orphan the walk
  // found in mess/), so a hold its envelope asks for (a milter's quarantine)
  // applies; a message in mess/ otherwise was taken, or released from hold/.
  Result<Message> load(uint64_t id, bool from_todo, bool never_taken) const;
  // Appends records to stat/<id> (creating it with its first line); when sync, the
  // records are fdatasync'ed, and stat/ is fsync'ed unless the journal's name is
  // durable already (a journal made by a T record is not), before returning.
  Status append_journal(Message& m, const std::string& records, bool sync) const;
  // S4 -> S5: mess/<id> goes to pool/ (or is unlinked), then stat/<id> is unlinked.
  Status remove(const Message& m) const;
  // `quail queue hold`: mess/<id> to hold/<id>, hold/ fsync'ed (the message
  // leaves queue-send's care; its journal stays). `release`: the way back.
  Status stow(const Message& m) const;
  Status unstow(uint64_t id) const;
  // Unlinks todo/<id> when it names the file mess/<id> names: a todo/ name that
  // came after the message was taken from mess/. False when it did not (no such
  // name, another file, or an error: nothing is unlinked then).
  bool drop_todo_name(uint64_t id) const;
  // The birth in todo/<id>'s header; errors as read_queue_file's.
  Result<int64_t> todo_birth(uint64_t id) const;
  // Unlinks todo/<id>; false on an error other than ENOENT.
  bool unlink_todo(uint64_t id) const;
  // A fresh read-only fd on mess/<id>, positioned at the message (byte 56).
  Result<Fd> open_message(uint64_t id) const;
  // Removes tmp/ files whose birth (in the name the writer chose, else the mtime) is
  // older than max_age_s: debris of crashed injections. Returns the count.
  int clean_tmp(int64_t max_age_s) const;

 private:
  // todo_fd: the file as load() opened it from todo/.
  Status take(const std::string& todo, const std::string& mess, const std::string& msg, int todo_fd) const;
  QueueDirs dirs_;
  mutable PoolKeeper pool_;  // what it counts is a cache of pool/, not the store's state
};

}  // namespace quail
