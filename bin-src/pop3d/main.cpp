// pop3d: one POP3 session (RFC 1939, RFC 2449 CAPA, RFC 5034 SASL PLAIN) on fd 0/1,
// started by tcpserver. Like qmail-popup and qmail-pop3d, in two steps of one
// program: `pop3d` reads the login and runs checkpassword with it on fd 3;
// checkpassword, as the user, runs `pop3d transaction SID`, which serves the
// user's Maildir on the same connection. `pop3d tls` starts TLS first (port
// 995) through tlsd, as STLS does. See man/pop3d.8. Trusts nothing the
// client sends; the transaction step trusts the environment checkpassword set.
#include <cstring>

#include "pop3d.hpp"
#include "program.hpp"
#include "root.hpp"
#include "session_id.hpp"

int main(int argc, char** argv) {
  using namespace quail::pop3d;
  return quail::run_main("pop3d", {exit_temporary, exit_temporary}, [&] {
    const std::string root = quail::resolve_root(nullptr);
    // pop3d transaction SID [START]: START, when the session began (see guard.cpp).
    if ((argc == 3 || argc == 4) && std::strcmp(argv[1], "transaction") == 0) {
      return serve_maildrop(root, argv[2], argc == 4 ? argv[3] : nullptr);
    }
    // pop3d tls: implicit TLS (995, RFC 8314), started here before the greeting.
    if (argc == 2 && std::strcmp(argv[1], "tls") == 0) return authorize(root, quail::new_session_id(), true);
    return authorize(root, quail::new_session_id());
  });
}
