// The control registry (lib/control.cpp), control/ (one page per file and the
// README table) and man/quail-control.5 agree (STYLE.md, "Control files"). The
// source tree is $QUAIL_SOURCE_DIR, else two levels above this file.
#include <doctest/doctest.h>

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
