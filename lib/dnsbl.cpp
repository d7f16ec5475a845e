// DNS list lines and query names: see dnsbl.hpp.
#include "dnsbl.hpp"

#include <arpa/inet.h>

#include "address.hpp"
#include "control.hpp"

namespace quail {

Result<DnsList> parse_dns_list(std::string_view line) {
  DnsList l;
  size_t eq = line.find('=');
  std::string_view zone = line.substr(0, eq);
  if (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
  if (!valid_domain(zone)) return Error{ErrorKind::format, "not a DNS zone: " + std::string(zone.substr(0, 255))};
  l.zone = lowercase(zone);
  if (eq != std::string_view::npos) {
    std::string answer(line.substr(eq + 1));
    unsigned char buf[4];
    if (answer.size() > 15 || ::inet_pton(AF_INET, answer.c_str(), buf) != 1) {
      return Error{ErrorKind::format, "not an IPv4 answer: " + answer.substr(0, 64)};
    }
    l.answer = answer;
  }
  return l;
}

std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view zone) {
  std::string s(ip);
  unsigned char a[16];
  std::string out;
  if (::inet_pton(AF_INET, s.c_str(), a) == 1) {
    for (int i = 3; i >= 0; --i) out += std::to_string(a[i]) + ".";
  } else if (::inet_pton(AF_INET6, s.c_str(), a) == 1) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out += hex[a[i] & 0xf];
      out += '.';
      out += hex[a[i] >> 4];
      out += '.';
    }
  } else {
    return std::nullopt;
  }
  return out + std::string(zone);
}

bool dnsbl_answer_lists(const DnsList& l, std::string_view address) {
  if (!l.answer.empty()) return address == l.answer;
  return address.substr(0, 4) == "127.";
}

Result<bool> dns_lists_configured(const std::string& root) {
  Control control(root);
  auto dnsbl = control.list("dnsbl"), dnswl = control.list("dnswl");
  if (!dnsbl || !dnswl) return dnsbl ? dnswl.error() : dnsbl.error();
  return !dnsbl->empty() || !dnswl->empty();
}

}  // namespace quail
