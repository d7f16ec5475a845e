// queue-inject -s without its own exec: what main() does before a session, for a
// process smtpd forked (lib/inject_fork.hpp, man/queue-inject.8 "Forked by smtpd").
#include <sys/stat.h>

#include "injection.hpp"
#include "modes.hpp"
#include "program.hpp"
#include "queue_exit.hpp"

namespace quail::queue_inject {

int session_process(const std::string& root) {
  return run_main("queue-inject", {qq::no_memory, qq::internal_bug}, [&] {
    ::umask(027);  // as main(): queue files are the queue's, whatever the caller's umask
    uint64_t databytes = 0;
    if (!read_databytes(root, databytes)) return qq::config_error;
    return run_session(root, databytes);
  });
}

}  // namespace quail::queue_inject
