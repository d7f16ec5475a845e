// SASL PLAIN (RFC 4616) as POP3 (RFC 5034) and SMTP (RFC 4954) carry it: base64
// of "authzid\0authcid\0passwd". Trusts nothing (tests/fuzz/pop3_command_fuzz).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "password.hpp"

namespace quail {

struct PlainLogin {
  std::string user;  // authcid
  Secret password;
};

// Decodes a client's response; nullopt when it is not base64, not three fields,
// has an empty authcid or password, or asks to act as another user (an authzid
// that is neither empty nor the authcid: quail has no proxy logins).
std::optional<PlainLogin> decode_sasl_plain(std::string_view base64);

}  // namespace quail
