// argon2id via libsodium: see password.hpp.
#include "password.hpp"

#include <sodium.h>

namespace quail {

void Secret::wipe() {
  if (!s_.empty()) sodium_memzero(s_.data(), s_.size());
  s_.clear();
}

Result<std::string> hash_password(const Secret& password) {
  if (sodium_init() < 0) return Error{ErrorKind::temporary, "unable to initialise libsodium"};
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.view().data(), password.view().size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error{ErrorKind::temporary, "unable to hash password: out of memory"};
  }
  return std::string(out);
}

bool verify_password(const std::string& hash, const Secret& password) {
  if (sodium_init() < 0) return false;
  if (hash.size() >= crypto_pwhash_STRBYTES || hash.rfind("$argon2id$", 0) != 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.view().data(), password.view().size()) == 0;
}

bool acceptable_password(std::string_view p) {
  if (p.empty() || p.size() > 1024) return false;
  for (char c : p) {
    if (c == '\0' || c == '\r' || c == '\n') return false;
  }
  return true;
}

}  // namespace quail
