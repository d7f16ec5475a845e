// libFuzzer harness for list-httpd's request parsing (lib/http_request) and the
// one-click URL reading (lib/list_oneclick): a stranger's bytes as a request head,
// a request-target, a form body. Beyond "no crash", checks what an accepted
// request must hold.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http_request.hpp"
#include "list_cookie.hpp"
#include "list_oneclick.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = quail::http;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t end = http::head_end(in);
  auto p = http::parse_head(end == std::string_view::npos ? in : in.substr(0, end));
  if (p.status == 0) {
    // An accepted head is within every bound, and holds no byte that could split it.
    const auto& r = p.request;
    require(!r.method.empty() && r.method.size() <= 16 && r.target.size() <= http::max_target);
    require(r.fields.size() <= http::max_fields && r.content_length <= http::max_body);
    require(r.minor == 0 || r.minor == 1);
    for (const auto& [name, value] : r.fields) {
      require(!name.empty() && value.find_first_of("\r\n") == std::string::npos);
    }
    if (r.minor == 1) require(r.field("host").has_value());
    require(!r.field("transfer-encoding"));
  } else {
    require(p.status >= 400 && p.status < 600);
  }
  // The whole input as a target, then as a body of each form type.
  if (auto path = http::target_path(in)) {
    for (unsigned char c : *path) require(c >= 0x20 && c != 0x7f);
    require(http::target_path("/" + http::encode_segment(*path)).value() == "/" + *path);
    if (auto t = quail::list::one_click_target(http::last_segment(*path))) {
      auto cmd = quail::parse_list_command(t->address.substr(t->list.rfind('@') + 1, t->address.rfind('@') - t->list.rfind('@') - 1));
      require(cmd.kind == quail::ListCommandKind::one_click && cmd.address == t->subscriber);
    }
  }
  (void)http::one_click_body("application/x-www-form-urlencoded", in);
  (void)http::one_click_body("multipart/form-data; boundary=b", in);
  size_t nl = in.find('\n');
  if (nl != std::string_view::npos) (void)http::one_click_body(in.substr(0, nl), in.substr(nl + 1));
  return 0;
}
