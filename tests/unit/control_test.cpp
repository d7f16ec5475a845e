// Unit tests for lib/control: strict integers, lists, domain lists, defaults from
// the registry (DESIGN.md principle 3: missing = default, malformed = error naming file:line).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "control.hpp"

using quail::Control;
using quail::ErrorKind;
using quail::parse_control_integer;
using quail::parse_control_line;
using quail::parse_control_list;

namespace {

// A fresh ROOT with an empty control/ directory, removed at the end of the test.
struct TempRoot {
  std::string path;
  TempRoot() {
    char tmpl[] = "/tmp/quail-ut-control-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
    std::filesystem::create_directory(path + "/control");
  }
  ~TempRoot() { std::filesystem::remove_all(path); }
  void put(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/control/" + name, std::ios::binary) << text;
  }
};

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("control: integers are strict decimal numbers within their range") {
  struct Case {
    const char* text;
    bool ok;
    int64_t value;
  };
  const Case cases[] = {
      {"5", true, 5},
      {"5\n", true, 5},
      {"  5  \n", true, 5},
      {"5\r\n", true, 5},
      {"0", true, 0},
      {"1000", true, 1000},
      {"007", true, 7},
      {"+5", false, 0},
      {"5 5", false, 0},
      {"5\t5", false, 0},
      {"0x10", false, 0},
      {"1e3", false, 0},
      {"5.0", false, 0},
      {"five", false, 0},
      {"", false, 0},
      {"\n5", false, 0},
      {"-1", false, 0},
      {"1001", false, 0},
      {"9223372036854775807", false, 0},
      {"9223372036854775808", false, 0},
      {"99999999999999999999999", false, 0},
  };
  for (const auto& c : cases) {
    std::string text(c.text);
    CAPTURE(text);
    auto r = parse_control_integer(text, "control/concurrencylocal", 0, 1000);
    REQUIRE(r.ok() == c.ok);
    if (c.ok) {
      CHECK(*r == c.value);
    } else {
      CHECK(r.error().kind == ErrorKind::config);
      CHECK(contains(r.error().reason, "control/concurrencylocal:1"));
    }
  }
  auto nul = parse_control_integer(std::string("5\0", 2), "f", 0, 10);
  CHECK_FALSE(nul.ok());
  auto big = parse_control_integer("9223372036854775807", "f", INT64_MIN, INT64_MAX);
  REQUIRE(big.ok());
  CHECK(*big == INT64_MAX);
  // No sign, even where a range would allow a negative value (man/quail-control.5).
  CHECK_FALSE(parse_control_integer("-3", "f", -10, 10).ok());
}

TEST_CASE("control: an out-of-range integer says the range") {
  auto r = parse_control_integer("0", "control/maxrcpt", 1, 100000);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.error().reason, "control/maxrcpt:1"));
  CHECK(contains(r.error().reason, "1..100000"));
}

TEST_CASE("control: a line file gives its first line, trimmed") {
  CHECK(parse_control_line("mx.example.test\n", "f").value() == "mx.example.test");
  CHECK(parse_control_line("  mx.example.test \t\r\nsecond line\n", "f").value() == "mx.example.test");
  CHECK(parse_control_line("Welcome to ESMTP", "f").value() == "Welcome to ESMTP");
  for (const char* bad : {"", "\n", "   \n", "a\x01" "b", "a\tb", "a\x7f"}) {
    std::string text(bad);
    CAPTURE(text);
    auto r = parse_control_line(text, "control/me");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::config);
    CHECK(contains(r.error().reason, "control/me:1"));
  }
  CHECK_FALSE(parse_control_line(std::string("ok\nsecond\0", 10), "f").ok());  // NUL anywhere
}

TEST_CASE("control: lists skip comments and blank lines and trim values") {
  auto r = parse_control_list("# routes\n\nalpha\n  beta  \r\n\t# indented comment\ngamma delta\nlast", "f", false);
  REQUIRE(r.ok());
  CHECK(*r == std::vector<std::string>{"alpha", "beta", "gamma delta", "last"});
  CHECK(parse_control_list("", "f", false)->empty());
  CHECK(parse_control_list("# only a comment\n\n", "f", false)->empty());
  auto keep = parse_control_list("a#b\n", "f", false);  // # only starts a comment at the line start
  REQUIRE(keep.ok());
  CHECK(*keep == std::vector<std::string>{"a#b"});
}

