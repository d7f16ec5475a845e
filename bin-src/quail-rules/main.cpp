// quail-rules: compile ROOT/control/rules.<service> (tcprules syntax) into
// ROOT/control/rules.<service>.cdb atomically, for tcpserver -x. See man/quail-rules.8.
// A malformed line stops it with file:line; the old cdb then stays as it was.
#include <algorithm>
#include <dirent.h>
#include <getopt.h>
#include <string>
#include <vector>

#include "cdb.hpp"
#include "fd.hpp"
#include "program.hpp"
#include "service_cli.hpp"
#include "tcprules.hpp"

namespace {

namespace admin = quail::admin;

constexpr size_t max_rules_file = 16 << 20;
constexpr std::string_view usage_text = "usage: quail rules [--root DIR] <service> | --all";

// A service name is one file-name word: no '/', and no '.', so rules.smtp.cdb
// and rules.smtp.tmp are never taken for sources.
bool valid_service(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

int fail(int code, const std::string& reason) {
  admin::say("rules", reason);
  return code;
}

int compile(const std::string& control, const std::string& service) {
  const std::string source = control + "/rules." + service;
  const std::string table = source + ".cdb";
  auto text = quail::read_file(source, max_rules_file);
  if (!text) return fail(admin::exit_code(text.error().kind), text.error().reason);
  auto records = quail::compile_rules(*text, source);
  if (!records) return fail(admin::usage, records.error().reason);
  if (auto s = quail::build_cdb(table, *records); !s) return fail(admin::temporary, s.error().reason);
  quail::write_all(1, "quail rules: " + std::to_string(records->size()) + " keys in " + table + "\n");
  return admin::ok;
}

// Every control/rules.<service>; the others are still compiled when one fails.
int compile_all(const std::string& control) {
  DIR* d = ::opendir(control.c_str());
  if (!d) return fail(admin::temporary, quail::sys_error(quail::ErrorKind::temporary, "open " + control).reason);
  std::vector<std::string> services;
  while (const dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.starts_with("rules.") && valid_service(name.substr(6))) services.emplace_back(name.substr(6));
  }
  ::closedir(d);
  std::sort(services.begin(), services.end());
  if (services.empty()) quail::write_all(1, "quail rules: no rules files in " + control + "\n");
  int worst = admin::ok;
  for (const auto& s : services) {
    int code = compile(control, s);
    worst = std::max(worst, code);  // 111 over 100 over 0
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-rules", {admin::temporary, admin::temporary}, [&] {
    static const option longopts[] = {{"root", required_argument, nullptr, 'r'},
                                      {"all", no_argument, nullptr, 'a'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    const char* root_flag = nullptr;
    bool all = false;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
      if (c == 'r') root_flag = optarg;
      else if (c == 'a') all = true;
      else if (c == 'h') return quail::write_all(1, std::string(usage_text) + "\n"), admin::ok;
      else return fail(admin::usage, std::string(usage_text));
    }
    const std::string control = admin::absolute_root(root_flag) + "/control";
    if (all && optind == argc) return compile_all(control);
    if (all || argc - optind != 1) return fail(admin::usage, std::string(usage_text));
    std::string service = argv[optind];
    if (!valid_service(service)) return fail(admin::usage, "bad service name \"" + service + "\" (letters, digits, - and _)");
    return compile(control, service);
  });
}
