// A POP3 maildrop: one user's Maildir, locked for one session, listed with each
// message's wire size and UIDL, changed only at QUIT. Normative description (the
// lock, the size cache, what QUIT does and when it is durable):
// queue-layout/logins.md, "POP3 maildrops". Trusts the Maildir's owner only for
// its own mail: a damaged size cache costs a recount, never a wrong size.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"
#include "result.hpp"

namespace quail {

struct MaildropMessage {
  std::string path;  // "new/<name>" or "cur/<name>", relative to the Maildir
  std::string uid;   // the UIDL: the unique name (before any ":2,..."), or its digest
  uint64_t size = 0; // octets in the wire form, stuffing dots not counted
  bool deleted = false;
  uint64_t delivered = 0;  // the name's leading seconds: the listing's order
  bool sized_by_name = false;  // the size came from the name's ",W=" (not kept in the cache)
};

// The name of the size cache inside the Maildir.
inline constexpr const char* maildrop_cache_name = "quail-pop3-sizes";

// The wire size a Maildir name carries as ",W=<octets>" (maildir_sized_name: quail's
// local-deliver, and Dovecot, write it) in its unique part; nullopt without one.
std::optional<uint64_t> maildir_name_size(std::string_view file_name);

// The UIDL of a Maildir file name (RFC 1939 7: 1 to 70 characters 0x21-0x7E): the
// unique part before ":" when it qualifies, else 32 hex digits of its BLAKE2b.
// The same before and after the new/ -> cur/ move, and in every session.
std::string maildir_uid(std::string_view file_name);

class Maildrop {
 public:
  // Locks the Maildir at dir for this process (flock on the directory; released
  // when the process ends, however). nullopt: another session holds it. A
  // missing dir is an empty maildrop (a login that never got mail). temporary
  // error when dir cannot be opened for another reason.
  static Result<std::optional<Maildrop>> lock(const std::string& dir);

  // Lists new/ and cur/ (no stat per message), sizes from the name's ",W=" or the
  // cache, counting (reading) only the messages that have neither; sorted by delivery time (the name's leading
  // seconds), then name. temporary error when a directory cannot be read.
  Status scan();
  // Rewrites the cache when scan counted a message or found one gone (tmp, fsync,
  // rename); a failure only costs the next session a recount.
  Status save_cache();

  std::vector<MaildropMessage>& messages() { return messages_; }
  // Opens message i for reading; not_found when it has gone since the scan.
  Result<Fd> open_message(size_t i) const;
  // QUIT's update: unlinks the deleted messages, moves the rest of new/ to cur/
  // (":2,"), fsyncs both directories. io_write (after doing what it could) when
  // an unlink, rename or fsync failed; the deletions are durable when it succeeds.
  Status commit();

 private:
  explicit Maildrop(Fd dir) : dir_(std::move(dir)) {}
  Fd dir_;  // invalid for a missing Maildir
  std::vector<MaildropMessage> messages_;
  bool cache_stale_ = false;
};

}  // namespace quail
