// local-deliver: deliver one message to one local address, following .qmail,
// .forward and alias rules (qmail-local's). See man/local-deliver.8. Trusts
// queue-send for its arguments and fd 0; trusts users' files for nothing.
// The delivery itself is run.cpp, which local-spawn also runs in a forked child.
#include <string>

#include "decimal.hpp"
#include "outcome.hpp"
#include "program.hpp"
#include "run.hpp"

// local-deliver <dlv-id> <message-length> <sender> <recipient>
int main(int argc, char** argv) {
  using namespace quail::ld;
  return quail::run_main("local-deliver", {exit_temporary, exit_temporary}, [&] {
    if (argc != 5) {
      return report_temporary(argc > 1 ? argv[1] : "", "", "usage: local-deliver dlv-id message-length sender recipient");
    }
    DeliveryRequest req{argv[1], 0, argv[3], argv[4]};
    std::string_view len(argv[2]);
    // An off_t, as in a queue header: the message's end offset must not wrap.
    auto length = quail::parse_decimal(len, quail::decimal_int64_max);
    if (!length) return report_temporary(req.dlv, req.recipient, "message length is not a number: " + std::string(len));
    req.length = *length;
    return run_delivery(req);
  });
}
