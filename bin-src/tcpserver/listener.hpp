// The listening socket: bound from a host and port literal, or inherited from
// systemd-style socket activation (LISTEN_FDS=1, LISTEN_PID=our pid, fd 3).
// See man/tcpserver.8 ("LISTENING"). No name is ever resolved through DNS.
#pragma once
#include <cstdint>
#include <string>

#include "fd.hpp"
#include "options.hpp"
#include "result.hpp"
#include "tcprules.hpp"

namespace quail::tcpserver {

struct Listener {
  Fd fd;               // non-blocking, close-on-exec, listening
  IpAddress local;     // the bound address (:: or 0.0.0.0 for "any")
  uint16_t port = 0;   // the bound port (the kernel's choice when 0 was asked)
  bool inherited = false;
};

// Opens the listener the options ask for; permanent error for a bad host, port
// or inherited socket, temporary when the kernel refuses (address in use...).
Result<Listener> open_listener(const Options& opt);

}  // namespace quail::tcpserver
