// Subscription requests and confirmations: see requests.hpp and
// queue-layout/lists.md ("Cookies": why a reused cookie is refused without state).
#include "requests.hpp"

#include "address.hpp"
#include "list_oneclick.hpp"

namespace quail::list {
namespace {

// The confirmation address for action ("sc" or "uc") and address, issued now;
// empty when it would not fit a local part (64 octets).
std::string confirm_address(const List& l, const char* action, const std::string& address, int64_t t) {
  std::string a = l.cfg.address_for(std::string(action) + "." + make_cookie(l.secret, action, address, t) + "-" +
                                     encode_address(address));
  return a.rfind('@') > max_local_part ? std::string() : a;
}

std::string days(int64_t seconds) { return std::to_string((seconds + 86399) / 86400); }

Status reply(const List& l, const std::string& to, const std::string& subject, const std::string& body,
             const std::string& reply_to = "") {
  return inject(l.cfg, l.cfg.address_for("return-"), {to}, list_reply(l.cfg, to, subject, body, reply_to));
}

// Replies to a sender that may be answered; automatic mail gets nothing (no loops).
Result<std::string> answer(const List& l, const std::string& sender, const std::string& subject,
                           const std::string& body, const std::string& line) {
  if (automatic_mail(sender, {})) return line + "; no reply to automatic mail";
  if (auto s = reply(l, sender, subject, body); !s) return s.error();
  return line;
}

std::string start_again(const List& l, const std::string& request) {
  return "To start again, send an empty message to\n  " + l.cfg.address_for(request) + "\n";
}

// The cookie action: sc/uc for the list, dsc/duc for its digest.
const char* action_of(bool subscribe, bool digest) {
  return digest ? (subscribe ? "dsc" : "duc") : (subscribe ? "sc" : "uc");
}

}  // namespace

Result<std::string> request(const List& l, const ListCommand& cmd, const std::string& sender) {
  bool subscribe = cmd.kind == ListCommandKind::subscribe;
  if (automatic_mail(sender, {})) return std::string("automatic mail cannot subscribe or unsubscribe; ignored");
  if (cmd.digest && !l.cfg.digest) return help(l, sender);
  auto a = parse_address(sender, false);
  if (!a || a->quoted()) return std::string("the sender is not a plain address; ignored");
  std::string address = lowercase(a->str());
  int64_t t = now();
  std::string confirm = confirm_address(l, action_of(subscribe, cmd.digest), address, t);
  std::string what = std::string(cmd.digest ? "digest-" : "") + (subscribe ? "subscribe" : "unsubscribe");
  if (confirm.empty()) {
    return answer(l, address, "your address is too long for " + l.cfg.address,
                  "Your address is too long to fit the list's confirmation address (64 octets);\n"
                  "ask the list's owner, " + l.cfg.address_for("owner") + ", to " + what + " you.\n",
                  "too long to confirm: " + address);
  }
  std::string body = "Someone, probably you, asked to " + what + " " + address + (subscribe ? " to " : " from ") +
                     l.cfg.address + ".\n\n" + "To confirm, reply to this message, or send an empty message to\n  " +
                     confirm + "\n\n" + "This address works for " + days(l.cfg.cookie_lifetime) +
                     " days. If you did not ask, ignore this message.\n";
  if (auto s = reply(l, address, "confirm: " + what + " " + l.cfg.address, body, confirm); !s) return s.error();
  return what + " confirmation sent to " + address;
}

Result<std::string> confirm(const List& l, const ListCommand& cmd, const std::string& sender) {
  bool subscribe = cmd.kind == ListCommandKind::confirm_subscribe;
  const char* action = action_of(subscribe, cmd.digest);
  const ListStore& store = cmd.digest ? l.digest : l.store;
  const std::string start = cmd.digest ? (subscribe ? "digest-subscribe" : "digest-unsubscribe")
                                       : (subscribe ? "subscribe" : "unsubscribe");
  int64_t t = now(), issued = 0;
  switch (check_cookie(l.secret, action, cmd.address, cmd.cookie, t, l.cfg.cookie_lifetime, &issued)) {
    case CookieCheck::forged:
      return answer(l, sender, "not a valid confirmation address for " + l.cfg.address,
                    "The address you wrote to is not a confirmation address this list issued,\n"
                    "so nothing was changed. Copy the address exactly from the list's message.\n" +
                        start_again(l, start),
                    "forged confirmation for " + cmd.address + "; nothing changed");
    case CookieCheck::expired:
      return answer(l, sender, "expired confirmation address for " + l.cfg.address,
                    "The confirmation address you wrote to has expired, so nothing was changed.\n" +
                        start_again(l, start),
                    "expired confirmation for " + cmd.address + "; nothing changed");
    case CookieCheck::good:
      break;
  }
  // Reused: the change is made already, or the record changed the other way
  // after the cookie was issued (an unsubscription at or after a subscribe
  // cookie's time, a subscription after an unsubscribe cookie's). The tombstone
  // of an unsubscription keeps its time for as long as cookies live.
  enum class Outcome { done, used } outcome = Outcome::done;
  if (cmd.digest && !l.cfg.digest) return help(l, sender);
  auto lock = store.lock();
  if (!lock) return lock.error();
  auto s = store.update(cmd.address, t - l.cfg.cookie_lifetime, [&](std::optional<Subscriber>& rec) {
    bool used = subscribe ? rec && (rec->active || rec->changed >= issued)
                          : !rec || !rec->active || rec->changed > issued;
    if (used) {
      outcome = Outcome::used;
      return false;
    }
    if (subscribe) {
      rec = Subscriber{cmd.address, true, t, 0, 0, 0, 0};
    } else {
      rec->active = false;
      rec->changed = t;
    }
    return true;
  });
  if (!s) return s.error();
  if (outcome == Outcome::used) {
    std::string state = subscribe ? "is already subscribed" : "is not subscribed";
    return answer(l, sender, "confirmation already used for " + l.cfg.address,
                  "This confirmation address was used already, or " + cmd.address + " changed since;\n" +
                      "nothing was changed, and " + cmd.address + " " + state + ".\n" + start_again(l, start),
                  "reused confirmation for " + cmd.address + "; nothing changed");
  }
  std::string of = cmd.digest ? "the digest of " : "";
  std::string line = (subscribe ? "subscribed " : "unsubscribed ") + cmd.address + (cmd.digest ? " (digest)" : "");
  std::string body = subscribe ? "Welcome to " + of + l.cfg.address + ". Post by writing to " + l.cfg.address + ".\n" +
                                     "To leave, send an empty message to\n  " +
                                     l.cfg.address_for(cmd.digest ? "digest-unsubscribe" : "unsubscribe") + "\n"
                               : "You have left " + of + l.cfg.address + ". Goodbye.\n";
  if (auto r = reply(l, cmd.address, (subscribe ? "welcome to " : "goodbye from ") + of + l.cfg.address, body); !r) {
    // The change is made and durable: a retry would find the cookie used. Say so, deliver.
    return line + "; the notice could not be queued: " + r.error().reason;
  }
  return line;
}

Result<std::string> one_click(const List& l, const ListCommand& cmd) {
  // The request comes from list-httpd, which cannot check the cookie: the
  // answer to a bad one is only this line (the HTTP client has its page already).
  int64_t t = now(), issued = 0;
  switch (check_cookie(l.secret, "oc", cmd.address, cmd.cookie, t, one_click_lifetime, &issued)) {
    case CookieCheck::forged: return "forged one-click unsubscription for " + cmd.address + "; nothing changed";
    case CookieCheck::expired: return "expired one-click unsubscription for " + cmd.address + "; nothing changed";
    case CookieCheck::good: break;
  }
  bool used = false;
  auto lock = l.store.lock();
  if (!lock) return lock.error();
  auto s = l.store.update(cmd.address, t - l.cfg.cookie_lifetime, [&](std::optional<Subscriber>& rec) {
    // As for an unsubscribe cookie: a subscription made after the URL was issued stays.
    used = !rec || !rec->active || rec->changed > issued;
    if (used) return false;
    rec->active = false;
    rec->changed = t;
    return true;
  });
  if (!s) return s.error();
  if (used) return "one-click unsubscription for " + cmd.address + " already done or superseded; nothing changed";
  std::string line = "unsubscribed " + cmd.address + " (one-click)";
  std::string body = "You have left " + l.cfg.address + ": someone (probably you, or your mail program)\n" +
                     "used the unsubscribe link of a message from the list.\n\n" +
                     "To subscribe again, send an empty message to\n  " + l.cfg.address_for("subscribe") + "\n";
  if (auto r = reply(l, cmd.address, "goodbye from " + l.cfg.address, body); !r) {
    return line + "; the notice could not be queued: " + r.error().reason;
  }
  return line;
}

Result<std::string> help(const List& l, const std::string& sender) {
  std::string body = "This is the mailing list " + l.cfg.address + ".\n\n" + "To post, write to " +
                     l.cfg.address + "\n" + "To subscribe, send an empty message to " +
                     l.cfg.address_for("subscribe") + "\n" + "To unsubscribe, send an empty message to " +
                     l.cfg.address_for("unsubscribe") + "\n" + "To reach a person, write to " +
                     l.cfg.address_for("owner") + "\n";
  return answer(l, sender, "help for " + l.cfg.address, body, "help sent to " + sender);
}

}  // namespace quail::list
