// Shared pieces of the list programs: see list_mail.hpp.
#include "list_mail.hpp"

#include <cstdlib>
#include <ctime>
#include <sodium.h>
#include <unistd.h>

#include "address.hpp"
#include "date.hpp"
#include "envelope.hpp"
#include "fd.hpp"
#include "inject_client.hpp"

namespace quail::list {

Result<List> open_list(const std::string& dir) {
  auto text = read_file(dir + "/config", 1 << 16);
  if (!text) return Error{text.error().kind == ErrorKind::not_found ? ErrorKind::config : ErrorKind::temporary,
                          text.error().reason};
  auto cfg = parse_list_config(*text);
  if (!cfg) return Error{ErrorKind::config, dir + "/" + cfg.error().reason};
  auto raw = read_file(dir + "/secret", 64);
  if (!raw) return Error{raw.error().kind == ErrorKind::not_found ? ErrorKind::config : ErrorKind::temporary,
                         raw.error().reason};
  auto secret = ListSecret::from_bytes(*raw);
  sodium_memzero(raw->data(), raw->size());
  if (!secret) return Error{ErrorKind::config, dir + "/secret: " + secret.error().reason};
  return List{dir, std::move(*cfg), std::move(*secret), ListStore(dir), ListStore(dir + "/digest")};
}

Result<std::string> read_message(int fd, size_t limit) {
  std::string out;
  if (!read_all(fd, out, limit + 1)) return sys_error(ErrorKind::io_read, "read the message");
  if (out.size() > limit) return Error{ErrorKind::too_long, "the message is larger than the list accepts"};
  return out;
}

std::string list_header_fields(const ListConfig& cfg) {
  return "List-Id: <" + cfg.list_id() + ">\n" + "List-Post: <mailto:" + cfg.address + ">\n" +
         "List-Help: <mailto:" + cfg.address_for("help") + ">\n" + "List-Subscribe: <mailto:" +
         cfg.address_for("subscribe") + ">\n" + "List-Unsubscribe: <mailto:" + cfg.address_for("unsubscribe") + ">\n";
}

bool automatic_mail(std::string_view sender, const std::vector<HeaderField>& fields) {
  if (sender.empty() || sender == "#@[]") return true;
  std::string local = lowercase(sender.substr(0, sender.rfind('@')));
  if (local == "mailer-daemon") return true;
  for (const auto& f : fields) {
    if (!f.is("Auto-Submitted")) continue;
    std::string v = lowercase(f.value());
    // The keyword ends at the first ';', space or comment (RFC 3834 5).
    size_t end = v.find_first_of("; \t(");
    if (v.substr(0, end) != "no") return true;
  }
  return false;
}

std::string list_reply(const ListConfig& cfg, std::string_view to, std::string_view subject, std::string_view body,
                       std::string_view reply_to) {
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  std::string m = "From: " + cfg.address_for("help") + "\n" + "To: " + std::string(to) + "\n" + "Subject: " +
                  std::string(subject) + "\n" + "Date: " + rfc5322_date(std::time(nullptr)) + "\n" +
                  "Message-ID: <" + std::to_string(std::time(nullptr)) + "." + hex + "@" + cfg.domain() + ">\n";
  if (!reply_to.empty()) m += "Reply-To: " + std::string(reply_to) + "\n";
  m += "Auto-Submitted: auto-replied\n" + list_header_fields(cfg);
  m += "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n";
  m += body;
  return m;
}

Status inject(const ListConfig& cfg, const std::string& sender, const std::vector<std::string>& recipients,
              std::string_view message) {
  Envelope env;
  env.sender = sender;
  env.extra.emplace_back("origin", "list");  // remote-deliver signs it for the list's domain (lists.md)
  for (const auto& r : recipients) env.recipients.push_back(Recipient{r, "", ""});
  int code = -1;
  auto out = inject_message(cfg.root, [&](int fd) { return write_all(fd, message); }, env, &code);
  if (!out) return Error{ErrorKind::temporary, out.error().reason};
  if (code == 0) return {};
  if (out->permanent) return Error{ErrorKind::permanent, "the queue refused the message: " + out->text};
  return Error{ErrorKind::temporary, "the queue deferred the message: " + out->text};
}

int64_t now() {
  const char* t = std::getenv("QUAIL_LIST_NOW");
  if (t && *t) {
    char* end = nullptr;
    long long v = std::strtoll(t, &end, 10);
    if (end && *end == '\0' && v > 0) return v;
  }
  return static_cast<int64_t>(std::time(nullptr));
}

}  // namespace quail::list
