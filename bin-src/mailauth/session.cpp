// One session's requests: see session.hpp.
#include "session.hpp"

#include "checks.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "mailauth_wire.hpp"

namespace quail::mailauth {
namespace {

int serve(Checker& checker, const std::string& sid) {
  for (;;) {
    int fd = -1;
    auto req = read_frame(0, -1, &fd);
    Fd passed(fd);
    if (!req && req.error().kind == ErrorKind::not_found) return exit_ok;
    if (!req) {
      log_warn({{"sid", sid}, {"event", "mailauth"}, {"result", "fail"}, {"reason", req.error().reason}});
      return exit_temporary;
    }
    std::vector<std::string> answer;
    if ((*req)[0] == "spf") {
      answer = checker.spf(*req);
    } else if ((*req)[0] == "msg" && passed.valid()) {
      answer = checker.message(passed.get());
    } else {
      log_warn({{"sid", sid}, {"event", "mailauth"}, {"result", "fail"}, {"reason", "unknown request"}});
      return exit_temporary;
    }
    if (!send_frame(1, answer)) return exit_temporary;
  }
}

}  // namespace

int with_checker(const std::string& root, const std::function<int(Checker&)>& body) {
  auto policy = load_policy(root);
  if (!policy) {
    log_error({{"event", "config"}, {"reason", policy.error().reason}});
    return exit_temporary;
  }
  // Created here, per session: a resident helper's children must not share the
  // state their DNS query ids and ports come from.
  auto resolver = dns::Resolver::create(policy->dns_servers);
  if (!resolver) {
    log_error({{"event", "config"}, {"reason", resolver.error().reason}});
    return exit_temporary;
  }
  Checker checker(std::move(*policy), *resolver);
  return body(checker);
}

int serve_session(const std::string& root, const std::string& sid) {
  return with_checker(root, [&](Checker& c) { return serve(c, sid); });
}

}  // namespace quail::mailauth
