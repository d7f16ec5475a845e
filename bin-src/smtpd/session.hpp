// One SMTP session from greeting to QUIT: RFC 5321's command order (4.1.4),
// RFC 2920 pipelining (replies flushed only before a read would block), RFC 3030
// chunking, RFC 3461 DSN parameters, RFC 6531 SMTPUTF8. Trusts nothing the
// client sends; every refusal is logged with the session id.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "abuse.hpp"
#include "data_decoder.hpp"
#include "envelope.hpp"
#include "inject_client.hpp"
#include "line_io.hpp"
#include "mailauth.hpp"
#include "milter.hpp"
#include "queue_exit.hpp"
#include "replies.hpp"
#include "settings.hpp"
#include "smtp_command.hpp"
#include "submission.hpp"

namespace quail::smtpd {

// RFC 5321 4.5.3.1.4 allows 512 octets; ESMTP parameters (RFC 1869, 3461) need more.
inline constexpr size_t max_command_line = 1000;
// More Received fields than this and the message is looping (RFC 5321 6.3).
inline constexpr unsigned max_received = 100;

enum class EndReason { quit, eof, timeout, errors, io_error, forbidden, tls, auth, limit };
std::string_view end_reason_name(EndReason r);

struct Refusal {
  int code;
  std::string_view enhanced;
  std::string text;
};

class Session {
 public:
  // The queue-inject session starts at the first message, never for an idle client.
  Session(const Settings& s, LineIo& io) : s_(s), io_(io), inject_(s.root, s.control), mailauth_(s) {
    if (s.implicit_tls) {
      tls_ = s.implicit_tls;
      features_.tls = true;
    }
  }
  // Greets the client and serves commands until the session ends.
  EndReason run();

  unsigned accepted() const { return accepted_; }
  unsigned rejected() const { return rejected_; }
  unsigned errors() const { return errors_; }
  unsigned rcpts_refused() const { return rcpts_refused_; }
  // After run(): waits for the session's tlsd, if STARTTLS started one.
  void finish() {
    if (tls_) finish_tls(*tls_, s_.timeout_ms);
  }

 private:
  struct Transaction {
    bool active = false;  // MAIL accepted
    Envelope env;
    unsigned rcpt_commands = 0;
  };
  enum class BdatEnd { none, rset, quit };

  // session.cpp: commands
  void dispatch(const SmtpCommand& c);
  void on_hello(const SmtpCommand& c);
  void on_mail(const SmtpCommand& c);
  void on_rcpt(const SmtpCommand& c);
  void on_data();
  void on_bdat(const SmtpCommand& c);
  void command_error(std::string_view line, const Error& e);
  // Replies with an error and counts it; past maxerrors, 421 and the end instead.
  void error(int code, std::string_view enhanced, std::string_view text);
  void end_on(IoStatus st);
  void reset() {
    tx_ = Transaction();
    if (milter_) milter_->abort();
  }
  bool relay_allowed() const { return s_.relayclient || features_.authenticated; }

  // guard.cpp: the busy timeout, junk commands and the session's lifetime.
  SessionGuard make_guard() const;
  // Before reading a command: false (421 said) once the lifetime is over.
  bool guard_wait();
  // After a read timed out: true (421 said) when it was the lifetime that ended.
  bool guard_ended();
  // After a command is parsed: false (421 said) when it is one junk command too many.
  bool guard_command(const SmtpCommand& c);

  // starttls.cpp: RFC 3207 through the tlsd helper
  void on_starttls();
  // auth.cpp: RFC 4954 AUTH PLAIN and LOGIN, verified by checkpassword
  bool auth_offered() const;
  void on_auth(const SmtpCommand& c);
  // The next AUTH continuation line, or nullopt when the session ended or the
  // client cancelled ("*": answered here).
  std::optional<std::string> auth_line();
  void auth_failed(std::string_view mech, std::string_view why);
  // submission.cpp: RFC 6409 sender rules
  bool sender_owned(const Address& a) const;

  // message.cpp: receiving a message and handing it to the queue
  void receive_message(const SmtpCommand* first_bdat);
  bool pump_data(MessageSink& queue, DataDecoder& dec);
  bool pump_bdat(MessageSink& queue, DataDecoder& dec, SmtpCommand cur);
  bool next_bdat(SmtpCommand& cur);
  IoStatus read_chunk(uint64_t n, const std::function<void(std::string_view)>& each);
  bool sink(MessageSink& queue, std::string_view bytes);
  // sink() through the submission header check when on the submission service;
  // last: the message's final bytes.
  void sink_message(MessageSink& queue, std::string_view bytes, bool last);
  std::optional<Refusal> refusal(const DataDecoder& dec, uint64_t wire_size) const;
  std::string received_header() const;
  // queued: the queue program exited 0 with the whole message.
  void finish_message(const Result<qq::Outcome>& outcome, bool queued, const DataDecoder& dec, bool chunked);
  void log_message(bool ok, uint64_t size, std::string_view result);

  // milter_hooks.cpp: the content filters of control/milters; each refusal is
  // answered there. nullptr / false / inject_.inject when none is configured.
  MilterSession* milters();
  bool milter_refused(const std::optional<MilterRefusal>& r);
  bool milter_refused_helo(const std::string& helo);
  bool milter_refused_mail(const SmtpCommand& c, const Envelope& env);
  bool milter_refused_rcpt(const SmtpCommand& c, const Address& a);
  Result<qq::Outcome> inject_filtered(const std::function<bool(MessageSink&)>& pump, int* code);

  const Settings& s_;
  LineIo& io_;
  // One queue-inject -s for every message of this SMTP session; ends with us.
  InjectSession inject_;
  MailAuth mailauth_;  // SPF/DMARC for clients without relay rights (mailauth.cpp)
  SessionFeatures features_;
  std::string helo_;  // empty until HELO/EHLO
  bool esmtp_ = false;
  Transaction tx_;
  std::optional<TlsInfo> tls_;  // set once the session is encrypted
  std::string auth_user_;       // the login, once AUTH succeeded
  unsigned auth_failures_ = 0;
  std::optional<EndReason> end_;
  unsigned errors_ = 0;
  unsigned accepted_ = 0;
  unsigned rejected_ = 0;
  unsigned rcpts_refused_ = 0;
  unsigned message_no_ = 0;
  bool bdat_aborted_ = false;  // a BDAT transaction failed: its stragglers are not errors
  // Set while a message is being received (message.cpp).
  IoStatus msg_io_ = IoStatus::ok;
  bool sink_failed_ = false;
  std::optional<Refusal> early_;
  BdatEnd bdat_end_ = BdatEnd::none;
  uint64_t chunk_total_ = 0;
  bool chunk_last_ = false;
  std::optional<SubmissionHeaders> sub_;  // the submission service's header check
  Abuse abuse_{s_};  // rate limits, greylisting, DNSBL verdict, tarpit (abuse.cpp)
  std::unique_ptr<MilterSession> milter_;  // opened at the first HELO, when configured
  std::string milter_dsn_;                 // early_'s enhanced code after a filter's refusal
  SessionGuard guard_ = make_guard();      // guard.cpp
  unsigned messages_seen_ = 0;             // accepted_ + rejected_ when guard_ last looked
};

}  // namespace quail::smtpd
