// STARTTLS (RFC 3207) through the tlsd helper (lib/tls_start, man/tlsd.8): smtpd
// never links OpenSSL, and a session that never says STARTTLS pays nothing for it.
// What the client pipelined after STARTTLS is dropped unread (RFC 3207 4.2, the
// CVE-2011-0411 class), and the session starts over at the greeting's state.
#include "log.hpp"
#include "session.hpp"

namespace quail::smtpd {

void Session::on_starttls() {
  if (tls_) return error(503, "5.5.1", "TLS is already on");
  if (!tls_available(s_.root)) return reply(io_, 454, "4.7.0", "TLS not available");
  reply(io_, 220, "2.0.0", "ready to start TLS");
  if (io_.flush() != IoStatus::ok) {
    end_ = EndReason::io_error;
    return;
  }
  // Input read ahead with the STARTTLS line came before the handshake: plaintext an
  // attacker may have injected, never to be taken for commands inside TLS.
  size_t dropped = io_.buffered().size();
  io_.consume(dropped);
  auto info = start_tls(s_.root, s_.timeout_ms);
  if (!info) {
    // The handshake consumed the client's bytes: no reply can reach it in any form.
    log_warn({{"sid", s_.sid}, {"event", "starttls"}, {"result", "fail"}, {"reason", info.error().reason}});
    end_ = EndReason::tls;
    return;
  }
  tls_ = *info;
  features_.tls = true;
  // RFC 3207 4.2: the client must EHLO again; what it said before TLS is forgotten.
  helo_.clear();
  esmtp_ = false;
  reset();
  log_info({{"sid", s_.sid}, {"event", "starttls"}, {"result", "ok"}, {"protocol", tls_->protocol},
            {"cipher", tls_->cipher}, {"dropped", dropped}});
}

}  // namespace quail::smtpd
