// DNS blocklists and allowlists (RFC 5782): the lines of control/dnsbl and
// control/dnswl, and the name a client address is looked up under. Trusts
// tcpserver's TCPREMOTEIP only as far as inet_pton parses it.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

// One list: "zone" (any 127.0.0.0/8 answer lists) or "zone=127.0.0.2" (only that answer).
struct DnsList {
  std::string zone;    // lowercased, no trailing dot
  std::string answer;  // "" or one IPv4 address
};

// Parses one line of control/dnsbl or control/dnswl; format error naming the problem.
Result<DnsList> parse_dns_list(std::string_view line);

// RFC 5782 2.1 and 2.4: the query name for ip under zone ("2.0.0.127.zone"; 32
// nibbles for IPv6). nullopt when ip is not an address.
std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view zone);

// Whether an A record's address lists the client: the configured answer, else any
// address in 127.0.0.0/8 (RFC 5782 2.1; 127.0.0.1 would be an error code, but some
// lists use it, so it counts).
bool dnsbl_answer_lists(const DnsList& l, std::string_view address);

// Whether control/dnsbl or control/dnswl names a zone: then quail up runs the
// resident dnsbl and has smtpd on the smtp listener ask it.
Result<bool> dns_lists_configured(const std::string& root);

}  // namespace quail
