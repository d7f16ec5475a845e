// Who a login is and whether its password is right: virtual users from
// users/users.cdb (argon2id), system logins from /etc/passwd + /etc/shadow
// (crypt(3)). Every check takes about the time of one hash check whatever fails,
// so the answer's timing does not tell an unknown name from a wrong password.
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>

#include "credentials.hpp"
#include "identity.hpp"
#include "result.hpp"

namespace quail::checkpassword {

// Only logins at or above this uid may log in (Debian's UID_MIN): never root,
// never a system account.
inline constexpr uid_t min_login_uid = 1000;

struct Login {
  std::string user;     // USER: the virtual user's lowercased address, or the login name
  std::string home;     // HOME
  std::string maildir;  // MAILDIR: HOME/Maildir/
  std::optional<Identity> become;  // the uid to run as when we are root; nullopt = stay
};

struct Verdict {
  std::optional<Login> login;  // set when the password is right
  std::string refusal;         // why not, for the log ("unknown user", "wrong password", ...)
};

// Checks c against the tables of root; system logins only when system is true.
// A temporary error when a table cannot be read (never a refusal for our trouble).
Result<Verdict> check_login(const std::string& root, bool system, const Credentials& c);

}  // namespace quail::checkpassword
