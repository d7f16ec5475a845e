// list-post: distribute one post to a list's subscribers, as one queue entry
// with a VERP sender. Run from the list's .qmail file (`|list-post LISTDIR`) as
// the list's owner. See man/list-post.8 and queue-layout/lists.md.
#include <cstdlib>
#include <string>

#include "fd.hpp"
#include "from_rewrite.hpp"
#include "headers.hpp"
#include "list_mail.hpp"
#include "list_moderate.hpp"
#include "list_post.hpp"
#include "program.hpp"

namespace {

namespace list = quail::list;
using list::exit_ok;
using list::exit_permanent;
using list::exit_temporary;

constexpr size_t max_post = 32 << 20;

// What local-deliver records as the delivery's reason: one line on stdout.
int say(int code, const std::string& line) {
  (void)quail::write_all(1, "list-post: " + line + "\n");
  return code;
}

int fail(const quail::Error& e) {
  return say(e.kind == quail::ErrorKind::permanent ? exit_permanent : exit_temporary, e.reason);
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int run(int argc, char** argv) {
  if (argc != 2) return say(exit_temporary, "usage: list-post LISTDIR (from a .qmail file)");
  auto l = list::open_list(argv[1]);
  if (!l) return fail(l.error());
  auto msg = list::read_message(0, max_post);
  if (!msg) return say(msg.error().kind == quail::ErrorKind::too_long ? exit_permanent : exit_temporary,
                       msg.error().reason + " (#5.3.4)");
  auto split = quail::split_message(*msg);
  auto fields = quail::parse_header(std::string_view(*msg).substr(0, split.header_end));
  if (!fields) return say(exit_permanent, "malformed header: " + fields.error().reason + " (#5.6.0)");
  std::string_view body = std::string_view(*msg).substr(split.body_start);
  std::string sender = env("SENDER");
  auto member = l->store.find(sender);
  if (!member) return fail(member.error());
  bool subscribed = *member && (*member)->active;
  auto verdict = list::judge_post(l->cfg, sender, *fields, subscribed);
  switch (verdict) {
    case list::PostVerdict::automatic:
      return say(exit_ok, "automatic mail (a bounce or an auto-reply) is not distributed; dropped");
    case list::PostVerdict::loop:
      return say(exit_permanent, "this message has already been through " + l->cfg.address + " (#5.4.6)");
    case list::PostVerdict::not_member:
      return say(exit_permanent, "only subscribers may post to " + l->cfg.address + " (#5.7.1)");
    case list::PostVerdict::hold:
    case list::PostVerdict::distribute:
      break;
  }
  // An author whose domain publishes DMARC p=reject gets the list's From. Before
  // holding too: the moderator's accept sends what was held, without a DNS lookup.
  auto rewrite = list::apply_from_rewrite(*l, sender, std::string_view(*msg).substr(0, split.header_end), *fields);
  if (!rewrite) return fail(rewrite.error());
  std::string note = rewrite->empty() ? "" : "; From rewritten (" + *rewrite + ")";
  if (verdict == list::PostVerdict::hold) {
    std::string held = note.empty() ? *msg : list::join_message(*fields, std::string_view(*msg).substr(split.header_end));
    if (auto s = list::hold_post(*l, sender, held); !s) return fail(s.error());
    return say(exit_ok, "held for the moderator" + note);
  }
  auto sent = list::distribute(*l, *fields, body);
  if (!sent) return fail(sent.error());
  return say(exit_ok, *sent + note);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("list-post", {exit_temporary, exit_temporary}, [&] { return run(argc, argv); });
}
