// Unit tests for the last good configuration (lib/control: write_control_snapshot,
// parse_control_snapshot, and the readers' fallback): a file spoiled after the
// snapshot reads as its last good value; strict validation still refuses it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "control.hpp"
#include "log.hpp"

namespace {

struct TempRoot {
  std::string path;
  TempRoot() {
    char tmpl[] = "/tmp/quail-ut-snapshot-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
    std::filesystem::create_directory(path + "/control");
    std::filesystem::create_directory(path + "/run");
    quail::log_set_fd(-1);
  }
  ~TempRoot() {
    std::filesystem::remove_all(path);
    quail::log_set_fd(2);
  }
  void put(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/control/" + name, std::ios::binary) << text;
  }
};

}  // namespace

TEST_CASE("control snapshot: parse accepts what write produces and refuses torn files") {
  auto ok = quail::parse_control_snapshot("quail-control-good 1\nme 5\nmx.a\ndatabytes 5\n5000\n");
  REQUIRE(ok.ok());
  REQUIRE(ok.value().size() == 2);
  CHECK(ok.value()[0].first == "me");
  CHECK(ok.value()[0].second == "mx.a\n");
  CHECK(ok.value()[1].second == "5000\n");
  CHECK(quail::parse_control_snapshot("quail-control-good 1\n").ok());
  for (const char* bad : {"", "quail-control-good 2\n", "quail-control-good 1\nme 40\nshort",
                          "quail-control-good 1\nme\n", "quail-control-good 1\n 3\nabc", "quail-control-good 1\nme x\n",
                          "quail-control-good 1\nme 4"}) {
    CAPTURE(bad);
    auto r = quail::parse_control_snapshot(bad);
    REQUIRE(!r.ok());
    CHECK(r.error().kind == quail::ErrorKind::format);
  }
}

TEST_CASE("control snapshot: a file spoiled after the snapshot reads as its last good value") {
  TempRoot root;
  root.put("databytes", "5000\n");
  root.put("rcpthosts", "example.test\n");
  REQUIRE(quail::write_control_snapshot(root.path).ok());
  root.put("databytes", "1MB\n");
  root.put("rcpthosts", "not a domain!\n");
  root.put("maxrcpt", "0\n");  // absent at the snapshot: its default was the good value
  quail::Control control(root.path);
  CHECK(control.integer("databytes").value() == 5000);
  CHECK(control.list("rcpthosts").value() == std::vector<std::string>{"example.test"});
  CHECK(control.integer("maxrcpt").value() == 1000);
  // Strict readers refuse, so up, reload and config check still see the fault.
  CHECK(!control.validate("databytes").ok());
  CHECK(!control.validate_all().ok());
  CHECK(!quail::write_control_snapshot(root.path).ok());
  // A good edit takes effect at once, snapshot or not.
  root.put("databytes", "7000\n");
  CHECK(control.integer("databytes").value() == 7000);
}

TEST_CASE("control snapshot: relay passwords (smtpauth) are never copied into the world-readable snapshot") {
  TempRoot root;
  root.put("smtpauth", "relay.example.test:user:s3cret-pass\n");
  root.put("me", "mx.example.test\n");
  REQUIRE(quail::write_control_snapshot(root.path).ok());
  std::ifstream in(root.path + "/run/control.good", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("mx.example.test") != std::string::npos);
  CHECK(text.find("s3cret-pass") == std::string::npos);
  CHECK(text.find("smtpauth") == std::string::npos);
  // Spoiled afterwards, it is an error, not the default's "no logins".
  root.put("smtpauth", "relay.example.test:user-without-password\n");
  CHECK(!quail::Control(root.path).lines("smtpauth").ok());
}

TEST_CASE("control snapshot: without one a malformed file is an error as before") {
  TempRoot root;
  root.put("databytes", "1MB\n");
  auto r = quail::Control(root.path).integer("databytes");
  REQUIRE(!r.ok());
  CHECK(r.error().kind == quail::ErrorKind::config);
}

TEST_CASE("control snapshot: a route that does not parse falls back to the last good routes") {
  TempRoot root;
  root.put("smtproutes", "remote.test:[127.0.0.1]:2525\n");
  REQUIRE(quail::write_control_snapshot(root.path).ok());
  root.put("smtproutes", "remote.test:[127.0.0.1]:notaport\n");  // a fine list line, a bad route
  quail::Control control(root.path);
  auto lines = control.lines("smtproutes");
  REQUIRE(lines.ok());
  REQUIRE(lines.value().size() == 1);
  CHECK(lines.value()[0].value == "remote.test:[127.0.0.1]:2525");
  CHECK(!control.validate("smtproutes").ok());
  CHECK(!control.validate_all().ok());
  root.put("smtproutes", "remote.test:[127.0.0.1]:2626\n");
  CHECK(control.list("smtproutes").value() == std::vector<std::string>{"remote.test:[127.0.0.1]:2626"});
}

TEST_CASE("control snapshot: read_once falls back to the last good value as a plain reader does") {
  TempRoot root;
  root.put("databytes", "5000\n");
  REQUIRE(quail::write_control_snapshot(root.path).ok());
  root.put("databytes", "1MB\n");
  root.put("maxrcpt", "0\n");
  auto once = quail::Control::read_once(root.path);
  CHECK(once.integer("databytes").value() == 5000);
  CHECK(once.integer("maxrcpt").value() == 1000);
  CHECK(!once.validate("databytes").ok());
  CHECK(!once.validate_all().ok());
}
