// The shared runner: see program.hpp.
#include "program.hpp"

#include <csignal>
#include <exception>
#include <fcntl.h>
#include <new>
#include <unistd.h>

#include "log.hpp"

namespace quail {

int run_main(std::string_view name, ExitCodes codes, const std::function<int()>& body) {
  log_set_program(name);
  log_set_timestamps(true);
  std::signal(SIGPIPE, SIG_IGN);
  // A write past RLIMIT_FSIZE then fails with EFBIG, as on a full disk: a temporary
  // code and the half-written file removed, not death by SIGXFSZ with the file left.
  std::signal(SIGXFSZ, SIG_IGN);
  // A closed fd 0-2 would be reused by the first file we open, and a log line
  // could then land in a mailbox.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) {
      int n = ::open("/dev/null", O_RDWR);
      if (n < 0) return codes.internal;
      if (n != fd) ::close(n);
    }
  }
  try {
    return body();
  } catch (const std::bad_alloc&) {
    log_error({{"event", "fatal"}, {"reason", "out of memory"}});
    return codes.no_memory;
  } catch (const std::exception& e) {
    log_error({{"event", "fatal"}, {"reason", std::string("internal error: ") + e.what()}});
    return codes.internal;
  }
}

}  // namespace quail
