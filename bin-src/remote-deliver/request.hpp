// What remote-deliver is asked to do: its arguments, the message on fd 0 and the
// DSN parameters from the queue file's envelope after it (queue-layout/envelope.md),
// and the message prepared for the wire. Trusts queue-send for the arguments and
// the fd, and the message for nothing.
#pragma once
#include <string>
#include <vector>

#include "envelope.hpp"
#include "result.hpp"

namespace quail::rd {

// A message has been through too many hosts beyond this (RFC 5321 6.3), as smtpd counts.
inline constexpr int max_received = 100;

struct Request {
  std::string msg;       // the queue id (fd 0's inode number), for the log
  std::string domain;    // lowercase
  std::string sender;    // the return path for this run ("" for <>)
  std::vector<Recipient> rcpts;  // the arguments, with their envelope DSN records
  std::string ret, envid;        // DSN message parameters
  std::string message;           // as stored: LF line ends
  int received = 0;              // Received fields in its header
  bool body_8bit = false;        // any 8-bit byte in the message
  bool needs_smtputf8 = false;   // UTF-8 in an address, or a header under SMTPUTF8
  bool signable = false;         // a local or authenticated origin: DKIM-signed (signing.hpp)
  std::string sign_domain;       // signed for this domain, not the From's: a list's (signing.hpp)
};

// Reads fd 0 (the message, $QUAIL_MESSAGE_LENGTH bytes, then the envelope) for
// the arguments "domain sender recipient...". temporary error with a reason when
// it cannot.
Result<Request> read_request(int argc, char** argv);
// Reads a kept run's job: fd at the message, length bytes of it, then the
// envelope, whose sender and recipients at the given indexes the job is for.
Result<Request> read_job(const std::string& domain, int fd, uint64_t length, const std::vector<uint32_t>& rcpts);

// The message with every CR that does not end a line, and every NUL, turned
// into a space (as Postfix 3.9's cleanup_replace_stray_cr_lf does for CR and LF).
// SMTP smuggling needs one of them (<CR>.<CR>, <CR>.<CRLF>, <CRLF><NUL>.<CRLF>
// for a receiver that drops NULs...): a lenient receiver could end the data there
// and take what follows for commands sent under our name. smtpd refuses both,
// so only mail injected on this machine can hold them; RFC 5321 forbids them
// in text anyway.
std::string without_stray_cr_nul(std::string message);

// The message as sent after DATA: CRLF line ends, dot-stuffed, ending in CRLF.CRLF.
std::string wire_form(const std::string& message);

}  // namespace quail::rd
