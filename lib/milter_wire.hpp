// The milter protocol's wire format, version 6 (Sendmail's libmilter, as Postfix
// speaks it): packets of a 4-byte big-endian length, a command byte and its data.
// Builds the MTA's commands; parses a filter's replies strictly and bounded,
// trusting nothing the filter sends. Spec: man/smtpd.8 (MILTER).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.hpp"

namespace quail::milter {

inline constexpr uint32_t version = 6;
// Body chunks we send, and the largest data a filter may send in one packet
// (MILTER_MAX_DATA_SIZE; we never offer the larger SMFIP_MDS_* sizes).
inline constexpr size_t chunk_size = 65535;
inline constexpr size_t max_packet = 65535 + 1;

// MTA -> filter commands (SMFIC_*).
namespace cmd {
inline constexpr char abort = 'A', body = 'B', connect = 'C', macro = 'D', body_eob = 'E', helo = 'H',
                      header = 'L', mail = 'M', eoh = 'N', optneg = 'O', quit = 'Q', rcpt = 'R', data = 'T',
                      quit_nc = 'K';
}

// Actions a filter may take at end of message (SMFIF_*).
namespace act {
inline constexpr uint32_t add_headers = 0x01, change_body = 0x02, add_rcpt = 0x04, delete_rcpt = 0x08,
                          change_headers = 0x10, quarantine = 0x20, change_from = 0x40, add_rcpt_par = 0x80,
                          set_symlist = 0x100;
}

// Protocol steps a filter may opt out of (SMFIP_*): "no" skips sending the
// command, "nr" skips waiting for a reply to it.
namespace proto {
inline constexpr uint32_t no_connect = 0x01, no_helo = 0x02, no_mail = 0x04, no_rcpt = 0x08, no_body = 0x10,
                          no_headers = 0x20, no_eoh = 0x40, nr_header = 0x80, no_unknown = 0x100,
                          no_data = 0x200, skip = 0x400, rcpt_rejected = 0x800, nr_connect = 0x1000,
                          nr_helo = 0x2000, nr_mail = 0x4000, nr_rcpt = 0x8000, nr_data = 0x10000,
                          nr_unknown = 0x20000, nr_eoh = 0x40000, nr_body = 0x80000, header_leadspace = 0x100000;
}

// What we offer in SMFIC_OPTNEG: every action and step we implement.
inline constexpr uint32_t offered_actions = act::add_headers | act::change_body | act::add_rcpt | act::delete_rcpt |
                                            act::change_headers | act::quarantine | act::change_from |
                                            act::add_rcpt_par | act::set_symlist;
inline constexpr uint32_t offered_protocol =
    proto::no_connect | proto::no_helo | proto::no_mail | proto::no_rcpt | proto::no_body | proto::no_headers |
    proto::no_eoh | proto::nr_header | proto::no_unknown | proto::no_data | proto::skip | proto::nr_connect |
    proto::nr_helo | proto::nr_mail | proto::nr_rcpt | proto::nr_data | proto::nr_unknown | proto::nr_eoh |
    proto::nr_body | proto::header_leadspace;

// One packet: its command (or reply) byte and its data.
struct Packet {
  char code = 0;
  std::string data;
};

// The bytes of one packet.
std::string encode(char code, std::string_view data = {});
// SMFIC_OPTNEG with our version, actions and protocol steps.
std::string encode_optneg(uint32_t actions = offered_actions, uint32_t protocol = offered_protocol);
// SMFIC_CONNECT: host name, then family '4' / '6' with port and address, or 'U'.
std::string encode_connect(std::string_view host, std::string_view ip, uint16_t port);
// SMFIC_MACRO for the command `for_cmd`: name/value pairs ("j", "{daemon_name}").
std::string encode_macros(char for_cmd, const std::vector<std::pair<std::string, std::string>>& macros);
// A command whose data is NUL-terminated strings (HELO, MAIL, RCPT, HEADER).
std::string encode_strings(char code, const std::vector<std::string_view>& strings);

// Reassembles packets from a byte stream. Bounded: a length of 0 or past
// max_packet is a format error and the stream is unusable afterwards.
class PacketReader {
 public:
  // Appends bytes read from the filter.
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole packet, nullopt when more bytes are needed, an error when the
  // stream is malformed.
  Result<std::optional<Packet>> next();
  bool empty() const { return buf_.size() == pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
};

// The filter's answer to SMFIC_OPTNEG.
struct Negotiated {
  uint32_t version = 0;
  uint32_t actions = 0;
  uint32_t protocol = 0;
  // SMFIR_SETSYMLIST in the reply: macro names per protocol stage (unused by us).
  std::vector<std::pair<uint32_t, std::string>> symlists;
};
// format error when short, of another version than 2..6, or asking for actions
// or steps we did not offer.
Result<Negotiated> parse_optneg(std::string_view data);

enum class ReplyKind {
  accept, continue_, reject, tempfail, discard, replycode, skip, progress, conn_fail, shutdown,
  add_header, insert_header, change_header, replace_body, add_rcpt, delete_rcpt, change_from, quarantine,
};

// One reply of a filter, checked. Text fields never hold a NUL; header names are
// RFC 5322 field names; replycode text is one line "4xx/5xx [x.y.z] text".
struct Reply {
  ReplyKind kind = ReplyKind::continue_;
  int code = 0;              // replycode: 4xx or 5xx
  std::string enhanced;      // replycode: "5.7.1" or ""
  std::string text;          // replycode: the text; quarantine: the reason
  uint32_t index = 0;        // insert_header (0: first) / change_header (1: first of that name)
  std::string name;          // header name
  std::string value;         // header value (change_header: "" deletes)
  std::string address;       // add_rcpt / delete_rcpt / change_from
  std::string args;          // ESMTP arguments of add_rcpt (par) / change_from
  std::string body;          // replace_body chunk
  bool modification() const { return kind >= ReplyKind::add_header; }
};
// format error when the code is unknown or its data malformed.
Result<Reply> parse_reply(const Packet& p);

// "550 5.7.1 text" as SMFIR_REPLYCODE carries it (multi-line replies: the last
// line's text). nullopt when not a 4xx/5xx reply.
std::optional<Reply> parse_replycode(std::string_view text);

}  // namespace quail::milter
