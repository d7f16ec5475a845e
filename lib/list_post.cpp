// The distributed copy of a post: see post.hpp.
#include "list_post.hpp"

#include <cerrno>
#include <sys/stat.h>

#include "address.hpp"
#include "durable.hpp"
#include "list_digest.hpp"
#include "list_mail.hpp"
#include "list_oneclick.hpp"

namespace quail::list {
namespace {

// Fields the list writes itself: a post's own copies are dropped.
bool list_owned(const HeaderField& f) {
  std::string n = lowercase(f.name);
  return n == "return-path" || n == "precedence" || n.rfind("list-", 0) == 0;
}

// The Subject field with the prefix in front, unless the subject holds it already (a reply).
std::string prefixed_subject(const HeaderField& f, const std::string& prefix) {
  if (prefix.empty() || f.value().find(prefix) != std::string::npos) return f.raw;
  size_t colon = f.raw.find(':');
  size_t text = f.raw.find_first_not_of(" \t", colon + 1);
  if (text == std::string::npos || f.raw[text] == '\n' || f.raw[text] == '\r') {
    return "Subject: " + prefix + "\n";
  }
  return "Subject: " + prefix + " " + f.raw.substr(text);
}

}  // namespace

PostVerdict judge_post(const ListConfig& cfg, std::string_view sender, const std::vector<HeaderField>& fields,
                       bool sender_subscribed) {
  if (automatic_mail(sender, fields)) return PostVerdict::automatic;
  const std::string id = "<" + lowercase(cfg.list_id()) + ">";
  for (const auto& f : fields) {
    if (f.is("List-Id") && lowercase(f.value()).find(id) != std::string::npos) return PostVerdict::loop;
    if (f.is("Delivered-To") && lowercase(f.value()) == lowercase(cfg.address)) return PostVerdict::loop;
  }
  if (sender_subscribed) return cfg.moderated && !cfg.members_only ? PostVerdict::hold : PostVerdict::distribute;
  if (cfg.moderated) return PostVerdict::hold;
  return cfg.members_only ? PostVerdict::not_member : PostVerdict::distribute;
}

std::string list_copy(const ListConfig& cfg, const std::vector<HeaderField>& fields, std::string_view body) {
  std::string out = "Delivered-To: " + cfg.address + "\n";
  bool subject = false;
  for (const auto& f : fields) {
    if (list_owned(f)) continue;
    if (f.is("Subject") && !subject) {
      out += prefixed_subject(f, cfg.prefix);
      subject = true;
    } else {
      out += f.raw;
    }
  }
  if (!subject && !cfg.prefix.empty()) out += "Subject: " + cfg.prefix + "\n";
  out += list_header_fields(cfg);
  out += "Precedence: list\n\n";
  out += body;
  return out;
}

Status archive_post(const List& l, uint64_t n, std::string_view copy) {
  std::string dir = l.dir + "/archive";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "mkdir " + dir);
  return write_file_durable(dir + "/" + std::to_string(n), copy, 0600);
}

Result<std::string> distribute(const List& l, const std::vector<HeaderField>& fields, std::string_view body) {
  // The number is written only once the queue has the copy, all under the lock,
  // so numbers have no gaps; a crash between the two repeats the number (lists.md).
  auto lock = l.store.lock();
  if (!lock) return lock.error();
  std::vector<std::string> rcpts;
  if (auto s = l.store.for_each([&](const Subscriber& s) { rcpts.push_back(s.address); }); !s) return s.error();
  if (rcpts.empty() && !l.cfg.digest) return std::string("the list has no subscribers; nothing sent");
  auto last = l.store.last_post();
  if (!last) return last.error();
  uint64_t n = *last + 1;
  std::string sender = l.cfg.address_for("return-" + std::to_string(n) + "-") + "-@[]";
  std::string copy = list_copy(l.cfg, fields, body);
  // The archive copy first: a crash after it repeats number n, and the retry writes it again.
  if (l.cfg.archive) {
    if (auto s = archive_post(l, n, copy); !s) return s.error();
  }
  if (l.cfg.digest) {
    if (auto s = collect_for_digest(l, n, copy); !s) return s.error();
  }
  // One-click (lists.md, "One-click unsubscription"): a copy per subscriber, each
  // with its own URL; otherwise one queue entry for all, the queue making the VERP.
  std::string base;
  if (l.cfg.one_click) {
    auto url = lists_url(l.cfg.root);
    if (!url) return url.error();
    base = *url;
  }
  if (!rcpts.empty() && !base.empty()) {
    if (auto s = inject_one_click_copies(l, n, copy, rcpts, base); !s) return s.error();
  } else if (!rcpts.empty()) {
    if (auto s = inject(l.cfg, sender, rcpts, copy); !s) return s.error();
  }
  if (auto s = l.store.set_last_post(n); !s) return s.error();
  std::string line = "post " + std::to_string(n) + " sent to " + std::to_string(rcpts.size()) + " subscribers";
  if (!base.empty()) line += " (one copy each, with one-click URLs)";
  if (l.cfg.one_click && base.empty()) line += " (one_click=1 but control/listsurl is not set: mailto: only)";
  lock = Error{};  // the digest has its own lock; the list's is released first
  if (!l.cfg.digest) return line;
  // The post is distributed whatever becomes of the digest: trouble here waits
  // for the next post or quail list digest.
  auto digest = send_digest(l, false);
  return line + "; " + (digest ? *digest : "digest deferred: " + digest.error().reason);
}

}  // namespace quail::list
