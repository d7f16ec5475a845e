// Keeps man/quail-log.5 true: every {"event", "<verb>"} in bin-src/ and lib/ has a
// row (verb, program) in the page's EVENTS table and every row is still logged; no
// log call passes a secret-looking key. Reads the source tree next to this file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

fs::path repo_root() { return fs::weakly_canonical(fs::path(__FILE__)).parent_path().parent_path().parent_path(); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The source with comments blanked out (string and char literals kept), so a
// commented-out log call is neither counted nor checked.
std::string strip_comments(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (s.compare(i, 2, "/*") == 0) {
      size_t end = s.find("*/", i + 2);
      i = end == std::string::npos ? s.size() : end + 2;
      out += ' ';
    } else if (s[i] == 'R' && s.compare(i, 2, "R\"") == 0 && (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1])))) {
      size_t open = s.find('(', i);
      if (open == std::string::npos) break;
      std::string close = ")" + s.substr(i + 2, open - i - 2) + "\"";
      size_t end = s.find(close, open);
      end = end == std::string::npos ? s.size() : end + close.size();
      out.append(s, i, end - i);
      i = end;
    } else if (s[i] == '"' || s[i] == '\'') {
      char q = s[i];
      size_t j = i + 1;
      while (j < s.size() && s[j] != q && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, s.size());
      out.append(s, i, j - i);
      i = j;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// From s[open] (an opening bracket) to its match, counting only brackets outside literals.
std::string balanced(const std::string& s, size_t open, char l, char r) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '"' || s[i] == '\'') {
      char q = s[i];
      for (++i; i < s.size() && s[i] != q; i += s[i] == '\\' ? 2 : 1) {
      }
      continue;
    }
    if (s[i] == l) ++depth;
    if (s[i] == r && --depth == 0) return s.substr(open, i - open + 1);
  }
  return s.substr(open);
}

// The contents of the string literals in s (escapes left as written).
// Hand-rolled, as the other scanners here: GCC 12 warns inside <regex> under ASan.
std::vector<std::string> literals(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\'') {
      for (++i; i < s.size() && s[i] != '\''; i += s[i] == '\\' ? 2 : 1) {
      }
    } else if (s[i] == '"') {
      size_t j = i + 1;
      while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
      out.push_back(s.substr(i + 1, j - i - 1));
      i = j;
    }
  }
  return out;
}

