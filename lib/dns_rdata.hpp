// The record data of DNS answers as libunbound hands them over (uncompressed wire
// format, RFC 1035 3.3): MX (RFC 7505's null MX included), A, AAAA and TXT. Trusts
// nothing: any DNS server may answer (tests/fuzz/dns_rdata_fuzz.cpp).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace quail {

struct MxRecord {
  int preference = 0;
  std::string host;  // lowercase, without the final dot; "" for the root (null MX)
};

// A wire-format name from pos to the end of data, lowercased, labels joined by
// '.'; the root is "". nullopt when malformed, when a label holds a byte that
// is not a letter, digit, '-' or '_' (a name goes into logs and SNI), or when
// bytes follow the name.
std::optional<std::string> decode_dns_name(std::string_view data, size_t pos = 0);

// A name in presentation form (as a stub resolver's parser gives it: labels
// joined by '.', a final dot allowed) checked and written as decode_dns_name
// writes one; nullopt for an empty label, a label over 63 bytes, a name over
// 253, or a byte decode_dns_name refuses (an escape such as "\\032" included).
std::optional<std::string> checked_dns_name(std::string_view text);
// The name PTR records of an address are published under: d.c.b.a.in-addr.arpa,
// or the 32 nibbles under ip6.arpa (RFC 1035 3.5, RFC 3596 2.5); nullopt when ip
// is not an address.
std::optional<std::string> reverse_dns_name(const std::string& ip);

std::optional<MxRecord> parse_mx_rdata(std::string_view rdata);
// An A (4 bytes) or AAAA (16 bytes) record's address as text; nullopt for any other size.
std::optional<std::string> parse_address_rdata(std::string_view rdata);
// A TXT record's character-strings (each a length byte and that many bytes),
// joined with nothing between them as SPF and DKIM read them; nullopt when a
// length runs past the end. An empty record is "".
std::optional<std::string> parse_txt_rdata(std::string_view rdata);

}  // namespace quail
