// Forwarding with SRS: see forward.hpp. Trusts Context (checked by run.cpp);
// the forward addresses come from users' files and are checked by queue-inject.
#include "forward.hpp"

#include <ctime>

#include "inject_client.hpp"
#include "log.hpp"
#include "message.hpp"
#include "srs_key.hpp"

namespace quail::ld {
namespace {

bool is_local_address(const Context& ctx, const std::string& address) {
  auto a = parse_address(address);
  return a && is_local_domain(ctx.cfg, a->domain());
}

Step inject(const Context& ctx, const std::string& dtline, const std::string& sender,
            const std::vector<std::string>& to) {
  Envelope env;
  env.sender = sender;
  for (const auto& f : to) env.recipients.push_back(Recipient{f, "", ""});
  const MessageSource& msg = ctx.msg;
  int code = -1;
  auto r = inject_message(ctx.root, [&](int fd) { return copy_message(msg, fd, dtline).ok(); }, env, &code);
  if (!r) return temporary("unable to forward: " + r.error().reason);
  if (code == 0 && !r->permanent && r->text == "ok") return ok_step();
  return Step{r->permanent ? StepKind::permanent : StepKind::temporary, "unable to forward: " + r->text};
}

}  // namespace

std::string remote_sender(const Context& ctx, const std::string& sender) {
  // "#@[]" and "...-@[]" are qmail's null and VERP forms: ours, never rewritten.
  if (!ctx.cfg.srs_key || sender.empty() || sender.ends_with("@[]")) return sender;
  auto a = parse_address(sender);
  if (!a || a->quoted() || is_local_domain(ctx.cfg, a->domain())) return sender;
  std::string srs = srs_forward(*ctx.cfg.srs_key, sender, ctx.rcpt.domain(), std::time(nullptr));
  // Our own smtpd, like RFC 5321, takes local parts of at most 64 octets: a
  // longer SRS0 address could not bring a bounce back, so the sender stays.
  if (!parse_address(srs)) {
    log_warn({{"dlv", ctx.dlv}, {"event", "srs"}, {"action", "skip"}, {"from", "<" + sender + ">"},
              {"reason", "the SRS0 address would be over 64 octets: sender left as it is"}});
    return sender;
  }
  log_info({{"dlv", ctx.dlv}, {"event", "srs"}, {"action", "rewrite"}, {"from", "<" + sender + ">"}, {"srs", "<" + srs + ">"}});
  return srs;
}

Step inject_forwards(const Context& ctx, const std::string& dtline, const std::string& sender,
                     const std::vector<std::string>& to) {
  std::vector<std::string> local, remote;
  for (const auto& f : to) (is_local_address(ctx, f) ? local : remote).push_back(f);
  std::string outside = remote.empty() ? sender : remote_sender(ctx, sender);
  if (outside == sender) return inject(ctx, dtline, sender, to);
  // Local copies keep the real sender (their SPF was checked on the way in).
  if (!local.empty()) {
    if (Step s = inject(ctx, dtline, sender, local); s.failed()) return s;
  }
  return inject(ctx, dtline, outside, remote);
}

std::optional<Step> deliver_srs(const Context& ctx) {
  std::string original;
  switch (srs_recipient(ctx.cfg.srs_key.get(), ctx.cfg, ctx.rcpt, std::time(nullptr), &original)) {
    case SrsCheck::not_srs: return std::nullopt;
    case SrsCheck::forged: return permanent("This SRS address is forged: its signature does not match.", "5.7.1");
    case SrsCheck::expired: return permanent("This SRS address has expired.", "5.7.1");
    case SrsCheck::good: break;
  }
  log_info({{"dlv", ctx.dlv}, {"event", "srs"}, {"action", "return"}, {"to", "<" + original + ">"}});
  Step s = inject_forwards(ctx, "Delivered-To: " + ctx.recipient() + "\n", ctx.sender, {original});
  if (s.failed()) return s;
  return Step{StepKind::ok, "returned to the original sender " + original + " (#2.0.0)"};
}

}  // namespace quail::ld
