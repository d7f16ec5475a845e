// Held posts: see list_moderate.hpp and queue-layout/lists.md.
#include "list_moderate.hpp"

#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.hpp"
#include "fd.hpp"
#include "headers.hpp"
#include "list_post.hpp"

namespace quail::list {
namespace {

std::string held_dir(const List& l) { return l.dir + "/held"; }

int64_t id_time(std::string_view id) {
  int64_t t = 0;
  for (char c : id.substr(0, id.find('.'))) t = t * 10 + (c - '0');
  return t;
}

// Tells a held post's sender what became of it (never an automatic sender).
Status tell_sender(const List& l, std::string_view sender, std::string_view subject, std::string_view body) {
  if (automatic_mail(sender, {})) return {};
  return inject(l.cfg, l.cfg.address_for("return-"), {std::string(sender)},
                list_reply(l.cfg, sender, subject, body));
}

// A held file: the sender's line, then the post.
struct Held {
  std::string sender;
  std::string message;
};

Result<Held> read_held(const std::string& path) {
  auto text = read_file(path, 64 << 20);
  if (!text) return text.error();
  size_t nl = text->find('\n');
  if (nl == std::string::npos) return Error{ErrorKind::format, path + ": no sender line"};
  return Held{text->substr(0, nl), text->substr(nl + 1)};
}

}  // namespace

Status sweep_held(const List& l) {
  DIR* d = ::opendir(held_dir(l).c_str());
  if (!d) return errno == ENOENT ? Status() : sys_error(ErrorKind::temporary, "open " + held_dir(l));
  std::vector<std::string> old;
  int64_t t = now();
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (valid_held_id(name) && t - id_time(name) > l.cfg.cookie_lifetime) old.push_back(name);
  }
  ::closedir(d);
  for (const auto& id : old) {
    std::string path = held_dir(l) + "/" + id;
    auto held = read_held(path);
    if (!held) continue;
    if (auto s = tell_sender(l, held->sender, "your post to " + l.cfg.address + " expired",
                             "Your post to " + l.cfg.address + " waited for the moderator longer than the list\n"
                             "keeps posts, and was discarded.\n");
        !s) {
      return s;
    }
    ::unlink(path.c_str());
  }
  return {};
}

Status hold_post(const List& l, std::string_view sender, std::string_view message) {
  if (auto s = sweep_held(l); !s) return s;
  if (::mkdir(held_dir(l).c_str(), 0700) != 0 && errno != EEXIST) {
    return sys_error(ErrorKind::temporary, "mkdir " + held_dir(l));
  }
  unsigned char rnd[4];
  randombytes_buf(rnd, sizeof rnd);
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  int64_t t = now();
  std::string id = std::to_string(t) + "." + hex;
  if (auto s = write_file_durable(held_dir(l) + "/" + id, std::string(sender) + "\n" + std::string(message), 0600); !s) {
    return s;
  }
  std::string accept = l.cfg.address_for("accept." + make_cookie(l.secret, "accept", id, t) + "-" + id);
  std::string reject = l.cfg.address_for("reject." + make_cookie(l.secret, "reject", id, t) + "-" + id);
  std::string body = "A post from " + std::string(sender) + " to " + l.cfg.address + " waits for you.\n\n" +
                     "To accept it, reply to this message or send an empty message to\n  " + accept + "\n" +
                     "To reject it, send an empty message to\n  " + reject + "\n\n" + "It is discarded after " +
                     std::to_string(l.cfg.cookie_lifetime / 86400) + " days.\n\n--- the held post ---\n" +
                     std::string(message);
  // The moderator's note must reach them even when the post is never answered:
  // a failure here leaves the held file for the sweep, and local-deliver retries.
  return inject(l.cfg, l.cfg.address_for("return-"), {l.cfg.owner},
                list_reply(l.cfg, l.cfg.owner, "moderate: post from " + std::string(sender), body, accept));
}

Result<std::string> moderate(const List& l, bool accept, std::string_view cookie, std::string_view id) {
  const char* action = accept ? "accept" : "reject";
  switch (check_cookie(l.secret, action, id, cookie, now(), l.cfg.cookie_lifetime)) {
    case CookieCheck::forged: return std::string("moderation address not valid; nothing done");
    case CookieCheck::expired: return std::string("moderation address expired; nothing done");
    case CookieCheck::good: break;
  }
  std::string path = held_dir(l) + "/" + std::string(id);
  std::string claimed = path + ".taken";
  // The rename claims the post: of two answers at once, one finds it gone.
  if (::rename(path.c_str(), claimed.c_str()) != 0) {
    if (errno == ENOENT) return std::string("the held post was already handled");
    return sys_error(ErrorKind::temporary, "rename " + path);
  }
  auto held = read_held(claimed);
  if (!held) {
    ::rename(claimed.c_str(), path.c_str());
    return held.error();
  }
  if (!accept) {
    if (auto s = tell_sender(l, held->sender, "your post to " + l.cfg.address + " was not accepted",
                             "The moderator of " + l.cfg.address + " did not accept your post.\n");
        !s) {
      ::rename(claimed.c_str(), path.c_str());
      return s.error();
    }
    ::unlink(claimed.c_str());
    return std::string("held post " + std::string(id) + " rejected");
  }
  auto split = split_message(held->message);
  auto fields = parse_header(std::string_view(held->message).substr(0, split.header_end));
  if (!fields) {
    ::unlink(claimed.c_str());
    return std::string("held post " + std::string(id) + " has a malformed header; dropped");
  }
  auto sent = distribute(l, *fields, std::string_view(held->message).substr(split.body_start));
  if (!sent) {
    ::rename(claimed.c_str(), path.c_str());
    return sent.error();
  }
  ::unlink(claimed.c_str());
  return "held post " + std::string(id) + " accepted: " + *sent;
}

}  // namespace quail::list
