// mailauth: smtpd's mail-authentication helper. `mailauth SID` serves one SMTP
// session's requests on fd 0 (a socket from smtpd): SPF at MAIL FROM, DMARC and
// the Authentication-Results field at the end of DATA. `mailauth -d` is the
// resident helper quail up starts: it forks a process per session instead of
// smtpd exec'ing one. `mailauth spf IP SENDER HELO` runs one SPF check and prints
// it. See man/mailauth.8. Trusts smtpd's frames as far as their format, nothing
// in DNS answers or messages.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "checks.hpp"
#include "process_ids.hpp"
#include "program.hpp"
#include "resident.hpp"
#include "root.hpp"
#include "session.hpp"

namespace {

using namespace quail::mailauth;

int check_one(const std::string& root, char** argv) {
  return with_checker(root, [&](Checker& checker) {
    auto v = checker.check_spf(argv[2], argv[3], argv[4]);
    std::printf("%s %s %s\n", std::string(quail::spf::code_name(v.code)).c_str(), v.domain.c_str(),
                (v.problem.empty() ? v.explanation : v.problem).c_str());
    return exit_ok;
  });
}

int run(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  std::optional<uid_t> uid;
  std::vector<gid_t> groups;
  bool usage = argc < 2 || (mode == "spf" && argc != 5) || (mode == "-d" && !quail::parse_id_flags(argc, argv, 2, uid, groups));
  if (usage) {
    std::fprintf(stderr, "usage: mailauth SID | mailauth -d [-u uid] [-g gid[,gid...]] | mailauth spf IP SENDER HELO\n");
    return exit_usage;
  }
  const std::string root = quail::resolve_root(nullptr);
  if (mode == "-d") return run_resident(root, uid, groups);
  if (mode == "spf") return check_one(root, argv);
  return serve_session(root, mode);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("mailauth", {exit_temporary, exit_temporary}, [&] { return run(argc, argv); });
}
