// list-manage: everything sent to a list's extensions (team-subscribe@,
// team-sc.<cookie>-<addr>@, team-return-<n>-<addr>@, team-accept.<cookie>-<id>@,
// ...). Run from the list's .qmail-team-default (`|list-manage LISTDIR`) as the
// list's owner; $DEFAULT says which address was written to. See man/list-manage.8.
#include <cstdlib>
#include <string>

#include "fd.hpp"
#include "headers.hpp"
#include "list_cookie.hpp"
#include "list_mail.hpp"
#include "list_moderate.hpp"
#include "program.hpp"
#include "requests.hpp"

namespace {

namespace list = quail::list;
using list::exit_ok;
using list::exit_temporary;
using K = quail::ListCommandKind;

// A request is small; a bounce quotes the message, so allow a post's size.
constexpr size_t max_request = 32 << 20;

int say(int code, const std::string& line) {
  (void)quail::write_all(1, "list-manage: " + line + "\n");
  return code;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

quail::Result<std::string> act(const list::List& l, const quail::ListCommand& cmd, const std::string& sender,
                               const std::vector<quail::HeaderField>& fields) {
  // Never answer automatic mail (a vacation reply to a confirmation request):
  // only bounces, which carry their own addresses, are read from it.
  bool automatic = list::automatic_mail(sender, fields);
  switch (cmd.kind) {
    case K::subscribe:
    case K::unsubscribe:
      if (automatic) return std::string("automatic mail to a request address; ignored");
      return list::request(l, cmd, sender);
    case K::confirm_subscribe:
    case K::confirm_unsubscribe:
      return list::confirm(l, cmd, automatic ? std::string() : sender);
    case K::one_click: return list::one_click(l, cmd);
    case K::bounce: return list::post_bounce(l, cmd);
    case K::probe_bounce: return list::probe_bounce(l, cmd);
    case K::return_other: return std::string("bounce of the list's own mail; ignored");
    case K::moderate_accept:
    case K::moderate_reject:
      return list::moderate(l, cmd.kind == K::moderate_accept, cmd.cookie, cmd.held);
    case K::get:
      if (automatic) return std::string("automatic mail to the archive; ignored");
      return list::get_post(l, cmd.number, sender);
    case K::post:
    case K::help:
      break;
  }
  if (automatic) return std::string("automatic mail to an unknown list address; ignored");
  return list::help(l, sender);
}

int run(int argc, char** argv) {
  if (argc != 2) return say(exit_temporary, "usage: list-manage LISTDIR (from a .qmail file)");
  auto l = list::open_list(argv[1]);
  if (!l) return say(exit_temporary, l.error().reason);
  auto msg = list::read_message(0, max_request);
  if (!msg) return say(exit_temporary, msg.error().reason);
  auto split = quail::split_message(*msg);
  auto fields = quail::parse_header(std::string_view(*msg).substr(0, split.header_end));
  // A malformed header is read as none: the request is in the address, not the text.
  std::vector<quail::HeaderField> none;
  auto cmd = quail::parse_list_command(env("DEFAULT"));
  auto line = act(*l, cmd, env("SENDER"), fields ? *fields : none);
  if (!line) return say(exit_temporary, line.error().reason);
  return say(exit_ok, *line);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("list-manage", {exit_temporary, exit_temporary}, [&] { return run(argc, argv); });
}
