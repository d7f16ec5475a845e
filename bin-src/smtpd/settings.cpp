// Loading an smtpd session's settings: see settings.hpp.
#include "settings.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <ctime>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.hpp"
#include "session_id.hpp"
#include "srs_key.hpp"

namespace quail::smtpd {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The address and port of the socket's peer (or of fd 0's own end), "" when fd 0
// is not a socket. A v4-mapped IPv6 address is written as IPv4.
void socket_address(bool peer, std::string& ip, std::string& port) {
  struct sockaddr_storage ss {};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<struct sockaddr*>(&ss);
  if ((peer ? ::getpeername(0, sa, &len) : ::getsockname(0, sa, &len)) != 0) return;
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<struct sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = std::to_string(ntohs(in->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    }
    port = std::to_string(ntohs(in6->sin6_port));
  }
  ip = buf;
}

}  // namespace

Result<Settings> load_settings(const std::string& root, bool submission) {
  Settings s;
  s.root = root;
  s.control = Control::read_once(root);
  const Control& control = s.control;
  auto me = control.line("me");
  if (!me) return me.error();
  s.me = *me;
  auto greeting = control.line("smtpgreeting");
  if (!greeting) return greeting.error();
  s.greeting = *greeting;
  auto databytes = control.integer("databytes");
  if (!databytes) return databytes.error();
  s.databytes = static_cast<uint64_t>(*databytes);
  auto maxrcpt = control.integer("maxrcpt");
  if (!maxrcpt) return maxrcpt.error();
  s.maxrcpt = static_cast<size_t>(*maxrcpt);
  auto timeout = control.integer("timeoutsmtpd");
  if (!timeout) return timeout.error();
  s.timeout_ms = static_cast<int>(*timeout) * 1000;
  auto maxerrors = control.integer("maxerrors");
  if (!maxerrors) return maxerrors.error();
  s.maxerrors = static_cast<int>(*maxerrors);
  if (auto st = load_guard_settings(control, s); !st) return st.error();
  auto rcpthosts = control.list("rcpthosts");
  if (!rcpthosts) return rcpthosts.error();
  s.rcpthosts = std::move(*rcpthosts);
  auto local = load_local_config(root, control);
  if (!local) return local.error();
  s.local = std::move(*local);
  auto srs_key = load_srs_key(root);
  if (!srs_key) return srs_key.error();
  s.local.srs_key = std::move(*srs_key);
  auto milters = milter::load_config(control);
  if (!milters) return milters.error();
  s.milters = std::move(*milters);
  auto floor = read_space_floor(control);
  if (!floor) return floor.error();
  s.queue_floor = *floor;
  s.submission = submission;
  if (submission) {
    auto sendas = control.list("sendas");
    if (!sendas) return sendas.error();
    s.sendas = std::move(*sendas);
  }

  s.remote_ip = env("TCPREMOTEIP");
  s.remote_port = env("TCPREMOTEPORT");
  s.local_ip = env("TCPLOCALIP");
  std::string ignored;
  if (s.remote_ip.empty()) socket_address(true, s.remote_ip, s.remote_port);
  if (s.local_ip.empty()) socket_address(false, s.local_ip, ignored);
  if (s.remote_ip.empty()) s.remote_ip = "unknown";
  s.relayclient = std::getenv("RELAYCLIENT") != nullptr;
  s.plaintext_login = std::getenv("PLAINTEXTLOGIN") != nullptr;
  s.implicit_tls = tls_from_environment();
  s.sid = new_session_id();
  return s;
}

}  // namespace quail::smtpd
