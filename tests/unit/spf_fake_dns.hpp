// A DNS table for the SPF and DMARC unit tests: names map to records; a name in
// `timeouts` answers temporary. Used by spf_test.cpp.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "spf.hpp"

struct FakeDns : quail::spf::Dns {
  std::map<std::string, std::vector<std::string>> txt_, a_, aaaa_, mx_, ptr_;
  std::set<std::string> timeouts;
  int queries = 0;

  quail::spf::Answer from(const std::map<std::string, std::vector<std::string>>& t, const std::string& name,
                          std::vector<std::string>& out) {
    ++queries;
    if (timeouts.count(name)) return quail::spf::Answer::temporary;
    auto it = t.find(name);
    if (it != t.end() && !it->second.empty()) {
      out = it->second;
      return quail::spf::Answer::ok;
    }
    return exists(name) ? quail::spf::Answer::nodata : quail::spf::Answer::nxdomain;
  }
  bool exists(const std::string& n) const {
    return txt_.count(n) || a_.count(n) || aaaa_.count(n) || mx_.count(n) || ptr_.count(n);
  }
  quail::spf::Answer txt(const std::string& name, std::vector<std::string>& out) override { return from(txt_, name, out); }
  quail::spf::Answer addresses(const std::string& name, bool v6, std::vector<std::string>& out) override {
    return from(v6 ? aaaa_ : a_, name, out);
  }
  quail::spf::Answer mx(const std::string& name, std::vector<std::string>& out) override { return from(mx_, name, out); }
  quail::spf::Answer ptr(const quail::spf::IpAddress& ip, std::vector<std::string>& out) override {
    return from(ptr_, ip.str(), out);
  }
};
