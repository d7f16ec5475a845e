// DKIM keys: see dkim_key.hpp.
#include "dkim_key.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <memory>

#include "sasl.hpp"

namespace quail::dkim {
namespace {

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Ctx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

bool is_rsa(EVP_PKEY* k) { return k && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA; }

// PKCS#1 v1.5 with SHA-256 over an already computed hash (RFC 6376 3.3.1).
Ctx rsa_ctx(EVP_PKEY* k, bool signing) {
  Ctx c(EVP_PKEY_CTX_new(k, nullptr));
  if (!c) return nullptr;
  if ((signing ? EVP_PKEY_sign_init(c.get()) : EVP_PKEY_verify_init(c.get())) <= 0) return nullptr;
  if (EVP_PKEY_CTX_set_rsa_padding(c.get(), RSA_PKCS1_PADDING) <= 0) return nullptr;
  if (EVP_PKEY_CTX_set_signature_md(c.get(), EVP_sha256()) <= 0) return nullptr;
  return c;
}

// The public key of a record: SubjectPublicKeyInfo DER, or a bare PKCS#1 RSAPublicKey.
Pkey rsa_public(std::string_view der) {
  const unsigned char* p = bytes(der);
  Pkey k(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (k && p == bytes(der) + der.size()) return k;
  p = bytes(der);
  k.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  if (k && p == bytes(der) + der.size()) return k;
  return nullptr;
}

}  // namespace

PrivateKey::PrivateKey(PrivateKey&& o) noexcept : alg_(o.alg_), sk_(std::move(o.sk_)), rsa_(o.rsa_) {
  o.rsa_ = nullptr;
  sodium_memzero(o.sk_.data(), o.sk_.size());
}

PrivateKey::~PrivateKey() {
  sodium_memzero(sk_.data(), sk_.size());
  EVP_PKEY_free(rsa_);
}

Result<PrivateKey> PrivateKey::parse(std::string_view text) {
  PrivateKey k;
  if (text.find("-----BEGIN") != std::string_view::npos) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    k.rsa_ = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!is_rsa(k.rsa_)) return Error{ErrorKind::format, "not an RSA private key in PEM"};
    if (k.bits() < rsa_sign_min_bits) return Error{ErrorKind::format, "the RSA key has fewer than 2048 bits"};
    k.alg_ = Algorithm::rsa_sha256;
    return k;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  auto seed = base64_decode(text);
  if (!seed || seed->str().size() != crypto_sign_SEEDBYTES) return Error{ErrorKind::format, "not a base64 Ed25519 seed"};
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  k.sk_.assign(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_seed_keypair(pk, reinterpret_cast<unsigned char*>(k.sk_.data()), bytes(seed->str()));
  return k;
}

Result<PrivateKey> PrivateKey::generate(Algorithm a, int rsa_bits) {
  PrivateKey k;
  k.alg_ = a;
  if (a == Algorithm::ed25519_sha256) {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    k.sk_.assign(crypto_sign_SECRETKEYBYTES, '\0');
    crypto_sign_keypair(pk, reinterpret_cast<unsigned char*>(k.sk_.data()));
    return k;
  }
  if (rsa_bits < rsa_sign_min_bits || rsa_bits > 8192) return Error{ErrorKind::permanent, "RSA keys have 2048 to 8192 bits"};
  k.rsa_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
  if (!k.rsa_) return Error{ErrorKind::temporary, "unable to generate an RSA key"};
  return k;
}

std::string PrivateKey::algorithm_name() const { return alg_ == Algorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256"; }

int PrivateKey::bits() const { return rsa_ ? EVP_PKEY_get_bits(rsa_) : 256; }

std::string PrivateKey::file_text() const {
  if (alg_ == Algorithm::ed25519_sha256) return base64_encode(std::string_view(sk_).substr(0, crypto_sign_SEEDBYTES)) + "\n";
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), rsa_, nullptr, nullptr, 0, nullptr, nullptr) != 1) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string PrivateKey::dns_record() const {
  if (alg_ == Algorithm::ed25519_sha256) {
    return "v=DKIM1; k=ed25519; p=" + base64_encode(std::string_view(sk_).substr(crypto_sign_SEEDBYTES));
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(rsa_, &der);
  if (n <= 0) return "";
  std::string rec = "v=DKIM1; k=rsa; p=" + base64_encode(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  return rec;
}

Result<std::string> PrivateKey::sign(std::string_view hash) const {
  if (alg_ == Algorithm::ed25519_sha256) {
    std::string sig(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr, bytes(hash), hash.size(), bytes(sk_));
    return sig;
  }
  Ctx c = rsa_ctx(rsa_, true);
  size_t n = 0;
  if (!c || EVP_PKEY_sign(c.get(), nullptr, &n, bytes(hash), hash.size()) <= 0) return Error{ErrorKind::temporary, "unable to sign with RSA"};
  std::string sig(n, '\0');
  if (EVP_PKEY_sign(c.get(), reinterpret_cast<unsigned char*>(sig.data()), &n, bytes(hash), hash.size()) <= 0) {
    return Error{ErrorKind::temporary, "unable to sign with RSA"};
  }
  sig.resize(n);
  return sig;
}

KeyCheck check_signature(const KeyRecord& key, Algorithm a, std::string_view hash, std::string_view sig, std::string& why) {
  if (key.key_type != a) {
    why = "the key's type k= does not match a=";
    return KeyCheck::unusable;
  }
  if (a == Algorithm::ed25519_sha256) {
    if (key.public_key.size() != crypto_sign_PUBLICKEYBYTES) {
      why = "the Ed25519 key is not 32 bytes";
      return KeyCheck::unusable;
    }
    if (sig.size() != crypto_sign_BYTES) {
      why = "the Ed25519 signature is not 64 bytes";
      return KeyCheck::mismatch;
    }
    if (crypto_sign_verify_detached(bytes(sig), bytes(hash), hash.size(), bytes(key.public_key)) == 0) return KeyCheck::good;
    why = "signature did not verify";
    return KeyCheck::mismatch;
  }
  Pkey k = rsa_public(key.public_key);
  if (!is_rsa(k.get())) {
    why = "the RSA key does not parse";
    return KeyCheck::unusable;
  }
  if (EVP_PKEY_get_bits(k.get()) < rsa_verify_min_bits) {
    why = "RSA key of " + std::to_string(EVP_PKEY_get_bits(k.get())) + " bits refused (RFC 8301)";
    return KeyCheck::weak;
  }
  Ctx c = rsa_ctx(k.get(), false);
  if (c && EVP_PKEY_verify(c.get(), bytes(sig), sig.size(), bytes(hash), hash.size()) == 1) return KeyCheck::good;
  why = "signature did not verify";
  return KeyCheck::mismatch;
}

}  // namespace quail::dkim
