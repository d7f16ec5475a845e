// mbox delivery (qmail's mbox format, mbox(5) "mboxo"): a From_ line, the
// header lines, the message with ">From " quoting, a blank line; under an fcntl
// lock, fsync'ed, and truncated back to its old size when anything fails.
#pragma once
#include <string>
#include <string_view>

#include "maildir.hpp"
#include "result.hpp"

namespace quail::ld {

inline constexpr int mbox_lock_seconds = 30;

// Appends one message to the mbox at path (created 0600 when missing).
// temporary error when the lock is not had within mbox_lock_seconds; io_write
// on a failed write or fsync, after which the file has its old size again.
Status mbox_deliver(const std::string& path, std::string_view from_line, std::string_view header_lines,
                    const MessageSource& msg);

// mboxo quoting: every line starting "From " is written as ">From ", also when
// the "From " is split across two chunks fed one after the other.
class FromQuoter {
 public:
  // Appends the quoted form of data to out.
  void feed(std::string_view data, std::string& out);
  // Flushes a partial "From" kept back at the end; true when the text ended in '\n'.
  bool finish(std::string& out);

 private:
  bool bol_ = true;
  std::string pending_;
  char last_ = '\n';
};

}  // namespace quail::ld
