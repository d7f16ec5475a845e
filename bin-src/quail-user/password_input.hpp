// Reading a new password for `quail user add|passwd`: one line on stdin, or a
// prompt without echo (asked twice) when stdin is a terminal. Never logged.
#pragma once
#include "password.hpp"
#include "result.hpp"

namespace quail {

// The password; permanent error when empty, unacceptable or the two entries differ.
Result<Secret> read_new_password();

}  // namespace quail
