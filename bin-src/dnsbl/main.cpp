// dnsbl: the client checked against DNS allowlists and blocklists (RFC 5782;
// man/dnsbl.8). `dnsbl PROGRAM [ARG...]` stands between tcpserver and smtpd, in
// rblsmtpd's place: it looks the client up in control/dnswl and control/dnsbl,
// then execs the rest of its command line with the verdict in the environment
// (DNSWL, RBLSMTPD), or refuses the connection itself. `dnsbl -d` is the
// resident helper quail up starts: smtpd, forked per connection, asks it
// instead. Fails open: no answer in time, no refusal. Trusts TCPREMOTEIP
// (tcpserver's) and the administrator's control files.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "decide.hpp"
#include "dnsbl_refuse.hpp"
#include "log.hpp"
#include "process_ids.hpp"
#include "program.hpp"
#include "resident.hpp"
#include "root.hpp"

namespace {

constexpr int exit_temporary = 111;  // usage, the program cannot be run; the resident helper's trouble

// Runs the rest of the command line in our place; only returns on failure.
int exec_next(char** prog) {
  ::execv(prog[0], prog);
  quail::log_error({{"event", "exec"}, {"reason", quail::sys_error(quail::ErrorKind::temporary, "run " + std::string(prog[0])).reason}});
  return exit_temporary;
}

int wrap(char** prog) {
  const char* ip = ::getenv("TCPREMOTEIP");
  // RBLSMTPD already set (a tcprules exemption with "", or a text of its own):
  // rblsmtpd's convention, smtpd acts on it. RELAYCLIENT: our own clients.
  if (!ip || ::getenv("RBLSMTPD") || ::getenv("RELAYCLIENT")) return exec_next(prog);
  auto d = quail::dnsbl::decide(quail::resolve_root(nullptr), ip);
  switch (d.verdict.action) {
    case quail::DnsblAction::pass: break;
    case quail::DnsblAction::allow: ::setenv("DNSWL", d.verdict.text.c_str(), 1); break;
    // "-": permanent, as rblsmtpd reads it.
    case quail::DnsblAction::block: ::setenv("RBLSMTPD", ("-" + d.verdict.text).c_str(), 1); break;
    case quail::DnsblAction::refuse: quail::refuse_dnsbl_session(d.me, d.verdict.text); return 0;
  }
  return exec_next(prog);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("dnsbl", {exit_temporary, exit_temporary}, [&] {
    if (argc >= 2 && std::strcmp(argv[1], "-d") == 0) {
      std::optional<uid_t> uid;
      std::vector<gid_t> groups;
      if (!quail::parse_id_flags(argc, argv, 2, uid, groups)) {
        std::fprintf(stderr, "usage: dnsbl -d [-u uid] [-g gid[,gid...]]\n");
        return exit_temporary;
      }
      return quail::dnsbl::run_resident(quail::resolve_root(nullptr), uid, groups);
    }
    if (argc < 2) {
      quail::log_error({{"event", "usage"}, {"reason", "usage: dnsbl program [arg...] | dnsbl -d [-u uid] [-g gid[,gid...]]"}});
      return exit_temporary;
    }
    return wrap(argv + 1);
  });
}
