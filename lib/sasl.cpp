// SASL PLAIN / LOGIN and strict base64: see sasl.hpp.
#include "sasl.hpp"

#include <cstring>

namespace quail {
namespace {

constexpr size_t max_field = 255;
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

SaslSecret& SaslSecret::operator=(SaslSecret&& o) noexcept {
  if (this != &o) {
    wipe();
    s_ = std::move(o.s_);
    o.wipe();
  }
  return *this;
}

void SaslSecret::wipe() {
  // The capacity too: a shorter value may have left older bytes behind it.
  if (s_.capacity()) explicit_bzero(s_.data(), s_.capacity());
  s_.clear();
}

std::optional<SaslSecret> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0 || in.size() / 4 * 3 > sasl_max_decoded + 2) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  // Wipes the partial output on every early return (and the short-string buffer
  // a move leaves behind).
  struct Wiper {
    std::string& s;
    ~Wiper() {
      if (s.capacity()) explicit_bzero(s.data(), s.capacity());
    }
  } wiper{out};
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      unsigned char c = static_cast<unsigned char>(in[i + static_cast<size_t>(j)]);
      if (c == '=') {
        // Padding only in the last quantum, only in its last one or two places.
        if (i + 4 != in.size() || j < 2) return std::nullopt;
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad || (v[j] = value_of(c)) < 0) return std::nullopt;
    }
    unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                 (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    // Canonical form: the bits padding leaves over must be zero (RFC 4648 3.5).
    if ((pad == 2 && (n & 0xffff)) || (pad == 1 && (n & 0xff))) return std::nullopt;
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  if (out.size() > sasl_max_decoded) return std::nullopt;
  return SaslSecret(std::move(out));
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? alphabet[n & 63] : '=';
  }
  return out;
}

bool valid_login_field(std::string_view s) {
  return !s.empty() && s.size() <= max_field && s.find('\0') == std::string_view::npos;
}

Result<SaslLogin> parse_sasl_plain(const SaslSecret& decoded) {
  std::string_view m = decoded.str();
  size_t a = m.find('\0');
  size_t b = a == std::string_view::npos ? a : m.find('\0', a + 1);
  if (b == std::string_view::npos) return Error{ErrorKind::format, "PLAIN needs authzid NUL user NUL password"};
  std::string_view authzid = m.substr(0, a), user = m.substr(a + 1, b - a - 1), pass = m.substr(b + 1);
  if (!valid_login_field(user) || !valid_login_field(pass) || authzid.size() > max_field) {
    return Error{ErrorKind::format, "PLAIN: empty, overlong or NUL-holding field"};
  }
  if (!authzid.empty() && authzid != user) return Error{ErrorKind::permanent, "PLAIN: authorization identity differs"};
  return SaslLogin{std::string(user), SaslSecret(std::string(pass))};
}

SaslSecret checkpassword_input(const SaslLogin& l, std::string_view timestamp) {
  std::string s;
  s.reserve(l.user.size() + l.password.str().size() + timestamp.size() + 3);
  s.append(l.user).push_back('\0');
  s.append(l.password.str()).push_back('\0');
  s.append(timestamp).push_back('\0');
  return SaslSecret(std::move(s));
}

}  // namespace quail
