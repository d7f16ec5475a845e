// retry, delete, hold, release: checked here against the queue as it is, then
// carried out by queue-send (lib/queue_command: a file in queue/cmd/ and a 'c'
// through the trigger), which alone changes a queued message. One line says
// what was done. Spec: queue-layout/README.md, "Queue tools".
#include "address.hpp"
#include "fd.hpp"
#include "queue_tool.hpp"
#include "queue_view.hpp"
#include "service_cli.hpp"

namespace quail::queue_tool {
namespace {
namespace admin = quail::admin;
constexpr int wait_ms = 60000;

// The sentence for a command queue-send carried out.
std::string done_text(const QueueDirs& dirs, const QueueCommand& c) {
  switch (c.verb) {
    case QueueVerb::retry:
      return c.all ? "Every waiting recipient is tried again now." : "Message " + c.id + ": its waiting recipients are tried again now.";
    case QueueVerb::del: {
      std::string what = c.domain.empty() ? "Message " + c.id + " deleted" : "Every recipient at " + c.domain + " deleted";
      return what + (c.bounce ? "; the sender gets a failure notice." : "; no notice is sent.");
    }
    case QueueVerb::hold: {
      auto m = find_queued(dirs, c.id);
      if (m && !m->held()) return "Message " + c.id + " is held as soon as its running delivery ends.";
      return "Message " + c.id + " held: nothing is tried until quail queue release " + c.id + ".";
    }
    case QueueVerb::release: return "Message " + c.id + " released: queue-send delivers it now.";
  }
  return "";
}
}  // namespace

int command(const QueueDirs& dirs, QueueCommand c) {
  if (!c.domain.empty()) {
    c.domain = lowercase(c.domain);
    if (!parse_queue_command(format_queue_command(c))) {
      admin::say("queue", "--all-to needs a domain name, not " + c.domain);
      return admin::usage;
    }
  }
  if (!c.id.empty()) {
    auto m = find_queued(dirs, c.id);
    if (!m) {
      admin::say("queue", m.error().reason);
      return m.error().kind == ErrorKind::not_found ? admin::no : admin::usage;
    }
    c.id = m->id;  // as the queue spells it (an id typed in capitals works too)
    if (c.verb == QueueVerb::hold && m->held()) return write_all(1, "Message " + c.id + " is already held.\n") ? admin::ok : admin::temporary;
    if (c.verb == QueueVerb::release && !m->held()) {
      admin::say("queue", "message " + c.id + " is not held");
      return admin::no;
    }
    if (c.verb == QueueVerb::retry && m->held()) {
      admin::say("queue", "message " + c.id + " is held: quail queue release " + c.id + " lets it go");
      return admin::no;
    }
  }
  auto r = give_queue_command(dirs, c, wait_ms);
  if (!r) {
    admin::say("queue", r.error().reason);
    return admin::temporary;
  }
  switch (*r) {
    case CommandOutcome::done: break;
    case CommandOutcome::not_running:
      return write_all(1, "queue-send is not running: the command waits in " + dirs.cmd() +
                              "/ and is carried out when it starts (quail up).\n")
                 ? admin::ok
                 : admin::temporary;
    case CommandOutcome::pending:
      admin::say("queue", "queue-send has not carried out the command within a minute; it waits in " + dirs.cmd() + "/");
      return admin::temporary;
  }
  return write_all(1, done_text(dirs, c) + "\n") ? admin::ok : admin::temporary;
}

}  // namespace quail::queue_tool
