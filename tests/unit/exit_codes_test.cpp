// Checks that each program's man page (man/<program>.8 or .1) has an EXIT CODES
// section naming every exit code its source defines (STYLE.md, "Exit codes"):
// exit_* constants, run_main's codes, and the qq:: / admin:: tables a program
// exits with. Reads the source tree next to this file; skipped without it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <cctype>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

fs::path repo_root() { return fs::weakly_canonical(fs::path(__FILE__)).parent_path().parent_path().parent_path(); }

// The text of the EXIT CODES section with roff escapes reduced to plain text.
std::optional<std::string> exit_section(const std::string& page) {
  std::string out;
  bool in = false, found = false;
  size_t pos = 0;
  while (pos < page.size()) {
    size_t nl = page.find('\n', pos);
    std::string line = page.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? page.size() : nl + 1;
    if (line.rfind(".SH", 0) == 0 || line.rfind(".SS", 0) == 0) {
      if (line.rfind(".SS", 0) == 0 && in) continue;  // a subsection stays inside
      in = line.find("EXIT CODES") != std::string::npos || line.find("EXIT STATUS") != std::string::npos;
      found = found || in;
      continue;
    }
    if (in) out += line + "\n";
  }
  if (!found) return std::nullopt;
  // Rebuilt rather than replaced in place: GCC 12's -Wrestrict misfires on replace().
  for (const std::string dash : {"\\(en", "\\(em", "\\-"}) {
    std::string clean;
    size_t from = 0;
    for (size_t p; (p = out.find(dash, from)) != std::string::npos; from = p + dash.size()) {
      clean.append(out, from, p - from);
      clean += '-';
    }
    clean.append(out, from, std::string::npos);
    out = std::move(clean);
  }
  for (const char* font : {"\\fB", "\\fI", "\\fR", "\\fP"}) {
    for (size_t p; (p = out.find(font)) != std::string::npos;) out.erase(p, 3);
  }
  return out;
}

// Numbers written in the section: lone 1-3 digit integers (not "5.1.1", not
// "1000 bytes"), and ranges "A-B".
struct Documented {
  std::set<int> numbers;
  std::vector<std::pair<int, int>> ranges;
  bool covers(int v) const {
    if (numbers.count(v)) return true;
    for (auto [a, b] : ranges) {
      if (v >= a && v <= b) return true;
    }
    return false;
  }
};

Documented documented_codes(const std::string& text) {
  Documented d;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '#'; };
  int prev_number = -1;
  size_t prev_end = 0;
  for (size_t i = 0; i < text.size();) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    bool lone = (i == 0 || (!word(text[i - 1]) && text[i - 1] != '.')) &&
                (j == text.size() || (!word(text[j]) &&
                                      !(text[j] == '.' && j + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[j + 1])))));
    if (lone && j - i <= 3) {
      int v = std::stoi(text.substr(i, j - i));
      d.numbers.insert(v);
      if (prev_number >= 0 && prev_end + 1 == i && text[prev_end] == '-') d.ranges.emplace_back(prev_number, v);
      prev_number = v;
      prev_end = j;
    }
    i = j;
  }
  return d;
}

// `constexpr int name = N;` in one file.
std::map<std::string, int> constants_in(const std::string& text) {
  std::map<std::string, int> out;
  static const std::regex def(R"(constexpr\s+int\s+(\w+)\s*=\s*(\d+)\s*;)");
  for (std::sregex_iterator it(text.begin(), text.end(), def), end; it != end; ++it) {
    out[(*it)[1]] = std::stoi((*it)[2]);
  }
  return out;
}

std::string sources_of(const fs::path& dir) {
  std::string all;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto ext = e.path().extension();
    if (ext == ".cpp" || ext == ".hpp") all += slurp(e.path()) + "\n";
  }
  return all;
}

struct Code {
  std::string name;
  int value;
};

