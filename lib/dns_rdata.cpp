// DNS record data: see dns_rdata.hpp.
#include "dns_rdata.hpp"

#include <arpa/inet.h>

namespace quail {

std::optional<std::string> decode_dns_name(std::string_view data, size_t pos) {
  std::string out;
  for (int labels = 0; labels < 128; ++labels) {
    if (pos >= data.size()) return std::nullopt;
    size_t n = static_cast<unsigned char>(data[pos++]);
    if (n == 0) {
      if (pos != data.size()) return std::nullopt;
      return out;
    }
    if (n > 63 || pos + n > data.size()) return std::nullopt;  // compression pointers never occur here
    if (!out.empty()) out += '.';
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(data[pos + i]);
      if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) return std::nullopt;
      out += static_cast<char>(c);
    }
    pos += n;
  }
  return std::nullopt;
}

std::optional<std::string> checked_dns_name(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.size() > 253) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  size_t label = 0;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      out += '.';
      continue;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return std::nullopt;
    out += static_cast<char>(c);
  }
  if (!out.empty() && label == 0) return std::nullopt;
  return out;
}

std::optional<std::string> reverse_dns_name(const std::string& ip) {
  unsigned char b[16];
  std::string name;
  static const char hex[] = "0123456789abcdef";
  if (::inet_pton(AF_INET, ip.c_str(), b) == 1) {
    for (int i = 3; i >= 0; --i) name += std::to_string(b[i]) + ".";
    return name + "in-addr.arpa";
  }
  if (::inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    for (int i = 15; i >= 0; --i) {
      name += hex[b[i] & 0xf];
      name += '.';
      name += hex[b[i] >> 4];
      name += '.';
    }
    return name + "ip6.arpa";
  }
  return std::nullopt;
}

std::optional<MxRecord> parse_mx_rdata(std::string_view rdata) {
  if (rdata.size() < 3) return std::nullopt;
  auto host = decode_dns_name(rdata, 2);
  if (!host) return std::nullopt;
  MxRecord m;
  m.preference = static_cast<unsigned char>(rdata[0]) << 8 | static_cast<unsigned char>(rdata[1]);
  m.host = std::move(*host);
  return m;
}

std::optional<std::string> parse_address_rdata(std::string_view rdata) {
  if (rdata.size() != 4 && rdata.size() != 16) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(rdata.size() == 4 ? AF_INET : AF_INET6, rdata.data(), buf, sizeof buf)) return std::nullopt;
  return std::string(buf);
}

std::optional<std::string> parse_txt_rdata(std::string_view rdata) {
  std::string out;
  size_t pos = 0;
  while (pos < rdata.size()) {
    size_t n = static_cast<unsigned char>(rdata[pos++]);
    if (pos + n > rdata.size()) return std::nullopt;
    out.append(rdata.substr(pos, n));
    pos += n;
  }
  return out;
}

}  // namespace quail
