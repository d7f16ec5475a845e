// SRS at our domains: the key (control/srs/key, 32 random bytes from quail init)
// and what it says about a recipient at one of our domains. smtpd refuses a
// forged or expired SRS0 recipient at RCPT with this check and local-deliver
// returns a good one to its original sender with it: one lookup, as for users.
// Policy and key handling: man/mailauth.8, "Forwarding (SRS)".
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "address.hpp"
#include "list_cookie.hpp"
#include "local_lookup.hpp"
#include "result.hpp"
#include "srs.hpp"

namespace quail {

// ROOT/control/srs/key.
std::string srs_key_path(const std::string& root);

// The key, or null when the file does not exist (SRS is off). A file that is not
// 32 bytes is a config error naming it; an unreadable one a temporary error.
Result<std::shared_ptr<const ListSecret>> load_srs_key(const std::string& root);

// Writes a fresh random key (mode 0600, durably), creating control/srs/ (0755);
// an existing key is kept. For quail init.
Status create_srs_key(const std::string& root);

// What an address means as an SRS0 address at one of our domains: not_srs when
// no key is loaded, its domain is not local (control/locals, virtualdomains) or
// its local part does not start with SRS0=; else srs_reverse's verdict, with
// *original the original sender when good.
SrsCheck srs_recipient(const ListSecret* key, const LocalConfig& cfg, const Address& a, int64_t now,
                       std::string* original);

}  // namespace quail