// The exit codes a program's source names.
std::vector<Code> program_codes(const fs::path& repo, const fs::path& dir) {
  std::string src = sources_of(dir);
  std::vector<Code> codes;
  for (const auto& [name, v] : constants_in(src)) {
    if (name.rfind("exit_", 0) == 0) codes.push_back({name, v});
  }
  // exit_* constants from shared headers (inject's submit.hpp, used by sendmail).
  std::map<std::string, int> shared;
  for (const auto& e : fs::directory_iterator(repo / "bin-src")) {
    if (!e.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(e.path())) {
      if (f.path().extension() == ".hpp") shared.merge(constants_in(slurp(f.path())));
    }
  }
  static const std::regex ref(R"(\b(\w+)::(exit_\w+)\b)");
  for (std::sregex_iterator it(src.begin(), src.end(), ref), end; it != end; ++it) {
    auto s = shared.find((*it)[2]);
    if (s != shared.end()) codes.push_back({(*it)[0], s->second});
  }
  // A program whose run_main takes qq:: or admin:: codes exits with that table's codes.
  static const std::regex runner(R"(run_main\(\s*"[^"]*"\s*,\s*\{([^}]*)\})");
  std::smatch m;
  if (std::regex_search(src, m, runner)) {
    std::string args = m[1];
    static const std::regex literal(R"(\b(\d+)\b)");
    for (std::sregex_iterator it(args.begin(), args.end(), literal), end; it != end; ++it) {
      codes.push_back({"run_main", std::stoi((*it)[1])});
    }
    for (auto [tag, header] : {std::pair<std::string, std::string>{"qq", "queue_exit.hpp"},
                               std::pair<std::string, std::string>{"admin", "service_cli.hpp"}}) {
      if (args.find(tag + "::") == std::string::npos || !fs::exists(repo / "lib" / header)) continue;
      auto table = constants_in(slurp(repo / "lib" / header));
      std::regex used("\\b" + tag + "::(\\w+)\\b");
      for (std::sregex_iterator it(src.begin(), src.end(), used), end; it != end; ++it) {
        auto t = table.find((*it)[1]);
        if (t != table.end()) codes.push_back({tag + "::" + t->first, t->second});
      }
    }
  }
  return codes;
}

}  // namespace

TEST_CASE("exit codes: every program's man page lists the exit codes its source defines") {
  fs::path repo = repo_root();
  if (!fs::is_directory(repo / "man") || !fs::is_directory(repo / "bin-src")) {
    MESSAGE("source tree not found next to " __FILE__ "; skipped");
    return;
  }
  int pages = 0;
  for (const auto& e : fs::directory_iterator(repo / "man")) {
    auto ext = e.path().extension();
    if (ext != ".8" && ext != ".1") continue;
    std::string program = e.path().stem().string();
    fs::path dir = repo / "bin-src" / program;
    if (!fs::is_directory(dir)) continue;
    ++pages;
    CAPTURE(program);
    std::string page = slurp(e.path());
    // A ".so man8/quail.8" page stands for the page it names (quail-init -> quail).
    if (page.rfind(".so ", 0) == 0) {
      std::string target = page.substr(4, page.find('\n') - 4);
      page = slurp(repo / "man" / fs::path(target).filename());
    }
    auto section = exit_section(page);
    REQUIRE_MESSAGE(section.has_value(), "man/" << program << ext.string() << " has no EXIT CODES section");
    Documented doc = documented_codes(*section);
    for (const auto& c : program_codes(repo, dir)) {
      CAPTURE(c.name);
      CAPTURE(c.value);
      CHECK_MESSAGE(doc.covers(c.value), program << ": " << c.name << " = " << c.value
                                                << " is not in the EXIT CODES section of its man page");
    }
  }
  CHECK(pages > 0);
}

TEST_CASE("exit codes: the section parser reads codes, ranges, and ignores status codes and sizes") {
  auto d = documented_codes("0 queued. Permanent (11-40): 11 address too long (over 1000 bytes), 31 refused (#5.3.0). "
                            "Temporary: 51, 111.\n.B 100\n");
  CHECK(d.covers(0));
  CHECK(d.covers(11));
  CHECK(d.covers(25));  // inside 11-40
  CHECK(d.covers(31));
  CHECK(d.covers(51));
  CHECK(d.covers(100));
  CHECK(d.covers(111));
  CHECK_FALSE(d.covers(5));     // from 5.3.0
  CHECK_FALSE(d.covers(1000));  // a size, not a code
  CHECK_FALSE(d.covers(41));
  auto s = exit_section(".SH NAME\nx \\- y 99\n.SH EXIT CODES\n0 ok; 11\\(en40 permanent\n.SH SEE ALSO\n77\n");
  REQUIRE(s.has_value());
  auto d2 = documented_codes(*s);
  CHECK(d2.covers(30));
  CHECK_FALSE(d2.covers(77));
  CHECK_FALSE(d2.covers(99));
  CHECK_FALSE(exit_section(".SH NAME\nx\n").has_value());
}