TEST_CASE("control: a malformed list line is an error naming file and line") {
  auto r = parse_control_list("ok\n# fine\nbad\x01value\n", "control/smtproutes", false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  CHECK(contains(r.error().reason, "control/smtproutes:3"));
  auto nul = parse_control_list(std::string("ok\nx\0y\n", 7), "control/smtproutes", false);
  REQUIRE_FALSE(nul.ok());
  CHECK(contains(nul.error().reason, "control/smtproutes:2"));
}

TEST_CASE("control: domain lists are lowercased and validated, .example wildcards accepted") {
  auto r = parse_control_list("Example.COM\n.Sub.Example.org\n[192.0.2.1]\nb\xc3\xbc" "cher.example\n", "f", true);
  REQUIRE(r.ok());
  CHECK(*r == std::vector<std::string>{"example.com", ".sub.example.org", "[192.0.2.1]", "b\xc3\xbc" "cher.example"});
  for (const char* bad : {"exa mple.com", "-bad.example", "bad-.example", ".", "..example", "example..com",
                          "a_b.example", "user@example.com", "example.com."}) {
    std::string text = std::string("good.example\n# comment\n") + bad + "\n";
    CAPTURE(text);
    auto e = parse_control_list(text, "control/rcpthosts", true);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().kind == ErrorKind::config);
    CHECK(contains(e.error().reason, "control/rcpthosts:3"));
  }
}

TEST_CASE("control: every registry entry has a unique name, a purpose and a default that parses") {
  std::set<std::string> names;
  for (const auto& s : quail::control_registry()) {
    std::string name(s.name);
    CAPTURE(name);
    CHECK(names.insert(name).second);
    CHECK_FALSE(s.used_by.empty());
    CHECK_FALSE(s.meaning.empty());
    CHECK(quail::control_spec(s.name) == &s);
    switch (s.kind) {
      case quail::ControlKind::integer:
        CHECK(s.min <= s.max);
        CHECK(parse_control_integer(s.fallback, name, s.min, s.max).ok());
        break;
      case quail::ControlKind::line:
        CHECK((s.fallback == "=me" || parse_control_line(s.fallback, name).ok()));
        break;
      case quail::ControlKind::list:
      case quail::ControlKind::domains:
        CHECK(parse_control_list(s.fallback, name, s.kind == quail::ControlKind::domains).ok());
        break;
      case quail::ControlKind::directory:
        CHECK(s.fallback.empty());
        break;
    }
  }
  CHECK(quail::control_spec("no-such-file") == nullptr);
}

TEST_CASE("control: a missing file gives the registry default") {
  TempRoot root;
  Control c(root.path);
  CHECK(c.dir() == root.path + "/control");
  CHECK(c.line("me").value() == "localhost");
  CHECK(c.line("bouncefrom").value() == "MAILER-DAEMON");
  CHECK(c.integer("concurrencylocal").value() == 20);
  CHECK(c.integer("concurrencyremote").value() == 20);
  CHECK(c.integer("queuelifetime").value() == 604800);
  CHECK(c.integer("databytes").value() == 52428800);
  CHECK(c.list("locals")->empty());
  CHECK(c.list("smtproutes")->empty());
  CHECK(c.validate_all().ok());
}

TEST_CASE("control: \"=me\" defaults follow control/me") {
  TempRoot root;
  Control c(root.path);
  CHECK(c.line("defaultdomain").value() == "localhost");
  CHECK(c.line("smtpgreeting").value() == "localhost");
  root.put("me", "mx.example.test\n");
  CHECK(c.line("defaultdomain").value() == "mx.example.test");
  CHECK(c.line("smtpgreeting").value() == "mx.example.test");
  root.put("defaultdomain", "example.test\n");
  CHECK(c.line("defaultdomain").value() == "example.test");
  CHECK(c.line("smtpgreeting").value() == "mx.example.test");
}

TEST_CASE("control: values in files override the defaults") {
  TempRoot root;
  root.put("concurrencylocal", "3\n");
  root.put("rcpthosts", "Example.TEST\n.example.org\n");
  root.put("smtproutes", "example.net:[192.0.2.1]:2525\n");
  Control c(root.path);
  CHECK(c.integer("concurrencylocal").value() == 3);
  CHECK(c.list("rcpthosts").value() == std::vector<std::string>{"example.test", ".example.org"});
  CHECK(c.list("smtproutes").value() == std::vector<std::string>{"example.net:[192.0.2.1]:2525"});
}

