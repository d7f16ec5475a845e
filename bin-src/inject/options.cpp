// Argument checks shared by the inject, sendmail and mailq parsers: see submit.hpp.
#include <cstring>

#include "fd.hpp"
#include "log.hpp"
#include "submit.hpp"

namespace quail::submit {

namespace {
std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}
}  // namespace

Result<std::string> check_notify(std::string_view value) {
  // RFC 3461 4.1: NEVER alone, or a comma list of SUCCESS, FAILURE, DELAY.
  std::string v = upper(value);
  if (v == "NEVER") return v;
  size_t start = 0;
  for (;;) {
    size_t comma = v.find(',', start);
    std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY") {
      return Error{ErrorKind::permanent, "invalid -N value \"" + std::string(value) +
                                             "\": use never, or a list of success, failure, delay"};
    }
    if (comma == std::string::npos) return v;
    start = comma + 1;
  }
}

Result<std::string> check_ret(std::string_view value) {
  std::string v = upper(value);
  if (v == "FULL" || v == "HDRS") return v;
  return Error{ErrorKind::permanent, "invalid -R value \"" + std::string(value) + "\": use full or hdrs"};
}

int usage_error(std::string_view what, std::string_view usage) {
  log_error({{"event", "usage"}, {"reason", what}});
  write_all(2, "usage: " + std::string(usage) + "\n");
  return exit_permanent;
}

RootFlag root_flag(int argc, char** argv) {
  RootFlag r;
  if (argc < 2) return r;
  if (std::strcmp(argv[1], "--root") == 0) {
    r.taken = 2;
    if (argc < 3 || !*argv[2]) {
      r.missing = true;
      r.taken = 1;
    } else {
      r.root = argv[2];
    }
  } else if (std::strncmp(argv[1], "--root=", 7) == 0) {
    r.taken = 1;
    r.root = argv[1] + 7;
    r.missing = r.root.empty();
  }
  return r;
}

}  // namespace quail::submit
