// The queue's files and their format. Normative spec: queue-layout/README.md;
// the state names (S0..S3) below are the spec's.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <string_view>

#include "envelope.hpp"
#include "fd.hpp"
#include "result.hpp"

namespace quail {

// The fixed-size first line of every queue file:
// "QUAIL-QUEUE 1 <20-digit message length> <20-digit birth, ns since the epoch>\n"
inline constexpr size_t queue_header_size = 56;

// The latest time a queue file or journal may hold (2242-03-16, 2^33 s after the
// epoch); a later one is damage. It keeps birth + queuelifetime + a retry step, in
// nanoseconds, far below INT64_MAX, so no schedule computed from a read time wraps.
inline constexpr int64_t max_queue_time_s = int64_t{1} << 33;
inline constexpr int64_t max_queue_time_ns = max_queue_time_s * 1000000000;

// A header's message length is an off_t: at most INT64_MAX - queue_header_size,
// so the envelope's offset never wraps.
struct QueueHeader {
  uint64_t message_length = 0;
  int64_t birth_ns = 0;
};
std::string format_queue_header(const QueueHeader& h);
Result<QueueHeader> parse_queue_header(std::string_view bytes);

// The directories of ROOT/queue.
struct QueueDirs {
  explicit QueueDirs(const std::string& root) : queue(root + "/queue") {}
  std::string queue;
  std::string tmp() const { return queue + "/tmp"; }
  std::string todo() const { return queue + "/todo"; }
  std::string mess() const { return queue + "/mess"; }
  std::string stat() const { return queue + "/stat"; }
  std::string pool() const { return queue + "/pool"; }
  std::string hold() const { return queue + "/hold"; }
  std::string cmd() const { return queue + "/cmd"; }
  std::string trigger() const { return queue + "/lock/trigger"; }
};

// Creates the queue directories and the trigger FIFO (quail init, quail check --repair).
Status create_queue_dirs(const QueueDirs& dirs);

// The mode of every queue file, whatever the injector's umask: in a system install
// queue-send reads it through the queue's group (queue-layout/README.md, "Directories").
inline constexpr mode_t queue_file_mode = 0640;

// What a tmp/ name says: the writer's pid and the birth it chose (ns since the
// epoch). The birth, not the mtime, ages a tmp/ file: a file taken from pool/
// keeps its inode's times, the name is the writer's own. nullopt when the name
// is not "<pid>.<birth-ns>" (not made by queue-inject).
struct TmpName {
  int64_t pid = 0;
  int64_t birth_ns = 0;
};
std::optional<TmpName> parse_tmp_name(std::string_view name);

// Writes one message into the queue: S1 (tmp/<unique>, being written) until
// commit, which makes it S2 (todo/<id>, durable). Destroyed uncommitted, it removes
// its tmp file.
class QueueWriter {
 public:
  static Result<QueueWriter> create(const QueueDirs& dirs);
  QueueWriter(QueueWriter&&) = default;
  ~QueueWriter();
  // The message's id (lib/queue_id.hpp): birth and inode, unique for the
  // installation's life. Known from S1 on, so the trace line can carry it.
  const std::string& id() const { return id_; }
  // The file's name in todo/ and mess/: its inode number, in decimal.
  const std::string& name() const { return name_; }
  // Appends message bytes (buffered; large messages are flushed as they grow).
  Status append(std::string_view bytes);
  // Writes the envelope and header, fsyncs the file, renames it into todo/ and
  // fsyncs todo/. Only after this returns ok may the message be acknowledged.
  Status commit(const Envelope& env);

 private:
  QueueWriter(const QueueDirs& dirs, std::string tmp, Fd fd, uint64_t inode, int64_t birth);
  Status flush();
  QueueDirs dirs_;
  std::string tmp_;
  Fd fd_;
  std::string id_;
  std::string name_;
  int64_t birth_ns_;
  std::string buf_;
  uint64_t message_length_ = 0;
  uint64_t written_ = 0;   // bytes written to the file so far
  uint64_t old_size_ = 0;  // a pooled file's size when taken (0 for a new file)
  bool flushed_any_ = false;
  bool committed_ = false;
};

// A queue file opened for reading: header, envelope, and where the message lies.
struct QueueFile {
  Fd fd;
  QueueHeader header;
  Envelope envelope;
  uint64_t file_size = 0;
  uint64_t message_offset() const { return queue_header_size; }
};
// Opens and validates a queue file (todo/<id> or mess/<id>).
Result<QueueFile> read_queue_file(const std::string& path);

// Wakes queue-send (writes one byte to the trigger FIFO; harmless when nobody listens).
void pull_trigger(const QueueDirs& dirs);

// A queue file's name is a decimal inode number: 1 .. UINT64_MAX, no leading
// zero (the message's id is queue_id.hpp's).
bool valid_queue_id(std::string_view id);
// The inode number a valid queue id names; nullopt for an invalid one.
std::optional<uint64_t> parse_queue_id(std::string_view id);

}  // namespace quail
