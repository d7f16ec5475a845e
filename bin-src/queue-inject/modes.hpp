// queue-inject's two protocols (man/queue-inject.8): classic, one message per
// process as qmail-queue; session (-s), many framed messages with one answer line each.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "control.hpp"
#include "inject_local.hpp"

namespace quail::queue_inject {

// Returns the qmail-queue exit code of the one message. databytes: control/databytes.
int run_classic(const std::string& root, uint64_t databytes);
// Returns 0 when the caller ended the session between messages, else the code
// of the message that could not be read. control: where each message reads the
// free-space floor (by path for an exec'd session, which may last a day; the
// resident injector's child reads control/ once, as smtpd does for its session).
int run_session(const std::string& root, uint64_t databytes, const Control& control);

// -d: the resident injector of a system install (resident.cpp); returns when stopped.
int run_resident(const std::string& root);

// queue-inject's session inside the caller's process (lib/inject_local.hpp): smtpd's
// factory for set_local_injector.
std::unique_ptr<LocalInjector> local_injector(const std::string& root, const Control& control);

}  // namespace quail::queue_inject
