// mailauth: smtpd's mail-authentication helper. `mailauth SID` serves one SMTP
// session's requests on fd 0 (a socket from smtpd): SPF at MAIL FROM, DMARC and
// the Authentication-Results field at the end of DATA. `mailauth spf IP SENDER
// HELO` runs one SPF check and prints it. See man/mailauth.8. Trusts smtpd's
// frames as far as their format, nothing in DNS answers or messages.
#include <cstdio>
#include <string>
#include <unistd.h>

#include "checks.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "mailauth_wire.hpp"
#include "program.hpp"
#include "root.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 100;
constexpr int exit_temporary = 111;  // configuration unreadable, no resolver, a broken socket

// One session: requests until smtpd closes the socket.
int serve(quail::mailauth::Checker& checker, const std::string& sid) {
  for (;;) {
    int fd = -1;
    auto req = quail::mailauth::read_frame(0, -1, &fd);
    quail::Fd passed(fd);
    if (!req && req.error().kind == quail::ErrorKind::not_found) return exit_ok;
    if (!req) {
      quail::log_warn({{"sid", sid}, {"event", "mailauth"}, {"result", "fail"}, {"reason", req.error().reason}});
      return exit_temporary;
    }
    std::vector<std::string> answer;
    if ((*req)[0] == "spf") {
      answer = checker.spf(*req);
    } else if ((*req)[0] == "msg" && passed.valid()) {
      answer = checker.message(passed.get());
    } else {
      quail::log_warn({{"sid", sid}, {"event", "mailauth"}, {"result", "fail"}, {"reason", "unknown request"}});
      return exit_temporary;
    }
    if (!quail::mailauth::send_frame(1, answer)) return exit_temporary;
  }
}

int run(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  bool one_check = mode == "spf";
  if (argc < 2 || (one_check && argc != 5)) {
    std::fprintf(stderr, "usage: mailauth SID | mailauth spf IP SENDER HELO\n");
    return exit_usage;
  }
  auto policy = quail::mailauth::load_policy(quail::resolve_root(nullptr));
  if (!policy) {
    quail::log_error({{"event", "config"}, {"reason", policy.error().reason}});
    return exit_temporary;
  }
  auto resolver = quail::dns::Resolver::create(policy->dns_servers);
  if (!resolver) {
    quail::log_error({{"event", "config"}, {"reason", resolver.error().reason}});
    return exit_temporary;
  }
  quail::mailauth::Checker checker(std::move(*policy), *resolver);
  if (!one_check) return serve(checker, mode);
  auto v = checker.check_spf(argv[2], argv[3], argv[4]);
  std::printf("%s %s %s\n", std::string(quail::spf::code_name(v.code)).c_str(), v.domain.c_str(),
              (v.problem.empty() ? v.explanation : v.problem).c_str());
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("mailauth", {exit_temporary, exit_temporary}, [&] { return run(argc, argv); });
}
