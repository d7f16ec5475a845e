// Receiving one message (DATA or a run of BDAT chunks) and handing it to the
// queue as it arrives: the session's queue-inject (lib/inject_client) takes it
// while the client sends, so nothing is held in memory. A refused message is read
// to its end and never committed: the queue program is told to drop it. Nothing
// is acknowledged before the queue program answered 0 (DESIGN.md, principle 2).
#include <ctime>

#include "date.hpp"
#include "inject_client.hpp"
#include "log.hpp"
#include "session.hpp"

namespace quail::smtpd {
namespace {

// The enhanced code in a queue program's text, "... (#4.3.0)" or "4.3.0 ..." (a
// filter's exit-82 text), when its class is cls; text loses it. Else fallback.
std::string split_dsn(std::string& text, char cls, std::string_view fallback) {
  const int code = cls == '5' ? 500 : 400;
  size_t open = text.rfind("(#");
  if (open != std::string::npos && text.back() == ')') {
    std::string dsn = text.substr(open + 2, text.size() - open - 3);
    if (!dsn.empty() && enhanced_code_of(code, dsn) == dsn) {
      std::string rest = text.substr(0, open);
      while (!rest.empty() && rest.back() == ' ') rest.pop_back();
      text = rest.empty() ? "refused" : rest;
      return dsn;
    }
  }
  if (std::string dsn = enhanced_code_of(code, text); !dsn.empty()) {
    size_t skip = dsn.size();
    while (skip < text.size() && text[skip] == ' ') ++skip;
    text = skip < text.size() ? text.substr(skip) : "refused";
    return dsn;
  }
  return std::string(fallback);
}

// The HELO argument as a Received line shows it: comment and escape characters go.
std::string helo_for_header(const std::string& helo) {
  std::string out = helo;
  for (auto& c : out) {
    if (c == '(' || c == ')' || c == '\\' || c == ';') c = '_';
  }
  return out;
}

std::string ip_literal(const std::string& ip) {
  if (ip == "unknown") return ip;
  return ip.find(':') != std::string::npos ? "[IPv6:" + ip + "]" : "[" + ip + "]";
}

}  // namespace

std::string Session::received_header() const {
  // RFC 5321 4.4; "with" names from the IANA registry (RFC 3848, RFC 6531):
  // S for TLS, A for an authenticated session.
  std::string with = tx_.env.smtputf8 ? "UTF8SMTP" : esmtp_ ? "ESMTP" : "SMTP";
  if (esmtp_ && tls_) with += "S";
  if (esmtp_ && features_.authenticated) with += "A";
  std::string h = "Received: from " + helo_for_header(helo_) + " (" + ip_literal(s_.remote_ip) + ")\n\tby " + s_.me +
                  " (quail smtpd) with " + with;
  if (tls_) h += " (" + tls_->protocol + " " + tls_->cipher + ")";
  if (features_.authenticated) h += "\n\t(authenticated as " + helo_for_header(auth_user_) + ")";
  h += " id " + s_.sid + "." + std::to_string(message_no_);
  // The recipient only when there is one: a list would disclose Bcc recipients.
  if (tx_.env.recipients.size() == 1) h += "\n\tfor <" + tx_.env.recipients.front().address + ">";
  h += "; " + rfc5322_date_utc(std::time(nullptr)) + "\n";
  return h;
}

std::optional<Refusal> Session::refusal(const DataDecoder& dec, uint64_t wire_size) const {
  if (s_.databytes && (wire_size > s_.databytes || dec.size() > s_.databytes)) {
    return Refusal{552, "5.3.4", "message size exceeds fixed maximum message size"};
  }
  if (dec.bare_lf() || dec.bare_cr()) return Refusal{550, "5.6.0", "bare LF/CR not allowed"};
  if (dec.nul()) return Refusal{554, "5.6.0", "NUL octets not allowed"};
  if (dec.long_line()) return Refusal{552, "5.3.4", "message has a line over 1000 octets"};
  if (dec.received() > max_received) return Refusal{554, "5.4.6", "too many Received headers: mail loop?"};
  if (sub_ && !sub_->problem().empty()) return Refusal{550, "5.7.1", sub_->problem()};
  return std::nullopt;
}

void Session::sink_message(MessageSink& queue, std::string_view bytes, bool last) {
  if (!sub_) {
    sink(queue, bytes);
    return;
  }
  std::string out;
  sub_->feed(bytes, out);
  if (last) sub_->finish(out);
  sink(queue, out);
}

bool Session::sink(MessageSink& queue, std::string_view bytes) {
  if (sink_failed_ || bytes.empty()) return !sink_failed_;
  // A queue program that quit early makes this fail (EPIPE); its exit code says why.
  if (!queue.write(bytes)) sink_failed_ = true;
  return !sink_failed_;
}

IoStatus Session::read_chunk(uint64_t n, const std::function<void(std::string_view)>& each) {
  while (n > 0) {
    if (!io_.has_buffered_input()) {
      if (IoStatus st = io_.fill(); st != IoStatus::ok) return st;
    }
    std::string_view b = io_.buffered();
    size_t take = b.size() < n ? b.size() : static_cast<size_t>(n);
    each(b.substr(0, take));
    io_.consume(take);
    n -= take;
  }
  return IoStatus::ok;
}

bool Session::pump_data(MessageSink& queue, DataDecoder& dec) {
  reply(io_, 354, "", "go ahead, end with <CRLF>.<CRLF>");
  sink(queue, received_header());
  std::string out;
  while (!dec.done()) {
    if (!io_.has_buffered_input()) {
      if (IoStatus st = io_.fill(); st != IoStatus::ok) {
        msg_io_ = st;
        return false;
      }
    }
    out.clear();
    io_.consume(dec.feed(io_.buffered(), out));
    // Once refused, the rest is only read, to find the real end of the data.
    if (!refusal(dec, dec.size())) sink_message(queue, out, dec.done());
  }
  return !refusal(dec, dec.size()) && !sink_failed_;
}

bool Session::pump_bdat(MessageSink& queue, DataDecoder& dec, SmtpCommand cur) {
  sink(queue, received_header());
  std::string out;
  for (;;) {
    chunk_total_ += cur.chunk_size;
    chunk_last_ = cur.last;
    IoStatus st = read_chunk(cur.chunk_size, [&](std::string_view piece) {
      out.clear();
      dec.feed(piece, out);
      if (!refusal(dec, chunk_total_)) sink_message(queue, out, false);
    });
    if (st != IoStatus::ok) {
      msg_io_ = st;
      return false;
    }
    if (cur.last) {
      out.clear();
      dec.finish(out);
      if (!refusal(dec, chunk_total_)) sink_message(queue, out, true);
    }
    // Unlike DATA, BDAT can be refused at the chunk that shows the fault.
    if ((early_ = refusal(dec, chunk_total_))) return false;
    if (cur.last) return !sink_failed_;
    reply(io_, 250, "2.0.0", std::to_string(cur.chunk_size) + " octets received");
    if (!next_bdat(cur)) return false;
  }
}

// Between chunks: the next BDAT, or NOOP, RSET or QUIT; anything else is out of sequence.
bool Session::next_bdat(SmtpCommand& cur) {
  std::string line;
  while (!end_) {
    IoStatus st = io_.read_line(line, max_command_line);
    if (st == IoStatus::too_long) {
      error(500, "5.5.2", "line too long");
      continue;
    }
    if (st != IoStatus::ok) {
      msg_io_ = st;
      return false;
    }
    auto c = parse_smtp_command(line);
    if (!c) {
      command_error(line, c.error());
      continue;
    }
    switch (c->verb) {
      case SmtpVerb::bdat: cur = *c; return true;
      case SmtpVerb::noop: reply(io_, 250, "2.0.0", "ok"); break;
      case SmtpVerb::rset: bdat_end_ = BdatEnd::rset; return false;
      case SmtpVerb::quit: bdat_end_ = BdatEnd::quit; return false;
      default: error(503, "5.5.1", "only BDAT, RSET, NOOP or QUIT may follow BDAT"); break;
    }
  }
  return false;
}

void Session::receive_message(const SmtpCommand* first_bdat) {
  ++message_no_;
  msg_io_ = IoStatus::ok;
  sink_failed_ = false;
  early_.reset();
  bdat_end_ = BdatEnd::none;
  chunk_total_ = 0;
  chunk_last_ = false;
  DataDecoder dec(first_bdat ? DataDecoder::Mode::chunked : DataDecoder::Mode::dot);
  sub_.reset();
  if (s_.submission) {
    std::time_t now = std::time(nullptr);
    sub_.emplace([this](const Address& a) { return sender_owned(a); }, rfc5322_date_utc(now),
                 "<" + s_.sid + "." + std::to_string(message_no_) + "." + std::to_string(now) + "@" + s_.me + ">");
  }
  bool pumped = false;
  int code = -1;
  auto outcome = inject_filtered(
      [&](MessageSink& out) {
        pumped = true;
        // Checked mail is spooled, judged at its end, then queued with its verdict.
        MessageSink& to = mailauth_.checking() ? mailauth_.spool() : out;
        bool ok = first_bdat ? pump_bdat(to, dec, *first_bdat) : pump_data(to, dec);
        return mailauth_.checking() ? mailauth_.deliver(ok, out, early_) : ok;
      },
      &code);
  if (!pumped && first_bdat) {
    // The queue program never started, but the chunk follows its command anyway.
    chunk_last_ = first_bdat->last;
    if (IoStatus st = read_chunk(first_bdat->chunk_size, [](std::string_view) {}); st != IoStatus::ok) msg_io_ = st;
  }
  finish_message(outcome, code == 0 && !sink_failed_, dec, first_bdat != nullptr);
  reset();
}

void Session::finish_message(const Result<qq::Outcome>& outcome, bool queued, const DataDecoder& dec,
                             bool chunked) {
  uint64_t size = dec.size();
  if (end_) return log_message(false, size, "session ended");  // maxerrors between chunks
  if (msg_io_ != IoStatus::ok) {
    log_message(false, size, msg_io_ == IoStatus::timeout ? "timeout" : "connection lost");
    return end_on(msg_io_);
  }
  if (bdat_end_ == BdatEnd::rset) {
    log_message(false, size, "RSET during BDAT");
    return reply(io_, 250, "2.0.0", "ok");
  }
  if (bdat_end_ == BdatEnd::quit) {
    log_message(false, size, "QUIT during BDAT");
    reply(io_, 221, "2.0.0", s_.me + " closing connection");
    end_ = EndReason::quit;
    return;
  }
  std::optional<Refusal> r = early_ ? early_ : refusal(dec, chunked ? chunk_total_ : dec.size());
  if (!r && !outcome) {
    log_error({{"sid", s_.sid}, {"event", "queue"}, {"reason", outcome.error().reason}});
    r = Refusal{451, "4.3.0", "unable to queue the message"};
  }
  if (!r && !queued) {
    std::string text = outcome->text;
    bool perm = outcome->permanent;
    std::string enhanced = split_dsn(text, perm ? '5' : '4', perm ? "5.3.0" : "4.3.0");
    std::string line = std::to_string(perm ? 554 : 451) + " " + enhanced + " " + text;
    log_message(false, size, line);
    ++rejected_;
    return reply(io_, perm ? 554 : 451, enhanced, text);
  }
  if (r) {
    // Chunks the client pipelined after the refused one are not its errors.
    if (chunked && !chunk_last_) bdat_aborted_ = true;
    log_message(false, size, std::to_string(r->code) + " " + std::string(r->enhanced) + " " + r->text);
    ++rejected_;
    return reply(io_, r->code, r->enhanced, r->text);
  }
  ++accepted_;
  // queue-inject reports the queue id; the 250 line and the log carry it so one
  // grep for msg=<id> joins this session to the message's delivery.
  std::string id = outcome->id.empty() ? s_.sid + "." + std::to_string(message_no_) : outcome->id;
  if (!outcome->id.empty()) {
    log_info({{"sid", s_.sid}, {"msg", outcome->id}, {"event", "accepted"}, {"n", message_no_},
              {"from", "<" + tx_.env.sender + ">"}, {"rcpts", tx_.env.recipients.size()}, {"size", size},
              {"result", "250 2.0.0 ok " + id}});
  } else {
    log_message(true, size, "250 2.0.0 ok " + id);
  }
  reply(io_, 250, "2.0.0", "ok " + id);
}

void Session::log_message(bool ok, uint64_t size, std::string_view result) {
  log_info({{"sid", s_.sid}, {"event", ok ? "accepted" : "rejected"}, {"n", message_no_},
            {"from", "<" + tx_.env.sender + ">"}, {"rcpts", tx_.env.recipients.size()}, {"size", size},
            {"result", result}});
}

}  // namespace quail::smtpd
