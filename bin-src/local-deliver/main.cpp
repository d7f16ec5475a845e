// local-deliver: deliver one message to one local address, following .qmail,
// .forward and alias rules (qmail-local's). See man/local-deliver.8. Trusts
// queue-send for its arguments and fd 0; trusts users' files for nothing.
#include <charconv>
#include <string>

#include "address.hpp"
#include "delivery.hpp"
#include "fd.hpp"
#include "local_lookup.hpp"
#include "log.hpp"
#include "message.hpp"
#include "outcome.hpp"
#include "program.hpp"
#include "root.hpp"

namespace {

using namespace quail::ld;

struct Args {
  std::string dlv, sender, recipient;
  uint64_t length = 0;
};

// The one line on fd 1 and the one log line on fd 2, then the exit code.
int report(const Args& a, const Step& s) {
  quail::write_all(1, s.reason + "\n");
  switch (s.kind) {
    case StepKind::ok:
    case StepKind::stop:
      quail::log_info({{"dlv", a.dlv}, {"event", "delivered"}, {"to", a.recipient}, {"reason", s.reason}});
      return exit_delivered;
    case StepKind::permanent:
      quail::log_warn({{"dlv", a.dlv}, {"event", "failed"}, {"to", a.recipient}, {"reason", s.reason}});
      return exit_permanent;
    case StepKind::temporary:
      break;
  }
  quail::log_warn({{"dlv", a.dlv}, {"event", "deferred"}, {"to", a.recipient}, {"reason", s.reason}});
  return exit_temporary;
}

Step deliver_one(const Args& args) {
  Context ctx;
  ctx.root = quail::resolve_root(nullptr);
  ctx.sender = args.sender;
  auto cfg = quail::load_local_config(ctx.root);
  if (!cfg) return temporary(cfg.error(), "4.3.5");
  ctx.cfg = std::move(*cfg);

  auto rcpt = quail::parse_address(args.recipient);
  if (!rcpt) return permanent("malformed recipient address", "5.1.3");
  ctx.rcpt = *rcpt;
  if (!quail::is_local_domain(ctx.cfg, ctx.rcpt.domain())) return permanent("not a local domain", "5.1.2");

  // The message stays where queue-send put it; only programs get a copy.
  quail::Fd holder;
  auto msg = open_message(args.length, holder);
  if (!msg) return temporary(msg.error());
  ctx.msg = *msg;
  auto loop = has_delivered_to(ctx.msg, ctx.recipient());
  if (!loop) return temporary(loop.error());
  if (*loop) return permanent("This message is looping: it already has my Delivered-To line.", "5.4.6");

  auto target = quail::lookup_local(ctx.cfg, ctx.rcpt);
  if (!target) return temporary(target.error());
  if (!*target) return permanent("no mailbox here by that name", "5.1.1");
  ctx.target = std::move(**target);
  return deliver(ctx);
}

}  // namespace

// local-deliver <dlv-id> <message-length> <sender> <recipient>
int main(int argc, char** argv) {
  return quail::run_main("local-deliver", {exit_temporary, exit_temporary}, [&] {
    Args a;
    if (argc != 5) {
      a.dlv = argc > 1 ? argv[1] : "";
      return report(a, temporary("usage: local-deliver dlv-id message-length sender recipient", "4.3.5"));
    }
    a.dlv = argv[1];
    a.sender = argv[3];
    a.recipient = argv[4];
    std::string_view len(argv[2]);
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), a.length);
    if (ec != std::errc() || end != len.data() + len.size() || len.empty()) {
      return report(a, temporary("message length is not a number: " + std::string(len), "4.3.5"));
    }
    return report(a, deliver_one(a));
  });
}
