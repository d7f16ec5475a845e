// libFuzzer harness for lib/credentials (checkpassword's fd 3 input): a parse
// never reads past the input and gives fields without NULs; what it gives
// encodes back to an input that parses the same.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "credentials.hpp"

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = quail::parse_credentials(in);
  if (!c) return 0;
  require(size <= quail::max_credentials && !c->user.empty());
  for (std::string_view f : {std::string_view(c->user), std::string_view(c->password.view()),
                             std::string_view(c->timestamp)}) {
    require(f.find('\0') == std::string_view::npos);
  }
  require(in.substr(0, c->user.size()) == c->user);
  auto again = quail::encode_credentials(c->user, c->password.view());
  require(again.has_value());
  auto back = quail::parse_credentials(again->view());
  require(back && back->user == c->user && back->password.view() == c->password.view());
  return 0;
}
