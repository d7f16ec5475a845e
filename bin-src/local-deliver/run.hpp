// One local delivery, whole: what local-deliver's main does for its arguments,
// as a function, so local-spawn can run it in a forked child without an exec.
// Contract: man/local-deliver.8 (fd 0 the queue file at the message, the reason
// on fd 1, the log line on fd 2, exit codes of outcome.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "local_lookup.hpp"

namespace quail::ld {

struct DeliveryRequest {
  std::string dlv;        // the delivery id, for the log
  uint64_t length = 0;    // bytes of message on fd 0, from its current offset
  std::string sender;     // "" for a bounce
  std::string recipient;  // local@domain
};

// Delivers the message on fd 0 to req.recipient, writes the one-line reason on
// fd 1 and the log line on fd 2, and returns 0, 100 or 111 (never throws for
// delivery trouble). cfg, when given, is control/ as read by the caller for this
// delivery; otherwise the control files under $QUAIL_ROOT are read here.
int run_delivery(const DeliveryRequest& req, const LocalConfig* cfg = nullptr);

// Reports a temporary failure found before any delivery (bad arguments, no
// delivery user): the reason with its code on fd 1, the log line on fd 2; returns 111.
int report_temporary(std::string_view dlv, std::string_view recipient, const std::string& why,
                     const char* code = "4.3.5");

}  // namespace quail::ld
