// SASL PLAIN: see sasl_plain.hpp.
#include "sasl_plain.hpp"

#include <sodium.h>

namespace quail {

std::optional<PlainLogin> decode_sasl_plain(std::string_view base64) {
  // 255 octets each for authzid, authcid and passwd (RFC 4616 2), in base64.
  if (base64.empty() || base64.size() > 1024) return std::nullopt;
  std::string bin(base64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), base64.data(), base64.size(),
                        nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    Secret wipe(std::move(bin));
    return std::nullopt;
  }
  bin.resize(len);
  Secret all(std::move(bin));
  std::string_view v = all.view();
  size_t a = v.find('\0');
  size_t b = a == std::string_view::npos ? a : v.find('\0', a + 1);
  if (b == std::string_view::npos || v.find('\0', b + 1) != std::string_view::npos) return std::nullopt;
  std::string_view authz = v.substr(0, a), authc = v.substr(a + 1, b - a - 1), pass = v.substr(b + 1);
  if (authc.empty() || pass.empty() || (!authz.empty() && authz != authc)) return std::nullopt;
  return PlainLogin{std::string(authc), Secret(std::string(pass))};
}

}  // namespace quail
