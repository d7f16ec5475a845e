// libFuzzer harness for lib/passwd_file: a lookup finds exactly the first
// well-formed line for a name or uid; a malformed line never answers one; every
// entry reads back from its own text unchanged; a file's first lookup (a scan)
// and its later ones (its index) agree.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "passwd_file.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

std::string line_of(const quail::PasswdEntry& e) {
  return e.name + ":x:" + std::to_string(e.uid) + ":" + std::to_string(e.gid) + ":" + e.gecos + ":" + e.dir + ":" +
         e.shell;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  quail::PasswdFile file(text);
  auto entries = file.entries();
  for (const auto& e : entries) {
    require(!e.name.empty() && e.uid != static_cast<uid_t>(-1) && e.gid != static_cast<gid_t>(-1));
    require(e.dir.empty() || e.dir[0] == '/');
    for (const std::string* s : {&e.name, &e.gecos, &e.dir, &e.shell}) {
      require(std::none_of(s->begin(), s->end(), [](char c) { return c == ':' || static_cast<unsigned char>(c) < 0x20; }));
    }
    quail::PasswdEntry again;
    require(quail::parse_passwd_line(line_of(e), &again) == quail::PasswdLine::entry && again == e);
    auto first_name = std::find_if(entries.begin(), entries.end(), [&](const auto& x) { return x.name == e.name; });
    auto first_uid = std::find_if(entries.begin(), entries.end(), [&](const auto& x) { return x.uid == e.uid; });
    require(file.by_name(e.name) == *first_name);
    require(file.by_uid(e.uid) == *first_uid);
    require(quail::PasswdFile(text).by_uid(e.uid) == *first_uid);  // a fresh file scans
    require(quail::PasswdFile(text).by_name(e.name) == *first_name);
  }
  // Whatever a line seems to name, a lookup answers only with a real entry.
  size_t lines = 0, malformed = 0, ok = 0;
  std::string_view rest(text);
  while (!rest.empty()) {
    size_t lf = rest.find('\n');
    std::string_view line = rest.substr(0, lf);
    rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
    ++lines;
    auto kind = quail::parse_passwd_line(line, nullptr);
    malformed += kind == quail::PasswdLine::malformed;
    ok += kind == quail::PasswdLine::entry;
    std::string_view name = line.substr(0, line.find(':'));
    if (auto found = file.by_name(name)) {
      require(found->name == name && std::find(entries.begin(), entries.end(), *found) != entries.end());
    }
  }
  require(ok == entries.size() && malformed == file.malformed_lines().size());
  return 0;
}
