// A message stored with LF line ends (Maildir, as qmail stores it) in its POP3
// wire form (RFC 1939 3): every LF becomes CRLF (a CRLF already there stays one),
// a line starting with "." gets another, and a last line without its line end
// gets one. Streams: fed one chunk at a time, never the whole message.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quail {

class WireEncoder {
 public:
  // body_lines: TOP's limit (the header, the empty line, then that many body
  // lines); nullopt for the whole message. stuff: add the stuffing dots.
  explicit WireEncoder(std::optional<uint64_t> body_lines = std::nullopt, bool stuff = true)
      : limit_(body_lines), stuff_(stuff), done_(false) {}
  // Appends the wire form of chunk to out; false once TOP's limit is reached
  // (nothing more need be read).
  bool feed(std::string_view chunk, std::string& out);
  // Appends the line end a last line without one lacks.
  void finish(std::string& out);
  // Octets appended so far, stuffing dots not counted (what LIST reports).
  uint64_t octets() const { return octets_; }

 private:
  std::optional<uint64_t> limit_;
  bool stuff_;
  bool done_;
  bool at_line_start_ = true;
  bool prev_cr_ = false;
  bool in_body_ = false;
  uint64_t line_len_ = 0;
  uint64_t body_lines_ = 0;
  uint64_t octets_ = 0;
};

// The wire size (stuffing excluded) of the message in the file open as fd,
// read in 64 KiB chunks from offset 0 with pread; nullopt on a read error.
std::optional<uint64_t> wire_size(int fd);

}  // namespace quail