TEST_CASE("control: a malformed file is a config error naming the file and line, never the default") {
  TempRoot root;
  Control c(root.path);
  root.put("concurrencylocal", "ten\n");
  auto i = c.integer("concurrencylocal");
  REQUIRE_FALSE(i.ok());
  CHECK(i.error().kind == ErrorKind::config);
  CHECK(contains(i.error().reason, root.path + "/control/concurrencylocal:1"));

  root.put("concurrencylocal", "1001\n");  // above 1000
  CHECK_FALSE(c.integer("concurrencylocal").ok());
  root.put("concurrencylocal", "");        // present but empty
  CHECK_FALSE(c.integer("concurrencylocal").ok());

  root.put("locals", "example.test\nnot a domain\n");
  auto l = c.list("locals");
  REQUIRE_FALSE(l.ok());
  CHECK(contains(l.error().reason, root.path + "/control/locals:2"));

  root.put("me", "\n");
  CHECK_FALSE(c.line("me").ok());
  CHECK_FALSE(c.line("defaultdomain").ok());  // its default follows a malformed me
}

TEST_CASE("control: a control file that cannot be read is a config error, not the default") {
  TempRoot root;
  std::filesystem::create_directory(root.path + "/control/me");  // read(2) gives EISDIR
  Control c(root.path);
  auto r = c.line("me");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
}

TEST_CASE("control: asking for an unregistered file is a config error") {
  TempRoot root;
  Control c(root.path);
  for (auto r : {c.integer("nosuchfile").ok(), c.list("nosuchfile").ok(), c.line("nosuchfile").ok()}) {
    CHECK_FALSE(r);
  }
  CHECK(c.integer("nosuchfile").error().kind == ErrorKind::config);
}

TEST_CASE("control: validate_all names the first malformed file in registry order") {
  TempRoot root;
  Control c(root.path);
  root.put("me", "mx.example.test\n");
  root.put("locals", "example.test\n");
  CHECK(c.validate_all().ok());
  root.put("maxrcpt", "lots\n");
  root.put("concurrencyremote", "0\n");  // below its minimum of 1; comes first in the registry
  auto s = c.validate_all();
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::config);
  CHECK(contains(s.error().reason, "/control/concurrencyremote:1"));
  root.put("concurrencyremote", "5\n");
  s = c.validate_all();
  REQUIRE_FALSE(s.ok());
  CHECK(contains(s.error().reason, "/control/maxrcpt:1"));
}

TEST_CASE("control: integers at and past INT64_MAX and UINT64_MAX are out of range, never wrapped") {
  CHECK(parse_control_integer("9223372036854775807", "f", 0, INT64_MAX).value() == INT64_MAX);
  CHECK(parse_control_integer("0009223372036854775807", "f", 0, INT64_MAX).value() == INT64_MAX);
  for (const char* n : {"9223372036854775808", "18446744073709551615", "18446744073709551616",
                        "18446744073709551617", "123456789012345678901234"}) {
    CAPTURE(std::string(n));
    for (int64_t max : {int64_t{1000}, INT64_MAX}) {
      auto r = parse_control_integer(n, "control/queuelifetime", 0, max);
      REQUIRE_FALSE(r.ok());
      CHECK(contains(r.error().reason, "control/queuelifetime:1"));
      CHECK(contains(r.error().reason, "out of range 0.." + std::to_string(max)));
    }
  }
  // 2^64 + 5 would be 5 in a reader that wraps.
  CHECK_FALSE(parse_control_integer("18446744073709551621", "f", 0, 10).ok());
  // No registered range reaches below zero: control files take no sign.
  for (const auto& s : quail::control_registry()) {
    if (s.kind == quail::ControlKind::integer) CHECK(s.min >= 0);
  }
}

namespace {

// Every registered file through both readers: the same value, default or error.
void check_same_as_plain(const std::string& root) {
  Control plain(root);
  Control once = Control::read_once(root);
  for (const auto& spec : quail::control_registry()) {
    CAPTURE(spec.name);
    auto a = plain.lines(spec.name);
    auto b = once.lines(spec.name);
    REQUIRE(a.ok() == b.ok());
    if (!a.ok()) {
      CHECK(a.error().kind == b.error().kind);
      CHECK(a.error().reason == b.error().reason);
      continue;
    }
    REQUIRE(a->size() == b->size());
    for (size_t i = 0; i < a->size(); ++i) CHECK((*a)[i].value == (*b)[i].value);
    if (spec.kind == quail::ControlKind::integer) CHECK(plain.integer(spec.name).ok() == once.integer(spec.name).ok());
    if (spec.kind == quail::ControlKind::line) {
      auto la = plain.line(spec.name), lb = once.line(spec.name);
      REQUIRE(la.ok() == lb.ok());
      if (la.ok()) CHECK(*la == *lb);
    }
  }
  CHECK(plain.validate_all().ok() == once.validate_all().ok());
}

}  // namespace

