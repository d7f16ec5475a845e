// Connecting to a resident helper's Unix socket (queue-inject -d, mailauth -d,
// tlsd -d) the way every caller must: never waiting. Nothing listening, a full
// backlog or a socket we may not use all mean "no resident helper", and the
// caller execs its own at once instead of stalling its session. And the
// helper's side: the socket bound with no moment of a wider mode.
#pragma once
#include <string>

#include "fd.hpp"
#include "result.hpp"

struct sockaddr_un;

namespace quail {

// false when path does not fit a sockaddr_un.
bool unix_address(const std::string& path, sockaddr_un& out);
// A connected, blocking socket (close-on-exec), or an invalid Fd.
Fd connect_unix_now(const std::string& path);
// A stream socket bound at path (what was there is removed first), mode 0600
// from its creation: the caller gives it to whom it serves, then listens.
Result<Fd> bind_unix_private(const std::string& path);

}  // namespace quail
