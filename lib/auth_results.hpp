// The Authentication-Results header field (RFC 8601) quail adds to inbound mail,
// Received-SPF (RFC 7208 9.1), and finding the fields a sender forged under our
// authserv-id (RFC 8601 5), which are removed before ours is added.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dmarc.hpp"
#include "spf.hpp"

namespace quail {

struct AuthSummary {
  std::string authserv_id;
  spf::Code spf = spf::Code::none;
  std::string spf_domain;
  bool spf_helo = false;  // the HELO identity was checked (null sender)
  struct Dkim {
    std::string result;  // "pass", "fail", "neutral", "policy", "temperror", "permerror"
    std::string domain;  // d=
    std::string selector;
  };
  std::vector<Dkim> dkim;  // empty: dkim=none
  dmarc::Verdict dmarc;
};

// The whole field, folded, ending in LF.
std::string authentication_results(const AuthSummary& s);

// Received-SPF for one check, ending in LF.
std::string received_spf(const spf::Verdict& v, std::string_view receiver, std::string_view client_ip,
                         std::string_view sender, std::string_view helo);

// Byte ranges [offset, length) in message's header section of the
// Authentication-Results fields whose authserv-id is ours (case-insensitive) and
// of any X-Quail-Quarantine field: what a receiving MTA must not pass on as its
// own. Empty when the header cannot be parsed (nothing removed, nothing claimed).
std::vector<std::pair<size_t, size_t>> forged_fields(std::string_view message, std::string_view authserv_id);

// An RFC 8601 pvalue: the text as is when it is a token or an address, else quoted.
std::string ar_value(std::string_view v);

}  // namespace quail
