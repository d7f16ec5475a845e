// The qmail-queue protocol, unchanged: the message on fd 0 to end of file, then
// the envelope on fd 1; one message per process, the exit code is the answer.
// Trusts neither fd: nothing is committed before both were read and the envelope parsed.
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.hpp"
#include "injection.hpp"
#include "modes.hpp"
#include "queue_exit.hpp"

namespace quail::queue_inject {
namespace {

constexpr size_t max_envelope_bytes = 16 << 20;

// Writes notqmail's fd 6 text: exit 82's "Z<reason>", or the new id ("K<id>") so a
// quail caller's own log can say msg=<id>. Only a pipe there is ours.
void report(const std::string& text) {
  struct stat st;
  if (::fstat(6, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  write_all(6, text);
}

void report_id(const std::string& id) { report("K" + id); }

}  // namespace

int run_classic(const std::string& root, uint64_t databytes) {
  QueueDirs dirs(root);
  const Control control(root);
  Injection msg(root, dirs, control, databytes);
  if (int code = msg.start(); code != 0) {
    if (code == qq::custom_error) report(msg.reason());
    return code;
  }

  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return refuse(qq::read_error, "unable to read the message: " + std::string(strerror(errno)), msg.id());
    }
    if (n == 0) break;
    if (int code = msg.append(std::string_view(buf, static_cast<size_t>(n))); code != 0) return code;
  }

  std::string env_bytes;
  if (!read_all(1, env_bytes, max_envelope_bytes)) {
    if (errno == EFBIG) return refuse(qq::envelope_format, "envelope over 16 MiB", msg.id());
    return refuse(qq::read_error, "unable to read the envelope: " + std::string(strerror(errno)), msg.id());
  }
  int code = msg.finish(env_bytes);
  if (code == 0) report_id(msg.id());
  return code;
}

}  // namespace quail::queue_inject
