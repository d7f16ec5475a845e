// remote-deliver: deliver one message to all its recipients at one domain over
// SMTP, and report each recipient's outcome on fd 1 in qmail-remote's format. See
// man/remote-deliver.8. Trusts queue-send for its arguments and fd 0; trusts no
// peer and no DNS answer.
#include <string>

#include "delivery.hpp"
#include "program.hpp"

int main(int argc, char** argv) {
  using namespace quail::rd;
  return quail::run_main("remote-deliver", {exit_temporary, exit_temporary}, [&] {
    if (argc < 4) return usage();
    auto req = quail::rd::read_request(argc, argv);                   // the message and its DSN records
    if (!req) return report_all_deferred(argc - 3, req.error().reason + " (#4.3.0)");
    Delivery d(std::move(*req));
    if (!d.load_settings()) return d.report();                        // control files: a bad one defers
    if (!d.check_loops()) return d.report();                          // local domain, Received count
    if (!d.route()) return d.report();                                // smtproutes, MX, null MX
    d.try_hosts();                                                    // each host, each address, in order
    return d.report();                                                // r/h/s per recipient, then K/Z/D
  });
}
