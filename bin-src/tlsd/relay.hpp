// Relaying between the TLS connection and the protocol program's plaintext
// socket until both directions are done. Non-blocking on every fd, so neither
// side can stall the other; a side that makes no progress for idle_ms ends it.
#pragma once
#include <openssl/ssl.h>

namespace quail::tlsd {

enum class RelayEnd {
  done,      // the program closed its side and everything was sent (or the peer closed)
  idle,      // nothing moved for idle_ms
  tls_error, // the peer broke the TLS protocol or the connection failed
  io_error,  // the plaintext socket failed
};

// Moves bytes both ways: plaintext from local to the peer, and the peer's data
// to local. Ends with a TLS close_notify to the peer when local closes.
RelayEnd relay(SSL* ssl, int net_rfd, int net_wfd, int local, int idle_ms);

const char* relay_end_name(RelayEnd e);

}  // namespace quail::tlsd
