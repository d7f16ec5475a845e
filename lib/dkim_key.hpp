// DKIM keys: Ed25519 (RFC 8463, libsodium; the file holds the base64 32-byte
// seed, as dkimpy's dknewkey writes it) and RSA (OpenSSL; a PEM private key),
// their DNS records, signing a header hash and checking a signature against a
// published key (RFC 8301: rsa keys under 1024 bits refused). A program using
// this file links OpenSSL's libcrypto.
#pragma once
#include <string>
#include <string_view>

#include "dkim_tags.hpp"
#include "result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace quail::dkim {

// Smallest RSA key we generate or sign with, and smallest we accept from others.
inline constexpr int rsa_sign_min_bits = 2048;
inline constexpr int rsa_verify_min_bits = 1024;

class PrivateKey {
 public:
  // A key file's text. format error when it is neither a base64 seed nor an RSA PEM
  // key of at least rsa_sign_min_bits.
  static Result<PrivateKey> parse(std::string_view text);
  static Result<PrivateKey> generate(Algorithm a, int rsa_bits);
  PrivateKey(PrivateKey&& o) noexcept;
  PrivateKey& operator=(PrivateKey&&) = delete;
  ~PrivateKey();

  Algorithm algorithm() const { return alg_; }
  std::string algorithm_name() const;  // "ed25519-sha256", "rsa-sha256"
  int bits() const;
  std::string file_text() const;       // what parse() reads back
  std::string dns_record() const;      // "v=DKIM1; k=ed25519; p=..."
  // The signature of a SHA-256 hash; temporary error when OpenSSL fails.
  Result<std::string> sign(std::string_view hash) const;

 private:
  PrivateKey() = default;
  Algorithm alg_ = Algorithm::ed25519_sha256;
  std::string sk_;           // Ed25519: libsodium's 64-byte secret key (seed + public)
  EVP_PKEY* rsa_ = nullptr;  // RSA
};

enum class KeyCheck {
  good,       // the signature verifies
  mismatch,   // it does not
  unusable,   // the key is malformed or of the wrong type: permerror
  weak,       // an RSA key under rsa_verify_min_bits: policy (RFC 8301)
};
// Checks sig over hash with the record's key; why says what went wrong.
KeyCheck check_signature(const KeyRecord& key, Algorithm a, std::string_view hash, std::string_view sig, std::string& why);

}  // namespace quail::dkim
