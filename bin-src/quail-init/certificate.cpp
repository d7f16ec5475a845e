// The self-signed certificate quail init makes so TLS works out of the box:
// an ECDSA P-256 key and a ten-year certificate for the host name, written to
// control/tls/ (man/tlsd.8, control/tls). An administrator replaces both files
// with a real chain; tlsd reads them per connection, so no restart is needed.
#include <cerrno>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <utility>

#include "durable.hpp"
#include "init.hpp"

namespace quail::init {
namespace {

constexpr long validity_days = 3650;

std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Error tls_error(const std::string& what) { return Error{ErrorKind::temporary, "unable to " + what + " for control/tls"}; }

}  // namespace

Status write_self_signed(const std::string& root, const std::string& hostname) {
  std::string dir = root + "/control/tls";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "mkdir " + dir);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) return tls_error("generate a key");
  X509* cert = X509_new();
  BIO* kb = BIO_new(BIO_s_mem());
  BIO* cb = BIO_new(BIO_s_mem());
  bool ok = cert && kb && cb;
  if (ok) {
    unsigned char serial[16];
    ok = RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f;  // a positive serial number (RFC 5280 4.1.2.2)
    BIGNUM* bn = ok ? BN_bin2bn(serial, sizeof serial, nullptr) : nullptr;
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
  }
  if (ok) {
    X509_set_version(cert, X509_VERSION_3);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), validity_days * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()),
                                    -1, -1, 0) == 1 &&
         X509_set_issuer_name(cert, name) == 1;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:" + hostname},
                            std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_ext_key_usage, std::string("serverAuth")}}) {
    if (!ok) break;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
  }
  ok = ok && X509_sign(cert, key, EVP_sha256()) > 0 && PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
       PEM_write_bio_X509(cb, cert) == 1;
  std::string key_pem = ok ? bio_text(kb) : "", cert_pem = ok ? bio_text(cb) : "";
  BIO_free(kb);
  BIO_free(cb);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) return tls_error("make a certificate");
  // The key first and readable by its owner only (in a system install chown_system_layout
  // gives it to quail-smtpd, the user tlsd runs as).
  if (auto s = write_file_durable(dir + "/key.pem", key_pem, 0600); !s) return s;
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  return write_file_durable(dir + "/cert.pem", cert_pem, 0644);
}

}  // namespace quail::init
