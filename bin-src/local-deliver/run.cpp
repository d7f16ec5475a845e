// One local delivery: see run.hpp. Trusts its caller (queue-send's arguments or
// local-spawn's checked request) for the request and fd 0; users' files for nothing.
#include "run.hpp"

#include "address.hpp"
#include "delivery.hpp"
#include "forward_file.hpp"
#include "fd.hpp"
#include "forward.hpp"
#include "log.hpp"
#include "message.hpp"
#include "outcome.hpp"
#include "root.hpp"
#include "srs_key.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace quail::ld {
namespace {

// In local-spawn's delivery child (selves given): whether it became a login,
// which it does only when its lookup as root, a moment ago, found the recipient
// to be that login (else it became ROOT/mail's owner).
bool became_a_login(const std::string& root) {
  struct stat mail;
  return ::geteuid() != 0 && ::stat((root + "/mail").c_str(), &mail) == 0 && mail.st_uid != ::geteuid();
}

// The one line on fd 1 and the one log line on fd 2, then the exit code.
int report(std::string_view dlv, std::string_view recipient, const Step& s) {
  quail::write_all(1, s.reason + "\n");
  switch (s.kind) {
    case StepKind::ok:
    case StepKind::stop:
      log_info({{"dlv", dlv}, {"event", "delivered"}, {"to", recipient}, {"reason", s.reason}});
      return exit_delivered;
    case StepKind::permanent:
      log_warn({{"dlv", dlv}, {"event", "failed"}, {"to", recipient}, {"reason", s.reason}});
      return exit_permanent;
    case StepKind::temporary:
      break;
  }
  log_warn({{"dlv", dlv}, {"event", "deferred"}, {"to", recipient}, {"reason", s.reason}});
  return exit_temporary;
}

Step deliver_one(const DeliveryRequest& req, const LocalConfig* given, const SelfOutcomes* selves,
                 const std::optional<LocalTarget>* looked_up) {
  Context ctx;
  ctx.dlv = req.dlv;
  ctx.root = given ? given->root : resolve_root(nullptr);
  ctx.sender = req.sender;
  if (given) {
    ctx.cfg = *given;
  } else {
    auto cfg = load_local_config(ctx.root);
    if (!cfg) return temporary(cfg.error(), "4.3.5");
    ctx.cfg = std::move(*cfg);
    auto key = load_srs_key(ctx.root);
    if (!key) return temporary(key.error(), "4.3.5");
    ctx.cfg.srs_key = std::move(*key);
  }

  auto rcpt = parse_address(req.recipient);
  if (!rcpt) return permanent("malformed recipient address", "5.1.3");
  ctx.rcpt = *rcpt;
  if (!is_local_domain(ctx.cfg, ctx.rcpt.domain())) return permanent("not a local domain", "5.1.2");

  // The message stays where queue-send put it; only programs get a copy.
  Fd holder;
  auto msg = open_message(req.length, holder);
  if (!msg) return temporary(msg.error());
  ctx.msg = *msg;
  auto loop = has_delivered_to(ctx.msg, ctx.recipient());
  if (!loop) return temporary(loop.error());
  if (*loop) return permanent("This message is looping: it already has my Delivered-To line.", "5.4.6");

  // An SRS0 address is no mailbox: a bounce to a forward we made, going home.
  if (auto srs = deliver_srs(ctx)) return *srs;
  auto target = looked_up ? Result<std::optional<LocalTarget>>(*looked_up) : lookup_local(ctx.cfg, ctx.rcpt);
  if (!target) return temporary(target.error());
  if (!*target) {
    // Found as root and gone as the login (which may not read the home table):
    // /etc/passwd changed in between. Never a bounce for that.
    if (selves && became_a_login(ctx.root)) return temporary("the recipient's login left /etc/passwd during the delivery");
    return permanent("no mailbox here by that name", "5.1.1");
  }
  ctx.target = std::move(**target);
  ctx.selves = selves;
  return deliver(ctx);
}

}  // namespace

int run_delivery(const DeliveryRequest& req, const LocalConfig* cfg, const SelfOutcomes* selves,
                 const std::optional<LocalTarget>* looked_up) {
  return report(req.dlv, req.recipient, deliver_one(req, cfg, selves, looked_up));
}

Result<std::vector<LocalTarget>> alias_system_users(const DeliveryRequest& req, const LocalConfig& cfg) {
  std::vector<LocalTarget> out;
  auto rcpt = parse_address(req.recipient);
  if (!rcpt || !cfg.system) return out;
  auto target = lookup_local(cfg, *rcpt);
  if (!target) return target.error();
  if (!*target || (*target)->kind != TargetKind::alias) return out;
  Fd holder;
  auto msg = open_message(req.length, holder);
  if (!msg) return msg.error();
  auto loop = has_delivered_to(*msg, rcpt->str());
  if (!loop) return loop.error();
  if (*loop) return out;
  for (const auto& text : (*target)->alias_targets) {
    auto item = parse_forward_item(text);
    if (!item || item->kind != ForwardKind::self) continue;  // run_alias reports a bad item
    auto a = parse_address(item->value + "@" + rcpt->domain());
    if (!a) continue;
    auto user = lookup_local_user(cfg, *a);
    if (!user) return user.error();
    if (!*user || (*user)->kind != TargetKind::system_user) continue;
    bool seen = false;
    for (const auto& t : out) seen = seen || t.user == (*user)->user;
    if (!seen) out.push_back(std::move(**user));
  }
  return out;
}

Step deliver_to_own_maildir(const DeliveryRequest& req, const LocalConfig& cfg, const LocalTarget& user) {
  Context ctx;
  ctx.root = cfg.root;
  ctx.sender = req.sender;
  ctx.cfg = cfg;
  auto rcpt = parse_address(req.recipient);
  if (!rcpt) return permanent("malformed recipient address", "5.1.3");
  ctx.rcpt = *rcpt;
  ctx.target = user;
  Fd holder;
  auto msg = open_message(req.length, holder);
  if (!msg) return temporary(msg.error());
  ctx.msg = *msg;
  Runner run(ctx);
  return run.maildir(user.home + "/Maildir/");
}

int report_temporary(std::string_view dlv, std::string_view recipient, const std::string& why, const char* code) {
  return report(dlv, recipient, temporary(why, code));
}

}  // namespace quail::ld