size_t skip_space(const std::string& s, size_t i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// The key of a LogField written as {"key", ...} starting at s[brace]; empty if it is not one.
std::string field_key(const std::string& s, size_t brace) {
  size_t i = skip_space(s, brace + 1);
  if (i >= s.size() || s[i] != '"') return "";
  size_t end = s.find('"', i + 1);
  if (end == std::string::npos || s.find('\\', i + 1) < end) return "";
  size_t comma = skip_space(s, end + 1);
  if (comma >= s.size() || s[comma] != ',') return "";
  return s.substr(i + 1, end - i - 1);
}

// Positions of the '(' of each call to log_info/log_warn/log_error/log_event.
std::vector<size_t> log_calls(const std::string& s) {
  std::vector<size_t> out;
  for (size_t p = s.find("log_"); p != std::string::npos; p = s.find("log_", p + 1)) {
    if (p > 0 && (std::isalnum(static_cast<unsigned char>(s[p - 1])) || s[p - 1] == '_')) continue;
    for (const char* name : {"log_info", "log_warn", "log_error", "log_event"}) {
      std::string n(name);
      if (s.compare(p, n.size(), n) != 0) continue;
      size_t open = skip_space(s, p + n.size());
      if (open < s.size() && s[open] == '(') out.push_back(open);
    }
  }
  return out;
}

struct Source {
  std::string file;     // relative to the repository
  std::string program;  // bin-src/<program>/..., or "all" for lib/
  std::string text;     // without comments
};

std::vector<Source> sources(const fs::path& repo) {
  std::vector<Source> out;
  for (const char* top : {"bin-src", "lib"}) {
    for (const auto& e : fs::recursive_directory_iterator(repo / top)) {
      auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      fs::path rel = fs::relative(e.path(), repo);
      if (rel == "lib/log.cpp" || rel == "lib/log.hpp") continue;  // the logger, not a caller
      std::string program = std::string(top) == "lib" ? "all" : (*std::next(rel.begin())).string();
      out.push_back({rel.string(), program, strip_comments(slurp(e.path()))});
    }
  }
  std::sort(out.begin(), out.end(), [](const Source& a, const Source& b) { return a.file < b.file; });
  return out;
}

std::string plain_roff(std::string s) {
  for (size_t p; (p = s.find("\\-")) != std::string::npos;) s.replace(p, 2, "-");
  for (const char* font : {"\\fB", "\\fI", "\\fR", "\\fP"}) {
    for (size_t p; (p = s.find(font)) != std::string::npos;) s.erase(p, 3);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// The (event, program) rows of the table in the page's EVENTS section.
std::set<std::pair<std::string, std::string>> table_rows(const std::string& page) {
  std::set<std::pair<std::string, std::string>> rows;
  size_t sec = page.find("\n.SH EVENTS");
  if (sec == std::string::npos) return rows;
  size_t ts = page.find("\n.TS", sec), te = page.find("\n.TE", sec);
  if (ts == std::string::npos || te == std::string::npos) return rows;
  std::string body = page.substr(ts + 1, te - ts);
  bool format_done = false, header_done = false;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    std::string line = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? body.size() : nl + 1;
    if (!format_done) {
      format_done = !line.empty() && line.back() == '.';
      continue;
    }
    size_t at1 = line.find('@');
    if (at1 == std::string::npos || line.rfind("T}", 0) == 0) continue;
    if (!header_done) {
      header_done = true;  // the column titles
      continue;
    }
    size_t at2 = line.find('@', at1 + 1);
    rows.insert({plain_roff(line.substr(0, at1)), plain_roff(line.substr(at1 + 1, at2 - at1 - 1))});
  }
  return rows;
}

}  // namespace

TEST_CASE("log events: every event verb logged is in man/quail-log.5's table, and every row is logged") {
  fs::path repo = repo_root();
  if (!fs::exists(repo / "bin-src") || !fs::exists(repo / "man/quail-log.5")) {
    MESSAGE("source tree not found next to " __FILE__ "; skipped");
    return;
  }
  auto rows = table_rows(slurp(repo / "man/quail-log.5"));
  REQUIRE_MESSAGE(rows.size() > 10, "man/quail-log.5: no EVENTS table (.SH EVENTS, then .TS with @ as tab)");

  std::set<std::pair<std::string, std::string>> logged;  // (verb, program)
  for (const auto& src : sources(repo)) {
    const std::string& t = src.text;
    for (size_t open = t.find('{'); open != std::string::npos; open = t.find('{', open + 1)) {
      if (field_key(t, open) != "event") continue;
      std::string field = balanced(t, open, '{', '}');
      auto verbs = literals(field);
      verbs.erase(verbs.begin());  // "event" itself
      CHECK_MESSAGE(!verbs.empty(), src.file << ": an event whose verb is not a string literal: " << field
                                             << " (log_events_test can only check literals)");
      for (const auto& verb : verbs) {
        logged.insert({verb, src.program});
        bool listed = rows.count({verb, src.program}) || rows.count({verb, "all"}) ||
                      (src.program == "all" && std::any_of(rows.begin(), rows.end(),
                                                           [&](const auto& r) { return r.first == verb; }));
        CHECK_MESSAGE(listed, "event=" << verb << " (logged in " << src.file << ") has no row for program "
                                       << src.program << " in man/quail-log.5's EVENTS table");
      }
    }
  }
  for (const auto& row : rows) {
    const std::string& verb = row.first;  // not a structured binding: clang 14 cannot capture those
    const std::string& program = row.second;
    bool used = std::any_of(logged.begin(), logged.end(), [&](const auto& l) {
      return l.first == verb && (program == "all" ? l.second == "all" : l.second == program);
    });
    CHECK_MESSAGE(used, "man/quail-log.5 lists event=" << verb << " for " << program
                                                        << ", but no source under bin-src/" << program
                                                        << " (or lib/ for all) logs it");
  }
}

TEST_CASE("log events: every log call names an event and passes no secret-looking key") {
  fs::path repo = repo_root();
  if (!fs::exists(repo / "bin-src")) {
    MESSAGE("source tree not found next to " __FILE__ "; skipped");
    return;
  }
  static const std::set<std::string> forbidden = {"password", "passwd", "pass", "secret", "body", "data"};
  int calls = 0;
  for (const auto& src : sources(repo)) {
    const std::string& t = src.text;
    for (size_t open : log_calls(t)) {
      std::string args = balanced(t, open, '(', ')');
      ++calls;
      CHECK_MESSAGE(args.find("\"event\"") != std::string::npos,
                    src.file << ": a log call without an event= verb: " << args.substr(0, 120));
      for (size_t b = args.find('{'); b != std::string::npos; b = args.find('{', b + 1)) {
        std::string name = field_key(args, b);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        CHECK_MESSAGE(!forbidden.count(name), src.file << ": a log call passes key \"" << name
                                                       << "\", which man/quail-log.5 forbids: " << args.substr(0, 120));
      }
    }
  }
  CHECK(calls > 20);
}
