// The DATA/BDAT decoder: see data_decoder.hpp. One state machine, one octet at a
// time, so the result never depends on how the input was split into reads.
#include "data_decoder.hpp"

namespace quail::smtpd {
namespace {
constexpr std::string_view received_field = "received:";
}  // namespace

void DataDecoder::text(char c, std::string& out) {
  if (c == '\0') nul_ = true;
  out += c;
  ++size_;
  if (++line_len_ > max_text_line) long_line_ = true;
  if (in_header_ && line_len_ <= head_.size()) {
    head_[line_len_ - 1] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
}

// A line ends: CRLF (crlf) or a bare LF, which is a fault and never starts a line
// on which a dot could end the data.
void DataDecoder::end_line(std::string& out, bool crlf) {
  out += '\n';
  size_ += crlf ? 2 : 1;
  if (in_header_) {
    if (line_len_ == 0) {
      in_header_ = false;
    } else if (line_len_ >= head_.size() && std::string_view(head_.data(), head_.size()) == received_field) {
      ++received_;
    }
  }
  line_len_ = 0;
  state_ = crlf ? State::bol : State::mid;
}

size_t DataDecoder::feed(std::string_view in, std::string& out) {
  size_t i = 0;
  while (i < in.size() && state_ != State::done) {
    char c = in[i++];
    switch (state_) {
      case State::bol:
        if (mode_ == Mode::dot && c == '.') {
          state_ = State::dot;
          break;
        }
        state_ = State::mid;
        --i;  // an ordinary first octet: read it again as text
        break;
      case State::dot:
        if (c == '\r') {
          state_ = State::dot_cr;
          break;
        }
        // A stuffed dot: dropped; the line goes on with c.
        state_ = State::mid;
        --i;
        break;
      case State::dot_cr:
        if (c == '\n') {
          state_ = State::done;
          break;
        }
        // ".<CR>x": the dot was stuffing, the CR is bare.
        bare_cr_ = true;
        text('\r', out);
        state_ = State::mid;
        --i;
        break;
      case State::mid:
        if (c == '\r') {
          state_ = State::cr;
        } else if (c == '\n') {
          bare_lf_ = true;
          end_line(out, false);
        } else {
          text(c, out);
        }
        break;
      case State::cr:
        if (c == '\n') {
          end_line(out, true);
          break;
        }
        bare_cr_ = true;
        text('\r', out);
        state_ = State::mid;
        --i;
        break;
      case State::done:
        break;
    }
  }
  return i;
}

void DataDecoder::finish(std::string& out) {
  if (state_ == State::cr) {
    bare_cr_ = true;
    text('\r', out);
    state_ = State::mid;
  }
}

}  // namespace quail::smtpd
