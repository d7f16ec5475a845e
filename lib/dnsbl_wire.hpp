// What smtpd and the resident dnsbl (dnsbl -d) say to each other over
// ROOT/run/dnsbl.sock: a hello naming the client, with smtpd's stderr attached
// (the helper's log lines land in smtp.log), and one verdict line back. Each
// side trusts the other only as far as these parsers accept.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace quail {

std::string dnsbl_socket_path(const std::string& root);

// "L" and the client's address (hex digits, dots and colons only), LF.
std::string dnsbl_hello(std::string_view ip);
inline constexpr size_t max_dnsbl_hello = 64;
// The address of a well-formed hello (not necessarily one inet_pton takes:
// the lookup refuses what is no address, as for TCPREMOTEIP).
std::optional<std::string> parse_dnsbl_hello(std::string_view hello);

// The verdict: nothing to act on, an allowlisting zone, a blocklist's text
// for smtpd to refuse recipients with, or a text to refuse the connection with
// (control/dnsblrcpt 0).
enum class DnsblAction { pass, allow, block, refuse };
struct DnsblVerdict {
  DnsblAction action = DnsblAction::pass;
  std::string text;  // the zone (allow) or the reply text (block, refuse): printable ASCII
};

// "P", "W"+zone, "B"+text or "R"+text, then LF; a text is cut to 400 characters
// of printable ASCII first (it may come from a TXT record).
std::string format_dnsbl_verdict(const DnsblVerdict& v);
inline constexpr size_t max_dnsbl_verdict = 403;
// A line without its LF.
std::optional<DnsblVerdict> parse_dnsbl_verdict(std::string_view line);

// text with anything but printable ASCII replaced by '?', at most 400 characters.
std::string dnsbl_safe_text(std::string_view text);

}  // namespace quail
