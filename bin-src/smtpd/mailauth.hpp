// smtpd's side of the mail-authentication checks (SPF, DMARC; man/mailauth.8):
// for a client without relay rights, the first MAIL FROM connects to the
// resident helper (mailauth -d), which forks one for the session, or else
// starts the session's mailauth over a socketpair (lib/mailauth_wire), so smtpd itself never
// loads libunbound and a session that sends no mail pays nothing. The message is
// spooled to memory while it arrives, judged at its end, and handed to the queue
// with the Authentication-Results field on top and forged ones removed. A helper
// that fails or times out leaves the mail unchecked (logged), never refused.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <sys/types.h>

#include "fd.hpp"
#include "inject_client.hpp"
#include "settings.hpp"

namespace quail::smtpd {

struct Refusal;

class MailAuth {
 public:
  explicit MailAuth(const Settings& s) : s_(s) {}
  ~MailAuth();
  MailAuth(const MailAuth&) = delete;
  MailAuth& operator=(const MailAuth&) = delete;

  // At MAIL FROM: the SPF check and its policy for a client without relay
  // rights. true and the reply to give when the sender is refused.
  bool refuse_sender(bool relay, const std::string& helo, const std::string& sender, Refusal& out);
  // This transaction's message goes through the checks.
  bool checking() const { return checking_; }
  // This transaction's sender passed SPF (the helper said pass at MAIL FROM).
  bool spf_pass() const { return spf_pass_; }
  // Where the message goes while it is being received (checking() only).
  MessageSink& spool();
  // After the message was received (received: whole and not refused): the
  // verdict. Accepted: writes our fields and the spooled message to out and
  // returns whether that worked. Refused: sets refusal and returns false.
  bool deliver(bool received, MessageSink& out, std::optional<Refusal>& refusal);

 private:
  bool connect_resident();
  bool spawn_helper();
  // One request and its answer; not_found when the helper's end was closed.
  Result<std::vector<std::string>> ask(const std::vector<std::string>& req, int timeout_ms, int fd = -1);
  void stop(const std::string& why);
  const Settings& s_;
  int enabled_ = -1;  // control/authcheck, read at the first MAIL FROM
  Fd sock_;
  pid_t pid_ = -1;        // an exec'd helper's; none for the resident one's
  bool resident_ = false;  // sock_ goes to a child of mailauth -d
  bool answered_ = false;  // the helper has answered once
  bool checking_ = false;
  bool spf_pass_ = false;
  Fd spool_fd_;
  std::unique_ptr<MessageSink> sink_;  // writes to spool_fd_
  std::string reply_enhanced_;  // a refusal's enhanced code (Refusal holds a view)
};

}  // namespace quail::smtpd
