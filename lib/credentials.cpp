// The checkpassword input format: see credentials.hpp.
#include "credentials.hpp"

namespace quail {

std::optional<Credentials> parse_credentials(std::string_view input) {
  if (input.size() > max_credentials) return std::nullopt;
  std::string_view fields[3];
  for (auto& f : fields) {
    size_t nul = input.find('\0');
    if (nul == std::string_view::npos) return std::nullopt;
    f = input.substr(0, nul);
    input.remove_prefix(nul + 1);
  }
  if (fields[0].empty()) return std::nullopt;
  return Credentials{std::string(fields[0]), Secret(std::string(fields[1])), std::string(fields[2])};
}

std::optional<Secret> encode_credentials(std::string_view user, std::string_view password) {
  if (user.find('\0') != std::string_view::npos || password.find('\0') != std::string_view::npos) return std::nullopt;
  if (user.size() + password.size() + 3 > max_credentials) return std::nullopt;
  std::string s;
  s.reserve(user.size() + password.size() + 3);
  s.append(user).push_back('\0');
  s.append(password).push_back('\0');
  s.push_back('\0');
  return Secret(std::move(s));
}

}  // namespace quail
