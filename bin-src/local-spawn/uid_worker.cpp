// One delivery in a worker that has become its user (switching users): see
// worker.hpp. Runs as that user; trusts the request only as decode_request
// checked it and the server's routing not at all: the identity is checked again.
#include <unistd.h>

#include "child.hpp"
#include "config_cache.hpp"
#include "identity.hpp"
#include "local_lookup.hpp"
#include "log.hpp"
#include "run.hpp"
#include "worker.hpp"

namespace quail {
namespace {

int deliver(const LspawnRequest& r, const std::string& root, const WorkerKey& key) {
  ld::DeliveryRequest req{std::to_string(r.dlv), r.message_length, r.sender, r.recipient};
  auto cfg = cached_local_config(root);  // control/ as it is now, as a child reads it
  if (!cfg) return ld::report_temporary(req.dlv, req.recipient, cfg.error().reason);
  if (key.error) return ld::report_temporary(req.dlv, req.recipient, *key.error, "4.3.5");
  cfg->srs_key = key.srs;
  // The server routed by the tables; a login or table that changed since (or a
  // bug) must not make this user deliver someone else's mail: the same lookup a
  // child makes before it becomes its user, made again as this user -- and
  // the one the delivery then follows, not looked up a second time here.
  std::string why;
  std::optional<std::optional<LocalTarget>> target;
  auto id = delivery_identity(*cfg, r.recipient, why, &target);
  if (!id) return ld::report_temporary(req.dlv, req.recipient, why, "4.3.0");
  if (id->uid != ::getuid() || id->gid != ::getgid()) {
    return ld::report_temporary(req.dlv, req.recipient, "the recipient's user changed while it was routed", "4.3.0");
  }
  // No alias \user item is delivered by this user: each must be its login's
  // own outcome, which only a forked child delivers (an empty map defers them).
  ld::SelfOutcomes none;
  return ld::run_delivery(req, &*cfg, &none, target ? &*target : nullptr);
}

}  // namespace

int deliver_as_worker_user(const LspawnRequest& r, const std::string& root, const WorkerKey& key, bool& healthy) {
  return guarded_delivery([&] { return deliver(r, root, key); }, healthy);
}

}  // namespace quail
