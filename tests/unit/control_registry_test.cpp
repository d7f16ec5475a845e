// The control registry (lib/control.cpp), control/ (one page per file and the
// README table) and man/quail-control.5 agree (STYLE.md, "Control files"). The
// source tree is $QUAIL_SOURCE_DIR, else two levels above this file.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "control.hpp"

namespace fs = std::filesystem;

namespace {

fs::path source_dir() {
  if (const char* env = std::getenv("QUAIL_SOURCE_DIR"); env && *env) return env;
  return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("control registry: every control file has a page in control/ stating its default") {
  fs::path dir = source_dir() / "control";
  REQUIRE(fs::is_directory(dir));
  for (const auto& spec : quail::control_registry()) {
    CAPTURE(spec.name);
    fs::path page = dir / std::string(spec.name);
    REQUIRE(fs::exists(page));
    std::string text = slurp(page);
    CHECK(text.find("default: ") != std::string::npos);
    if (!spec.fallback.empty() && spec.fallback != "=me") {
      CHECK(text.find(std::string(spec.fallback)) != std::string::npos);
    }
  }
}

TEST_CASE("control registry: control/README.md has a row for every control file") {
  std::string readme = slurp(source_dir() / "control" / "README.md");
  REQUIRE(!readme.empty());
  for (const auto& spec : quail::control_registry()) {
    CAPTURE(spec.name);
    CHECK(readme.find("| [`" + std::string(spec.name) + "`](") != std::string::npos);
  }
}

TEST_CASE("control registry: every page in control/ is a registered control file") {
  std::set<std::string> known;
  for (const auto& spec : quail::control_registry()) known.insert(std::string(spec.name));
  for (const auto& e : fs::directory_iterator(source_dir() / "control")) {
    std::string name = e.path().filename().string();
    if (name == "README.md") continue;
    CAPTURE(name);
    CHECK(known.count(name) == 1);
  }
}

TEST_CASE("control registry: man/quail-control.5 describes every control file") {
  std::string man = slurp(source_dir() / "man" / "quail-control.5");
  REQUIRE(!man.empty());
  for (const auto& spec : quail::control_registry()) {
    CAPTURE(spec.name);
    CHECK(man.find("\n.B " + std::string(spec.name) + "\n") != std::string::npos);
  }
}

namespace {
const char* kind_name(quail::ControlKind k) {
  switch (k) {
    case quail::ControlKind::line: return "line";
    case quail::ControlKind::integer: return "integer";
    case quail::ControlKind::list: return "list";
    case quail::ControlKind::domains: return "domains";
    case quail::ControlKind::directory: return "directory";
  }
  return "";
}

std::string man_escape(std::string s) {
  std::string out;
  for (char c : s) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}
}  // namespace

TEST_CASE("control registry: each file's kind, default, range and users read the same in control/ and quail-control(5)") {
  std::string man = slurp(source_dir() / "man" / "quail-control.5");
  for (const auto& spec : quail::control_registry()) {
    CAPTURE(spec.name);
    std::string page = slurp(source_dir() / "control" / std::string(spec.name));
    std::string fallback = spec.fallback.empty()       ? "(empty)"
                           : spec.fallback == "=me"    ? "the value of control/me"
                                                       : std::string(spec.fallback);
    CHECK(page.find("\nkind: " + std::string(kind_name(spec.kind))) != std::string::npos);
    // A directory has no value to default to: its pages say what quail init puts there.
    if (spec.kind == quail::ControlKind::directory) continue;
    CHECK(page.find("\ndefault: " + fallback + "\n") != std::string::npos);
    CHECK(page.find("\nused by: " + std::string(spec.used_by) + "\n") != std::string::npos);
    std::string head = "(" + std::string(kind_name(spec.kind)) + "; default: " + man_escape(fallback);
    if (spec.kind == quail::ControlKind::integer) {
      head += "; range " + std::to_string(spec.min) + ".." + std::to_string(spec.max);
    }
    head += "; used by " + man_escape(std::string(spec.used_by)) + ")";
    CHECK(man.find("\n.B " + std::string(spec.name) + "\n" + head + "\n") != std::string::npos);
    // The one-line meaning, as the registry says it, opens the man page's entry.
    std::string meaning(spec.meaning);
    if (!meaning.empty()) meaning[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(meaning[0])));
    CHECK(man.find(head + "\n" + man_escape(meaning) + ".\n") != std::string::npos);
  }
}
