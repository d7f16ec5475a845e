// The spooled message and the filters' changes to it: see milter_message.hpp.
// Header indices follow libmilter: SMFIR_INSHEADER counts every field from 0
// (0: the top, above our Received line), SMFIR_CHGHEADER counts the fields of
// that name from 1; an empty value deletes.
#include "milter_message.hpp"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

#include "address.hpp"
#include "fd.hpp"

namespace quail::smtpd {
namespace {

// The header section is read into memory; past this the rest counts as body
// (DataDecoder keeps lines under 1,000 octets, databytes the whole).
constexpr size_t max_header_section = 8 << 20;
constexpr size_t piece_size = 64 << 10;

bool pread_some(int fd, off_t at, std::string& out, size_t n) {
  out.resize(n);
  for (;;) {
    ssize_t r = ::pread(fd, out.data(), n, at);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    out.resize(static_cast<size_t>(r));
    return true;
  }
}

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// A filter's value as the queue stores it: LF line ends, never a trailing one.
std::string stored_value(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\r' && i + 1 < v.size() && v[i + 1] == '\n') continue;
    out.push_back(v[i]);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// "<a@b>" or "a@b" to the address text the envelope holds; nullopt when invalid.
std::optional<std::string> envelope_address(std::string_view a, bool allow_null) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  if (a.empty()) return allow_null ? std::optional<std::string>("") : std::nullopt;
  auto parsed = parse_address(a);
  if (!parsed) return std::nullopt;
  return parsed->str();
}

}  // namespace

std::string HeaderField::value(bool keep_lead) const {
  size_t colon = raw_.find(':');
  std::string_view v = std::string_view(raw_).substr(colon + 1);
  if (!keep_lead) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  }
  return std::string(v);
}

bool SpooledMessage::parse(int fd) {
  std::string text;
  std::string piece;
  // Only whole lines count: a header section ends at an empty line, at a line
  // that is no field (no colon, or a bad name), or at the end of the spool.
  off_t at = 0;
  size_t line_start = 0;
  for (;;) {
    size_t nl = text.find('\n', line_start);
    if (nl == std::string::npos) {
      if (text.size() > max_header_section) break;
      if (!pread_some(fd, at, piece, piece_size)) return false;
      if (piece.empty()) break;
      at += static_cast<off_t>(piece.size());
      text += piece;
      continue;
    }
    std::string_view line = std::string_view(text).substr(line_start, nl - line_start);
    if (line.empty()) {
      separator_ = true;
      body_ = static_cast<off_t>(nl + 1);
      return true;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !headers_.empty()) {
      headers_.back() = HeaderField(headers_.back().raw() + "\n" + std::string(line));
    } else {
      size_t colon = line.find(':');
      bool field = colon != std::string_view::npos && colon > 0 &&
                   std::all_of(line.begin(), line.begin() + static_cast<long>(colon),
                               [](char c) { return c > 32 && c < 127; });
      if (!field) break;
      headers_.emplace_back(std::string(line));
    }
    line_start = nl + 1;
  }
  body_ = static_cast<off_t>(line_start);
  return true;
}

bool SpooledMessage::read_body(int fd, off_t at, std::string& piece) const { return pread_some(fd, at, piece, piece_size); }

bool SpooledMessage::apply(const milter::Reply& c, bool leadspace, Envelope& env) {
  using milter::ReplyKind;
  auto field = [&] { return c.name + ":" + (leadspace ? "" : " ") + stored_value(c.value); };
  switch (c.kind) {
    case ReplyKind::add_header:
      headers_.emplace_back(field());
      break;
    case ReplyKind::insert_header: {
      size_t at = std::min<size_t>(c.index, headers_.size());
      headers_.insert(headers_.begin() + static_cast<long>(at), HeaderField(field()));
      break;
    }
    case ReplyKind::change_header: {
      uint32_t seen = 0;
      auto it = std::find_if(headers_.begin(), headers_.end(),
                             [&](const HeaderField& h) { return ieq(h.name(), c.name) && ++seen == c.index; });
      if (it == headers_.end()) {
        if (c.value.empty()) return true;  // nothing to delete
        headers_.emplace_back(field());
      } else if (c.value.empty()) {
        headers_.erase(it);
      } else {
        *it = HeaderField(field());
      }
      break;
    }
    case ReplyKind::replace_body:
      if (!new_body_) new_body_.emplace();
      new_body_->append(c.body);
      return true;
    case ReplyKind::change_from: {
      auto a = envelope_address(c.address, true);
      if (!a) return false;
      env.sender = *a;
      return true;
    }
    case ReplyKind::add_rcpt: {
      auto a = envelope_address(c.address, false);
      if (!a) return false;
      auto same = [&](const Recipient& r) { return ieq(r.address, *a); };
      if (std::none_of(env.recipients.begin(), env.recipients.end(), same)) env.recipients.push_back(Recipient{*a, "", ""});
      return true;
    }
    case ReplyKind::delete_rcpt: {
      auto a = envelope_address(c.address, false);
      if (!a) return false;
      std::erase_if(env.recipients, [&](const Recipient& r) { return ieq(r.address, *a); });
      return true;
    }
    default: return false;
  }
  headers_changed_ = true;
  return true;
}

bool SpooledMessage::write(int fd, MessageSink& out) const {
  std::string piece;
  off_t at = 0;
  if (changed()) {
    std::string head;
    for (const auto& h : headers_) head += h.raw() + "\n";
    bool body_follows = separator_ || new_body_;
    if (body_follows) head += "\n";
    if (!out.write(head)) return false;
    if (new_body_) return out.write(stored_value(*new_body_) + (new_body_->empty() ? "" : "\n"));
    at = body_;
  }
  for (;;) {
    if (!pread_some(fd, at, piece, piece_size)) return false;
    if (piece.empty()) return true;
    at += static_cast<off_t>(piece.size());
    if (!out.write(piece)) return false;
  }
}

}  // namespace quail::smtpd
