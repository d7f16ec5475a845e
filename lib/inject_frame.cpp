// queue-inject's session framing: see inject_frame.hpp and man/queue-inject.8.
// Strict on purpose: a header is one letter, then for D and E a decimal length
// without leading zeros inside the frame's limit, then LF; anything else ends the session.
#include "inject_frame.hpp"

#include "decimal.hpp"

namespace quail::frame {
namespace {

// Decimal without sign, leading zero or overflow, 1..limit; false otherwise.
bool parse_length(std::string_view s, size_t limit, uint64_t& out) {
  auto v = parse_decimal(s, limit);
  if (!v || *v == 0) return false;
  out = *v;
  return true;
}

}  // namespace

std::string data_header(size_t n) { return "D" + std::to_string(n) + "\n"; }
std::string end_header(size_t n) { return "E" + std::to_string(n) + "\n"; }

Status Parser::fail(std::string reason) {
  state_ = State::failed;
  failure_ = std::move(reason);
  return Error{ErrorKind::format, failure_};
}

// header_ holds one whole header line, its LF included.
Status Parser::parse_header(Event& ev) {
  std::string_view h(header_);
  h.remove_suffix(1);
  const char type = h.empty() ? '\0' : h[0];
  std::string_view len = h.empty() ? h : h.substr(1);
  if (type == 'A' && len.empty()) {
    header_.clear();
    in_message_ = false;
    ev.kind = Event::Kind::aborted;
    return {};
  }
  if (type == 'D' || type == 'E') {
    if (!parse_length(len, type == 'D' ? max_chunk : max_envelope, left_)) {
      return fail("malformed frame length");
    }
    header_.clear();
    in_message_ = true;
    if (type == 'D') {
      state_ = State::data;
    } else {
      state_ = State::envelope;
      // A large envelope's buffer is not kept for the rest of the session.
      if (envelope_.capacity() > (1 << 20)) envelope_ = std::string();
      envelope_.clear();
    }
    return {};
  }
  return fail("unknown frame type");
}

Status Parser::next(std::string_view in, size_t& used, Event& ev) {
  used = 0;
  ev = Event{};
  switch (state_) {
    case State::failed: return Error{ErrorKind::format, failure_};
    case State::header:
      while (used < in.size()) {
        char c = in[used++];
        header_ += c;
        if (c == '\n') return parse_header(ev);
        if (header_.size() >= max_header) return fail("frame header too long");
      }
      return {};
    case State::data: {
      size_t take = in.size() < left_ ? in.size() : static_cast<size_t>(left_);
      if (take == 0) return {};
      used = take;
      left_ -= take;
      ev.kind = Event::Kind::data;
      ev.bytes = in.substr(0, take);
      if (left_ == 0) state_ = State::header;
      return {};
    }
    case State::envelope: {
      size_t take = in.size() < left_ ? in.size() : static_cast<size_t>(left_);
      used = take;
      left_ -= take;
      envelope_.append(in.substr(0, take));
      if (left_ == 0) {
        state_ = State::header;
        in_message_ = false;
        ev.kind = Event::Kind::end;
        ev.bytes = envelope_;
      }
      return {};
    }
  }
  return {};
}

std::string format_answer(int code, std::string_view text) {
  std::string out = std::to_string(code) + " ";
  for (char c : text) {
    if (out.size() + 1 >= max_answer) break;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  out += '\n';
  return out;
}

Result<Answer> parse_answer(std::string_view line) {
  Error bad{ErrorKind::format, "malformed answer from the queue program"};
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp > 3 || line.size() >= max_answer) return bad;
  auto code = parse_decimal(line.substr(0, sp), 255);
  if (!code) return bad;
  std::string_view text = line.substr(sp + 1);
  for (char c : text) {
    if (c < 0x20 || c >= 0x7f) return bad;
  }
  return Answer{static_cast<int>(*code), std::string(text)};
}

}  // namespace quail::frame
