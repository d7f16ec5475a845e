// The message local-deliver was handed: fd 0 (the queue file, positioned at the
// message) for exactly <message-length> bytes; never read past them.
#pragma once
#include <cstdint>
#include <string_view>

#include "fd.hpp"
#include "maildir.hpp"
#include "result.hpp"

namespace quail::ld {

// The message on fd 0: read in place with pread when fd 0 is a seekable file
// (checked to hold length bytes), else copied into a memfd owned by holder.
Result<MessageSource> open_message(uint64_t length, Fd& holder);

// True when the header (the lines before the first empty line) has a
// Delivered-To: field equal to recipient, compared without regard to case.
Result<bool> has_delivered_to(const MessageSource& msg, std::string_view recipient);

// A sealed memfd holding exactly the message: a program's stdin, seekable and
// not writable, so one program cannot change what the next line delivers.
Result<Fd> message_memfd(const MessageSource& msg);

}  // namespace quail::ld
