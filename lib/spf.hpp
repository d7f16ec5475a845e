// SPF evaluation, RFC 7208's check_host() (4, 5, 6): every mechanism and modifier,
// macros, the limit of 10 DNS-querying terms (4.6.4), of 2 void lookups, of 10 MX
// and PTR names per term. The DNS is behind an interface, so the evaluator runs
// against libunbound in the checking program and against a table in the tests.
// Trusts nothing in the records or the answers.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "spf_macro.hpp"

namespace quail::spf {

enum class Code { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view code_name(Code c);  // "pass", "fail", ... as RFC 7208 2.6 spells them

// What the evaluator needs from the DNS. A lookup answers ok (out filled),
// nodata, nxdomain or temporary (a timeout, SERVFAIL).
enum class Answer { ok, nodata, nxdomain, temporary };
class Dns {
 public:
  virtual ~Dns() = default;
  virtual Answer txt(const std::string& name, std::vector<std::string>& out) = 0;
  // A records (v6 false) or AAAA records of name, as text.
  virtual Answer addresses(const std::string& name, bool v6, std::vector<std::string>& out) = 0;
  // The MX hosts of name, in any order.
  virtual Answer mx(const std::string& name, std::vector<std::string>& out) = 0;
  // The PTR names of ip.
  virtual Answer ptr(const IpAddress& ip, std::vector<std::string>& out) = 0;
};

struct Request {
  IpAddress ip;
  std::string sender;  // the MAIL FROM address; "" for the null sender
  std::string helo;    // the HELO/EHLO argument
  std::string receiver;  // our host name, for %{r} in explanations
  int64_t now = 0;       // for %{t}
};

struct Verdict {
  Code code = Code::none;
  std::string domain;       // the identity checked: the sender's domain, or the HELO name
  std::string mechanism;    // the matching mechanism as written ("" for the default or none)
  std::string explanation;  // for fail, from exp= when published (else empty)
  std::string problem;      // for temperror/permerror: what went wrong
  int lookups = 0;          // DNS-querying terms used
};

// check_host() for the MAIL FROM identity, or for HELO when the sender is null
// (RFC 7208 2.4: postmaster@helo). A domain that is not a multi-label name gives
// none (4.3).
Verdict check(const Request& r, Dns& dns);

}  // namespace quail::spf
