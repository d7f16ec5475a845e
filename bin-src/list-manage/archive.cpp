// <list>-get.<n>@: archived post n, for subscribers and the owner. See
// requests.hpp and queue-layout/lists.md ("Archive").
#include <sodium.h>

#include "address.hpp"
#include "fd.hpp"
#include "requests.hpp"

namespace quail::list {

Result<std::string> get_post(const List& l, uint64_t n, const std::string& sender) {
  if (automatic_mail(sender, {})) return std::string("automatic mail to the archive; ignored");
  std::string what = "post " + std::to_string(n);
  auto reply = [&](const std::string& subject, const std::string& text, const std::string& line) -> Result<std::string> {
    if (auto s = inject(l.cfg, l.cfg.address_for("return-"), {sender}, list_reply(l.cfg, sender, subject, text)); !s) {
      return s.error();
    }
    return line;
  };
  if (!l.cfg.archive) return reply("no archive for " + l.cfg.address, "This list keeps no archive.\n", "no archive");
  auto who = l.store.find(sender);
  if (!who) return who.error();
  if (!(*who && (*who)->active) && lowercase(sender) != lowercase(l.cfg.owner)) {
    return reply("archive of " + l.cfg.address, "Only subscribers may fetch posts from the archive.\n",
                 what + " refused to " + sender + ": not a subscriber");
  }
  auto text = read_file(l.dir + "/archive/" + std::to_string(n), 64 << 20);
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return text.error();
    return reply("archive of " + l.cfg.address, "The archive has no post " + std::to_string(n) + ".\n",
                 what + " not in the archive");
  }
  unsigned char rnd[12];
  randombytes_buf(rnd, sizeof rnd);
  char hex[25];
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  std::string boundary = std::string("quail-archive-") + hex;
  // list_reply writes a text/plain header; the parts follow our own multipart header.
  std::string msg = list_reply(l.cfg, sender, what + " of " + l.cfg.address, "");
  size_t ct = msg.find("Content-Type: text/plain; charset=us-ascii\n\n");
  msg.replace(ct, std::string::npos, "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\n\n");
  msg += "--" + boundary + "\nContent-Type: text/plain; charset=us-ascii\n\n" + what + " of " + l.cfg.address +
         " follows.\n\n--" + boundary + "\nContent-Type: message/rfc822\n\n" + *text;
  if (!text->empty() && text->back() != '\n') msg += "\n";
  msg += "\n--" + boundary + "--\n";
  if (auto s = inject(l.cfg, l.cfg.address_for("return-"), {sender}, msg); !s) return s.error();
  return what + " sent to " + sender;
}

}  // namespace quail::list
