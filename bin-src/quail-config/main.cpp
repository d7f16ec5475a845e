// quail config check: the effective value of every control file and where it
// comes from (the file, or the default), then a warning for every file in
// control/ that quail does not read (a misspelt name is silently ignored
// otherwise: maxrcpts for maxrcpt). A malformed file is an error that names
// the file and line, and says which value the running services keep.
// Exit 0 clean, 1 with warnings, 100 with an error. See man/quail-config.8.
#include <string>
#include <sys/stat.h>

#include "control.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "program.hpp"
#include "service_tables.hpp"
#include "service_cli.hpp"

namespace {

namespace admin = quail::admin;

constexpr std::string_view usage_text = "usage: quail config check\n";

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " ") + v;
  return out.empty() ? "(empty)" : out;
}

// The value the services use now, as text: the file's, its default, or (for a
// malformed file) the last good one.
quail::Result<std::string> effective(const quail::Control& control, const quail::ControlSpec& spec) {
  std::string name(spec.name);
  switch (spec.kind) {
    case quail::ControlKind::line:
      return control.line(name);
    case quail::ControlKind::integer: {
      auto v = control.integer(name);
      if (!v) return v.error();
      return std::to_string(*v);
    }
    case quail::ControlKind::list:
    case quail::ControlKind::domains:
      break;
    case quail::ControlKind::directory:
      return std::string("(a directory: its programs read its files)");
  }
  auto v = control.list(name);
  if (!v) return v.error();
  return joined(*v);
}

int check(const std::string& root) {
  quail::log_set_fd(-1);  // the fallback's control_refused lines: said below in plain words
  quail::Control control(root);
  std::string out;
  int result = admin::ok;
  for (const auto& spec : quail::control_registry()) {
    std::string name(spec.name);
    struct stat st;
    std::string source = ::stat((control.dir() + "/" + name).c_str(), &st) == 0 ? "control/" + name : "default";
    auto valid = control.validate(name);
    auto value = effective(control, spec);
    if (!valid) {
      admin::say("config", "error: " + valid.error().reason);
      source = value ? "last good value, " + quail::control_snapshot_path(root) + "; control/" + name + " refused"
                     : "control/" + name + " refused, no last good value";
      result = admin::usage;
    }
    out += name + " = " + (value ? *value : "?") + "  (" + source + ")\n";
  }
  if (!quail::write_all(1, out)) return admin::temporary;
  for (const auto& name : quail::unknown_control_files(root)) {
    admin::say("config", "warning: control/" + name + " is not a file quail reads; it is ignored (misspelt? see quail-control(5))");
    if (result == admin::ok) result = admin::no;
  }
  return result;
}

int run(int argc, char** argv) {
  if (admin::asks_help(argc, argv)) return admin::help(usage_text);
  // `quail config check [--root DIR]`: the subcommand first, then what root_only_arguments takes.
  int sub = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "check") sub = i;
  }
  if (sub == 0) {
    admin::say("config", "usage error");
    (void)quail::write_all(2, usage_text);
    return admin::usage;
  }
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (i != sub) rest.push_back(argv[i]);
  }
  rest.push_back(nullptr);
  std::string root;
  int code = admin::root_only_arguments("config", static_cast<int>(rest.size() - 1), rest.data(), &root);
  if (code != admin::ok) return code;
  return check(root);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-config", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
