// Maildir delivery (cr.yp.to/proto/maildir.html): write tmp/<unique>, fsync it,
// move it into new/ without ever replacing a file there, fsync new/. A crash or
// a full disk leaves nothing in new/.
// Trusts the caller for the directory; the message is copied as it is.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

// A message lying in a file: `length` bytes from `offset` of fd (read with
// pread, so the fd's own offset is neither used nor moved).
struct MessageSource {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Reads the message in chunks of up to 64 KiB, handing each to chunk, which
// returns false to stop early; io_read on failure or a message that ends early.
Status read_message(const MessageSource& msg, const std::function<bool(std::string_view)>& chunk);

// Copies the message to out (a file or a pipe); io_read / io_write on failure.
Status copy_message(const MessageSource& msg, int out, std::string_view prefix = {});

// A unique file name for a Maildir: "<sec>.M<usec>P<pid>Q<n>.<host>" (the spec's
// Mn, Pn and Qn, with '/' and ':' in the host name escaped as \057 and \072).
std::string maildir_unique_name();

// Moves tmp/<name> to new/<name> (or new/<new_name>) in the Maildir open as md_fd, never replacing
// an existing new/<name> (that is io_write, EEXIST): renameat2(RENAME_NOREPLACE),
// or, where the filesystem answers EINVAL to it (or noreplace_rename is false, for
// tests), link(2) then unlink of tmp/<name>; rename(2) where there are no hard links.
Status maildir_publish(int md_fd, const std::string& name, bool noreplace_rename = true);
Status maildir_publish(int md_fd, const std::string& name, const std::string& new_name, bool noreplace_rename);

// The name a delivered file gets in new/: the unique name, then ",W=<octets>",
// the message's POP3 wire size (lib/pop3_wire, the convention Dovecot also
// writes), so that pop3d sizes a new message from its name without reading it.
std::string maildir_sized_name(const std::string& unique, uint64_t wire_octets);

// Delivers header_lines (e.g. "Return-Path: <...>\nDelivered-To: ...\n") followed by
// the message into maildir (the directory holding tmp/, new/, cur/). Returns the
// file's path in new/, named by maildir_sized_name. not_found when maildir or its tmp/ or new/ is missing (the
// directory is never created here); io_write on a failed write or fsync, after
// which no file is left in tmp/ or new/.
Result<std::string> maildir_deliver(const std::string& maildir, std::string_view header_lines,
                                    const MessageSource& msg);

}  // namespace quail
