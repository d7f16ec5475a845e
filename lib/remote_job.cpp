// The remote-deliver job channel: see remote_job.hpp.
#include "remote_job.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

#include "decimal.hpp"
#include "fd_passing.hpp"

namespace quail {
namespace {

// A job of remote_job_max_rcpts indexes of up to 10 digits fits with room to spare.
constexpr size_t max_packet = 16 * 1024;

Error bad(const char* why) { return Error{ErrorKind::format, std::string("malformed remote job: ") + why}; }

}  // namespace

std::string encode_job(const RemoteJob& j) {
  std::string p = std::to_string(j.dlv);
  p += '\0';
  p += std::to_string(j.message_length);
  p += '\0';
  for (uint32_t n : j.rcpts) {
    p += std::to_string(n);
    p += '\0';
  }
  return p;
}

Result<RemoteJob> decode_job(std::string_view packet) {
  RemoteJob j;
  size_t field = 0, start = 0;
  while (start < packet.size()) {
    size_t nul = packet.find('\0', start);
    if (nul == std::string_view::npos) return bad("a field without its NUL");
    std::string_view f = packet.substr(start, nul - start);
    start = nul + 1;
    // The length is an off_t to remote-deliver (it reads that many bytes from the fd).
    uint64_t max = field == 0 ? UINT64_MAX : field == 1 ? decimal_int64_max : UINT32_MAX;
    auto v = parse_decimal(f, max);
    if (!v) return bad("bad number");
    if (field == 0) {
      j.dlv = *v;
    } else if (field == 1) {
      j.message_length = *v;
    } else {
      if (j.rcpts.size() == remote_job_max_rcpts) return bad("too many recipients");
      j.rcpts.push_back(static_cast<uint32_t>(*v));
    }
    ++field;
  }
  if (j.rcpts.empty()) return bad("no recipient");
  return j;
}

Status send_job(int sock, const RemoteJob& j, int msg_fd) {
  std::string p = encode_job(j);
  ssize_t n = send_with_fd(sock, p, msg_fd, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(p.size())) return sys_error(ErrorKind::temporary, "send a job to remote-deliver");
  return {};
}

Result<RemoteJob> recv_job(int sock, Fd& msg_fd) {
  std::string buf(max_packet, '\0');
  msg_fd.reset();
  bool truncated = false;
  ssize_t n = recv_with_fd(sock, buf.data(), buf.size(), msg_fd, truncated);
  if (n < 0) return sys_error(ErrorKind::temporary, "receive a job from queue-send");
  if (n == 0) return Error{ErrorKind::not_found, "queue-send closed the job socket"};
  if (truncated) return bad("truncated");
  if (!msg_fd.valid()) return bad("no message descriptor");
  return decode_job(std::string_view(buf.data(), static_cast<size_t>(n)));
}

size_t remote_report_length(std::string_view buf, size_t recipients) {
  size_t pos = 0;
  for (size_t i = 0; i <= recipients; ++i) {
    size_t nul = buf.find('\0', pos);
    if (nul == std::string_view::npos) return 0;
    pos = nul + 1;
  }
  return pos;
}

}  // namespace quail
