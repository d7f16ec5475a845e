// Bounces of the list's mail (VERP return addresses) and probes: see
// requests.hpp and queue-layout/lists.md ("Bounces"). A post's bounce only
// counts; only a bounced probe, whose address carries a cookie, removes.
#include "requests.hpp"

namespace quail::list {

Result<std::string> post_bounce(const List& l, const ListCommand& cmd) {
  int64_t t = now();
  bool probe = false, known = false;
  const ListStore& store = cmd.digest ? l.digest : l.store;
  {
    auto lock = store.lock();
    if (!lock) return lock.error();
    auto s = store.update(cmd.address, t - l.cfg.cookie_lifetime, [&](std::optional<Subscriber>& rec) {
      if (!rec || !rec->active) return false;
      known = true;
      probe = note_bounce(*rec, t, l.cfg.bounce_window);
      return true;
    });
    if (!s) return s.error();
  }
  std::string line = std::string(cmd.digest ? "bounce of digest " : "bounce of post ") + std::to_string(cmd.number) +
                     " to " + cmd.address;
  if (!known) return line + " (not a subscriber); ignored";
  if (!probe) return line + " counted";
  // The probe's own return path carries a cookie: its bounce proves the address
  // still fails, and nobody else can forge that bounce.
  const char* action = cmd.digest ? "dprobe" : "probe";
  std::string sender = l.cfg.address_for(std::string(cmd.digest ? "return-dp." : "return-p.") +
                                         make_cookie(l.secret, action, cmd.address, t) + "-" + encode_address(cmd.address));
  std::string body = "Mail from " + l.cfg.address + " to " + cmd.address + " has been bouncing.\n" +
                     "This probe checks the address; if it bounces too, the address is removed from the list.\n" +
                     "Nothing needs to be done if you read this.\n";
  if (auto s = inject(l.cfg, sender, {cmd.address}, list_reply(l.cfg, cmd.address, "probe from " + l.cfg.address, body));
      !s) {
    return s.error();
  }
  return line + " counted; probe sent";
}

Result<std::string> probe_bounce(const List& l, const ListCommand& cmd) {
  int64_t t = now();
  // A probe waits for its bounce longer than a confirmation: give it two windows too.
  int64_t lifetime = l.cfg.cookie_lifetime + 2 * l.cfg.bounce_window;
  const char* action = cmd.digest ? "dprobe" : "probe";
  if (check_cookie(l.secret, action, cmd.address, cmd.cookie, t, lifetime) != CookieCheck::good) {
    return std::string("bounce to a probe address that is not valid; ignored");
  }
  bool removed = false;
  const ListStore& store = cmd.digest ? l.digest : l.store;
  auto lock = store.lock();
  if (!lock) return lock.error();
  auto s = store.update(cmd.address, t - l.cfg.cookie_lifetime, [&](std::optional<Subscriber>& rec) {
    if (!rec || !rec->active) return false;
    rec->active = false;
    rec->changed = t;
    removed = true;
    return true;
  });
  if (!s) return s.error();
  return removed ? "probe to " + cmd.address + " bounced; removed" : "probe to " + cmd.address + " bounced; not subscribed";
}

}  // namespace quail::list
