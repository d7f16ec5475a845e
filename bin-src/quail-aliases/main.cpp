// quail-aliases: compile ROOT/control/aliases (/etc/aliases syntax) into
// ROOT/users/aliases.cdb atomically. See man/quail-aliases.8. A malformed line
// stops it with the file and line; the old table then stays as it was.
#include <getopt.h>
#include <string>
#include <utility>
#include <vector>

#include "aliases.hpp"
#include "cdb.hpp"
#include "fd.hpp"
#include "program.hpp"
#include "root.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_permanent = 100;  // usage, or a malformed aliases file
constexpr int exit_temporary = 111;  // I/O trouble

constexpr size_t max_aliases_file = 16 << 20;

int fail(int code, const std::string& reason) {
  quail::write_all(2, "quail-aliases: " + reason + "\n");
  return code;
}

int compile(const std::string& root) {
  // XXX control/aliases is not in the control registry (its syntax is not one
  // value per line); it is read here by name until the registry has a kind for it.
  const std::string source = root + "/control/aliases";
  const std::string table = root + "/users/aliases.cdb";
  std::string text;
  if (auto t = quail::read_file(source, max_aliases_file); t) {
    text = std::move(*t);
  } else if (t.error().kind != quail::ErrorKind::not_found) {
    return fail(exit_temporary, t.error().reason);
  }
  // A missing file means no aliases: the table is still built, empty.
  auto aliases = quail::parse_aliases(text, source);
  if (!aliases) return fail(exit_permanent, aliases.error().reason);
  std::vector<std::pair<std::string, std::string>> records;
  records.reserve(aliases->size());
  for (const auto& a : *aliases) records.emplace_back(a.name, quail::encode_alias_value(a.items));
  if (auto s = quail::build_cdb(table, records); !s) return fail(exit_temporary, s.error().reason);
  quail::write_all(1, "quail-aliases: " + std::to_string(records.size()) + " aliases in " + table + "\n");
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-aliases", {exit_temporary, exit_temporary}, [&] {
    static const struct option longopts[] = {{"root", required_argument, nullptr, 'r'},
                                             {"help", no_argument, nullptr, 'h'}, {nullptr, 0, nullptr, 0}};
    const char* root_flag = nullptr;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
      if (c == 'h') {
        return quail::write_all(1, "usage: quail aliases [--root DIR]   compile control/aliases into users/aliases.cdb\n")
                   ? 0
                   : exit_temporary;
      }
      if (c != 'r') return fail(exit_permanent, "usage: quail-aliases [--root DIR]");
      root_flag = optarg;
    }
    if (optind != argc) return fail(exit_permanent, "usage: quail-aliases [--root DIR]");
    return compile(quail::resolve_root(root_flag));
  });
}