TEST_CASE("control: read_once gives the values, defaults and errors a plain Control gives") {
  TempRoot root;
  check_same_as_plain(root.path);  // every file absent: the defaults
  root.put("me", "mx.example.test\n");
  root.put("rcpthosts", "Example.TEST\n.example.org\n");
  root.put("databytes", "5000\n");
  root.put("maxrcpt", "0\n");            // out of range
  root.put("locals", "not a domain\n");  // malformed list
  check_same_as_plain(root.path);
  Control once = Control::read_once(root.path);
  CHECK(once.line("smtpgreeting").value() == "mx.example.test");  // "=me"
  CHECK(once.integer("databytes").value() == 5000);
  CHECK(once.integer("greydelay").value() == 300);
  auto bad = once.integer("maxrcpt");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::config);
  CHECK(contains(bad.error().reason, root.path + "/control/maxrcpt:1"));
  auto l = once.list("locals");
  REQUIRE_FALSE(l.ok());
  CHECK(contains(l.error().reason, root.path + "/control/locals:1"));
  CHECK_FALSE(once.validate_all().ok());
}

TEST_CASE("control: read_once answers as of its first read, a new reader sees the change") {
  TempRoot root;
  root.put("me", "mx.example.test\n");
  Control once = Control::read_once(root.path);
  CHECK(once.line("me").value() == "mx.example.test");
  root.put("me", "other.example.test\n");
  root.put("databytes", "5000\n");  // created after the listing
  CHECK(once.line("me").value() == "mx.example.test");
  CHECK(once.line("smtpgreeting").value() == "mx.example.test");
  CHECK(once.integer("databytes").value() == 52428800);
  Control copy = once;  // copies share what was read
  CHECK(copy.line("me").value() == "mx.example.test");
  Control again = Control::read_once(root.path);
  CHECK(again.line("me").value() == "other.example.test");
  CHECK(again.integer("databytes").value() == 5000);
  CHECK(Control(root.path).line("me").value() == "other.example.test");
}

TEST_CASE("control: read_once without a control directory gives the defaults, an unreadable file its error") {
  TempRoot root;
  std::filesystem::remove(root.path + "/control");
  Control gone = Control::read_once(root.path);
  CHECK(gone.line("me").value() == "localhost");
  CHECK(gone.integer("databytes").value() == 52428800);
  check_same_as_plain(root.path);
  std::filesystem::create_directory(root.path + "/control");
  std::filesystem::create_directory(root.path + "/control/me");  // read(2) gives EISDIR
  auto r = Control::read_once(root.path).line("me");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  check_same_as_plain(root.path);
}

TEST_CASE("control: read_once lists a directory larger than one read of its entries") {
  TempRoot root;
  // ~600 names of ~60 bytes: several getdents64 buffers of 8 KiB.
  for (int i = 0; i < 600; ++i) root.put("filler-" + std::string(48, 'x') + "-" + std::to_string(i), "");
  root.put("me", "mx.example.test\n");
  root.put("timeoutsmtpd", "42\n");
  root.put("zzz-after", "");
  Control once = Control::read_once(root.path);
  CHECK(once.line("me").value() == "mx.example.test");
  CHECK(once.integer("timeoutsmtpd").value() == 42);
  CHECK(once.integer("maxrcpt").value() == 1000);
  check_same_as_plain(root.path);
}

TEST_CASE("control: read_once follows symbolic links as a plain read does, a dangling one is absent") {
  TempRoot root;
  std::ofstream(root.path + "/mailname") << "linked.example.test\n";
  std::filesystem::create_symlink(root.path + "/mailname", root.path + "/control/me");
  std::filesystem::create_symlink(root.path + "/nowhere", root.path + "/control/databytes");
  Control once = Control::read_once(root.path);
  CHECK(once.line("me").value() == "linked.example.test");
  CHECK(once.integer("databytes").value() == 52428800);
  check_same_as_plain(root.path);
}
