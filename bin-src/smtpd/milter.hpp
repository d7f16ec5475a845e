// smtpd's milter client (man/smtpd.8, MILTER): the filters of control/milters,
// consulted in order at each SMTP stage and at the end of each message, before
// smtpd answers. A filter that is down, breaks the protocol or is too slow gets
// its default action (tempfail or accept). Trusts no byte a filter sends.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envelope.hpp"
#include "fd.hpp"
#include "milter_config.hpp"
#include "milter_wire.hpp"
#include "smtp_command.hpp"

namespace quail::smtpd {

// What the client is told when a filter refuses (code 4xx/5xx).
struct MilterRefusal {
  int code = 451;
  std::string enhanced = "4.7.1";
  std::string text;
};

// The connection facts a filter is told (SMFIC_CONNECT and its macros).
struct MilterPeer {
  std::string me, sid, ip, port;
  std::string queue_ref;  // macro i: "<sid>.<n>" of the current message
  std::string auth_user;  // macro {auth_authen}, set at MAIL
};

// One filter's connection: milter_client.cpp. Every wait is bounded by the
// filter's timeout; any failure marks it failed() and it is not used again.
class MilterClient {
 public:
  explicit MilterClient(const milter::FilterSpec& spec) : spec_(spec) {}
  const milter::FilterSpec& spec() const { return spec_; }
  // Connects and negotiates (SMFIC_OPTNEG). False (and failed()) on trouble.
  bool open();
  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }
  bool wants(uint32_t no_flag) const { return !(neg_.protocol & no_flag); }
  bool replies(uint32_t nr_flag) const { return !(neg_.protocol & nr_flag); }
  bool allowed(uint32_t action) const { return neg_.actions & action; }
  // Sends packet bytes; false on failure.
  bool send(const std::string& bytes);
  // Sends and, unless nr_flag was negotiated, reads the one reply (progress
  // skipped). nullopt on failure; continue_ when no reply is expected.
  std::optional<milter::Reply> ask(const std::string& bytes, uint32_t nr_flag = 0);
  // The next reply (modifications until a final one, at end of message).
  std::optional<milter::Reply> read_reply();
  // SMFIC_QUIT and close; quietly.
  void quit();
  // Marks it failed with a reason (also used for unexpected replies).
  void fail(std::string why);

 private:
  milter::FilterSpec spec_;
  Fd fd_;
  milter::PacketReader reader_;
  milter::Negotiated neg_;
  bool failed_ = false;
  std::string failure_;
};

// Every filter for one SMTP session: milter.cpp. Each stage returns the refusal
// the client gets, or nullopt to go on.
class MilterSession {
 public:
  MilterSession(const milter::Config& config, MilterPeer peer);
  ~MilterSession();
  std::optional<MilterRefusal> helo(const std::string& helo);
  std::optional<MilterRefusal> mail(const std::string& sender, const std::vector<std::string>& args,
                                    const std::string& queue_ref, const std::string& auth_user);
  std::optional<MilterRefusal> rcpt(const std::string& recipient, const std::vector<std::string>& args);
  // RSET, a new HELO, a message refused or done: filters forget the message.
  void abort();

  // The end of one message: milter_message.cpp. spool holds the message as the
  // queue would get it (LF line ends). Sends DATA, the headers, the body and
  // end-of-message to every filter and collects their verdicts and changes.
  struct Verdict {
    std::optional<MilterRefusal> refusal;
    bool discard = false;
    std::string discarded_by;
    std::optional<std::string> quarantine;  // the reason
    std::vector<std::pair<const milter::FilterSpec*, milter::Reply>> changes;  // in order
    std::vector<bool> leadspace;  // per change: the filter's values keep their leading space
  };
  Verdict end_of_message(int spool_fd);

 private:
  friend class MilterMessage;
  // The filters still in use for this message.
  std::vector<MilterClient*> active();
  // A filter failed: its default applies. Returns the refusal for tempfail.
  std::optional<MilterRefusal> fallback(MilterClient& c, std::string_view stage);
  // Applies a stage's reply; nullopt to go on.
  std::optional<MilterRefusal> verdict(MilterClient& c, const std::optional<milter::Reply>& r, std::string_view stage);
  bool connect_all();
  void log(const MilterClient& c, std::string_view stage, std::string_view result, std::string_view extra = {});

  milter::Config config_;
  MilterPeer peer_;
  std::vector<std::unique_ptr<MilterClient>> clients_;
  std::vector<bool> accepted_msg_;   // per filter: 'a' for this message, no more to ask
  std::vector<bool> accepted_conn_;  // per filter: 'a' at connect/HELO
  bool connected_ = false;
  std::optional<MilterRefusal> session_refusal_;  // a refusal at connect: every MAIL gets it
  bool in_message_ = false;
  bool discard_ = false;
  std::string discarded_by_;
};

}  // namespace quail::smtpd
