// The milter wire format: see milter_wire.hpp. Every length is checked before
// it is used; a reply with trailing or missing bytes is malformed, not guessed at.
#include "milter_wire.hpp"

#include <arpa/inet.h>

#include "smtp_command.hpp"

namespace quail::milter {
namespace {

void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t get32(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

Error bad(const std::string& what) { return Error{ErrorKind::format, "malformed milter reply: " + what}; }

// Splits data into exactly n NUL-terminated strings; nullopt otherwise.
std::optional<std::vector<std::string>> strings(std::string_view data, size_t min, size_t max) {
  std::vector<std::string> out;
  while (!data.empty()) {
    size_t nul = data.find('\0');
    if (nul == std::string_view::npos || out.size() == max) return std::nullopt;
    out.emplace_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  if (out.size() < min) return std::nullopt;
  return out;
}

// RFC 5322 2.2: printable US-ASCII but ':'.
bool field_name(std::string_view n) {
  if (n.empty() || n.size() > 998) return false;
  for (unsigned char c : n) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

// A header value: folding allowed (CR/LF only before a space or tab), no other
// control characters but tab.
bool field_value(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\r' || c == '\n') {
      size_t j = i;
      if (c == '\r' && j + 1 < v.size() && v[j + 1] == '\n') ++j;
      if (j + 1 >= v.size() || (v[j + 1] != ' ' && v[j + 1] != '\t')) return false;
      i = j;
    } else if ((c < 32 && c != '\t') || c == 127) {
      return false;
    }
  }
  return true;
}

// An envelope address as a filter writes it: <addr> or addr, no controls or spaces.
bool address_text(std::string_view a) {
  if (a.empty() || a.size() > 1000) return false;
  for (unsigned char c : a) {
    if (c <= 32 || c == 127) return false;
  }
  return true;
}

bool header_reply(const Packet& p, bool indexed, Reply& r) {
  std::string_view d = p.data;
  if (indexed) {
    if (d.size() < 4) return false;
    r.index = get32(d);
    d.remove_prefix(4);
  }
  auto s = strings(d, 2, 2);
  if (!s || !field_name((*s)[0]) || !field_value((*s)[1])) return false;
  r.name = (*s)[0];
  r.value = (*s)[1];
  return true;
}

}  // namespace

std::string encode(char code, std::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  put32(out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(code);
  out.append(data);
  return out;
}

std::string encode_optneg(uint32_t actions, uint32_t protocol) {
  std::string d;
  put32(d, version);
  put32(d, actions);
  put32(d, protocol);
  return encode(cmd::optneg, d);
}

std::string encode_connect(std::string_view host, std::string_view ip, uint16_t port) {
  std::string d(host);
  d.push_back('\0');
  unsigned char buf[16];
  char family = ::inet_pton(AF_INET, std::string(ip).c_str(), buf) == 1    ? '4'
                : ::inet_pton(AF_INET6, std::string(ip).c_str(), buf) == 1 ? '6'
                                                                           : 'U';
  d.push_back(family);
  if (family != 'U') {
    d.push_back(static_cast<char>(port >> 8));
    d.push_back(static_cast<char>(port));
    d.append(ip);
    d.push_back('\0');
  }
  return encode(cmd::connect, d);
}

std::string encode_macros(char for_cmd, const std::vector<std::pair<std::string, std::string>>& macros) {
  std::string d(1, for_cmd);
  for (const auto& [name, value] : macros) {
    d.append(name).push_back('\0');
    d.append(value).push_back('\0');
  }
  return encode(cmd::macro, d);
}

std::string encode_strings(char code, const std::vector<std::string_view>& list) {
  std::string d;
  for (auto s : list) d.append(s).push_back('\0');
  return encode(code, d);
}

Result<std::optional<Packet>> PacketReader::next() {
  if (buf_.size() - pos_ < 4) return std::optional<Packet>();
  uint32_t len = get32(std::string_view(buf_).substr(pos_));
  if (len == 0 || len > max_packet) return bad("packet length " + std::to_string(len));
  if (buf_.size() - pos_ - 4 < len) return std::optional<Packet>();
  Packet p{buf_[pos_ + 4], buf_.substr(pos_ + 5, len - 1)};
  pos_ += 4 + len;
  // Compact once the consumed prefix dominates, so a long stream stays bounded.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<Packet>(std::move(p));
}

Result<Negotiated> parse_optneg(std::string_view d) {
  if (d.size() < 12) return bad("short option negotiation");
  Negotiated n{get32(d), get32(d.substr(4)), get32(d.substr(8)), {}};
  if (n.version < 2 || n.version > version) return bad("milter protocol version " + std::to_string(n.version));
  if (n.actions & ~offered_actions) return bad("filter wants actions we do not offer");
  // Steps past the ones we know (SMFIP_MDS_*: larger packets) we did not offer.
  if (n.protocol & ~offered_protocol) return bad("filter wants protocol steps we do not offer");
  d.remove_prefix(12);
  while (!d.empty()) {
    if (d.size() < 5) return bad("short macro list");
    uint32_t where = get32(d);
    d.remove_prefix(4);
    size_t nul = d.find('\0');
    if (nul == std::string_view::npos || n.symlists.size() >= 16) return bad("macro list");
    n.symlists.emplace_back(where, std::string(d.substr(0, nul)));
    d.remove_prefix(nul + 1);
  }
  return n;
}

std::optional<Reply> parse_replycode(std::string_view text) {
  Reply r;
  r.kind = ReplyKind::replycode;
  std::string joined;
  while (!text.empty()) {
    size_t eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 2);
    if (line.size() < 4 || line.size() > 512) return std::nullopt;
    if ((line[0] != '4' && line[0] != '5') || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9') {
      return std::nullopt;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    bool more = line[3] == '-';
    if (line[3] != ' ' && !more) return std::nullopt;
    if (more == text.empty()) return std::nullopt;  // '-' on every line but the last
    if (r.code && code != r.code) return std::nullopt;
    r.code = code;
    std::string_view rest = line.substr(4);
    for (unsigned char c : rest) {
      if (c < 32 || c == 127) return std::nullopt;
    }
    std::string enh = enhanced_code_of(code, rest);
    if (!enh.empty()) {
      if (r.enhanced.empty()) r.enhanced = enh;
      rest.remove_prefix(enh.size());
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    }
    if (!joined.empty() && !rest.empty()) joined += ' ';
    joined.append(rest);
  }
  if (!r.code) return std::nullopt;
  r.text = joined.empty() ? "refused by a content filter" : joined.substr(0, 400);
  return r;
}

Result<Reply> parse_reply(const Packet& p) {
  Reply r;
  auto no_data = [&](ReplyKind k) -> Result<Reply> {
    if (!p.data.empty()) return bad(std::string("data after '") + p.code + "'");
    r.kind = k;
    return r;
  };
  switch (p.code) {
    case 'a': return no_data(ReplyKind::accept);
    case 'c': return no_data(ReplyKind::continue_);
    case 'r': return no_data(ReplyKind::reject);
    case 't': return no_data(ReplyKind::tempfail);
    case 'd': return no_data(ReplyKind::discard);
    case 's': return no_data(ReplyKind::skip);
    case 'p': return no_data(ReplyKind::progress);
    case 'f': return no_data(ReplyKind::conn_fail);
    case '4': return no_data(ReplyKind::shutdown);
    case 'y': {
      auto s = strings(p.data, 1, 1);
      if (!s) return bad("replycode");
      auto rc = parse_replycode((*s)[0]);
      if (!rc) return bad("replycode text");
      return *rc;
    }
    case 'h':
      r.kind = ReplyKind::add_header;
      if (!header_reply(p, false, r)) return bad("add header");
      return r;
    case 'i':
      r.kind = ReplyKind::insert_header;
      if (!header_reply(p, true, r)) return bad("insert header");
      return r;
    case 'm':
      r.kind = ReplyKind::change_header;
      if (!header_reply(p, true, r)) return bad("change header");
      return r;
    case 'b':
      if (p.data.empty()) return bad("empty body chunk");
      r.kind = ReplyKind::replace_body;
      r.body = p.data;
      return r;
    case '+':
    case '-':
    case '2':
    case 'e': {
      auto s = strings(p.data, 1, p.code == '2' || p.code == 'e' ? 2 : 1);
      if (!s || !address_text((*s)[0])) return bad("address");
      r.kind = p.code == '+' || p.code == '2' ? ReplyKind::add_rcpt
               : p.code == '-'                ? ReplyKind::delete_rcpt
                                              : ReplyKind::change_from;
      r.address = (*s)[0];
      if (s->size() == 2) r.args = (*s)[1];
      for (unsigned char c : r.args) {
        if (c < 32 || c == 127) return bad("address arguments");
      }
      return r;
    }
    case 'q': {
      auto s = strings(p.data, 1, 1);
      if (!s) return bad("quarantine");
      r.kind = ReplyKind::quarantine;
      r.text = (*s)[0].substr(0, 200);
      for (unsigned char c : r.text) {
        if (c < 32 || c == 127) return bad("quarantine reason");
      }
      return r;
    }
    default: return bad("unknown reply code " + std::to_string(static_cast<unsigned char>(p.code)));
  }
}

}  // namespace quail::milter
