// Unit tests for lib/dns_resolver_stub.cpp (c-ares): a DNS server on loopback in
// a thread answers each name with a reply made here, so what a peer's answer
// becomes is checked: TXT strings joined per record, an MX host that is no host
// name skipped, PTR targets in the answer's order, NXDOMAIN, NODATA, SERVFAIL, a
// reply whose record runs past its end.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <atomic>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "dns_resolver.hpp"

namespace {

using Bytes = std::string;

Bytes u16(int v) { return Bytes{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

Bytes wire_name(const std::string& name) {
  Bytes out;
  size_t from = 0;
  while (from < name.size()) {
    size_t dot = name.find('.', from);
    if (dot == std::string::npos) dot = name.size();
    out += static_cast<char>(dot - from);
    out += name.substr(from, dot - from);
    from = dot + 1;
  }
  return out + '\0';
}

// The question's name (lowercase as sent), or "" when the query is not one.
std::string question_name(const Bytes& q, size_t& end) {
  std::string name;
  size_t p = 12;
  while (p < q.size() && q[p] != 0) {
    size_t n = static_cast<unsigned char>(q[p]);
    if (!name.empty()) name += '.';
    name += q.substr(p + 1, n);
    p += n + 1;
  }
  end = p + 5;  // the root byte, QTYPE, QCLASS
  return name;
}

struct Rr {
  int type;
  Bytes rdata;
};

Bytes reply(const Bytes& q, int rcode, const std::vector<Rr>& answers, bool cut = false) {
  size_t end = 0;
  question_name(q, end);
  Bytes out = q.substr(0, 2) + u16(0x8180 | rcode) + u16(1) + u16(static_cast<int>(answers.size())) + u16(0) + u16(0);
  out += q.substr(12, end - 12);
  for (const auto& a : answers) {
    out += u16(0xc00c) + u16(a.type) + u16(1) + u16(0) + u16(60);
    // cut: a length past the record's end, as a broken or hostile server sends.
    out += u16(static_cast<int>(a.rdata.size()) + (cut ? 40 : 0)) + a.rdata;
  }
  return out;
}

Bytes txt(std::initializer_list<std::string> strings) {
  Bytes out;
  for (const auto& s : strings) out += static_cast<char>(s.size()) + s;
  return out;
}

Bytes answer_for(const Bytes& q) {
  size_t end = 0;
  std::string name = question_name(q, end);
  if (name == "spf.test") return reply(q, 0, {{16, txt({"v=spf1 ", "-all"})}, {16, txt({"second"})}});
  if (name == "nx.test") return reply(q, 3, {});
  if (name == "nodata.test") return reply(q, 0, {});
  if (name == "broken.test") return reply(q, 2, {});
  if (name == "cut.test") return reply(q, 0, {{16, txt({"v=spf1 -all"})}}, true);
  if (name == "mx.test") {
    Bytes bad = Bytes("\x03" "a b", 4) + wire_name("test");
    return reply(q, 0, {{15, u16(10) + wire_name("Mail.Example.TEST")}, {15, u16(20) + bad}});
  }
  if (name == "1.2.0.192.in-addr.arpa") {
    return reply(q, 0, {{12, wire_name("first.example.test")}, {12, wire_name("second.example.test")}});
  }
  return reply(q, 3, {});
}

class FakeDns {
 public:
  FakeDns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string server() const { return "127.0.0.1@" + std::to_string(port_); }

 private:
  void serve() {
    char buf[512];
    while (!stop_) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      Bytes r = answer_for(Bytes(buf, static_cast<size_t>(n)));
      ::sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

using quail::dns::DnsStatus;

TEST_CASE("dns stub: a peer's answers become records, and bad ones a status, never a crash") {
  FakeDns dns;
  auto r = quail::dns::Resolver::create({dns.server()});
  REQUIRE(r.ok());
  std::string why;

  std::vector<std::string> t;
  CHECK(r->txt("spf.test", t, why) == DnsStatus::ok);
  CHECK(t == std::vector<std::string>{"v=spf1 -all", "second"});  // one string per record, joined

  t.clear();
  CHECK(r->txt("nx.test", t, why) == DnsStatus::nxdomain);
  CHECK(r->txt("nodata.test", t, why) == DnsStatus::nodata);
  CHECK(r->txt("broken.test", t, why) == DnsStatus::temporary);
  CHECK(why.find("SERVFAIL") != std::string::npos);
  why.clear();
  CHECK(r->txt("cut.test", t, why) == DnsStatus::temporary);  // a record running past the reply's end
  CHECK(why.find("malformed") != std::string::npos);
  CHECK(t.empty());

  std::vector<quail::MxRecord> mx;
  CHECK(r->mx("mx.test", mx, why) == DnsStatus::ok);
  REQUIRE(mx.size() == 1);  // "a b.test" is no host name: skipped as a malformed record
  CHECK(mx[0].preference == 10);
  CHECK(mx[0].host == "mail.example.test");

  std::vector<std::string> names;
  CHECK(r->ptr("192.0.2.1", names, why) == DnsStatus::ok);
  CHECK(names == std::vector<std::string>{"first.example.test", "second.example.test"});
  CHECK(r->ptr("not an address", names, why) == DnsStatus::nxdomain);
}

TEST_CASE("dns stub: a server that is not an address is a configuration error") {
  CHECK(quail::dns::Resolver::create({"dns.example.test"}).error().kind == quail::ErrorKind::config);
  CHECK(quail::dns::Resolver::create({"127.0.0.1@port"}).error().kind == quail::ErrorKind::config);
  CHECK(quail::dns::Resolver::create({"::1@53"}).ok());
}
