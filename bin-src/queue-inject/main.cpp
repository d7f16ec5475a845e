// queue-inject: add messages to the queue. Without arguments it speaks qmail-queue's
// protocol (the message on fd 0, the envelope on fd 1, the exit code as the
// answer); with -s it takes a session of framed messages on fd 0 and answers
// each on fd 1; with -d (a system install, as root) it is the resident injector
// that serves smtpd's sessions on ROOT/run/queue-inject.sock. See man/queue-inject.8 and queue-layout/README.md. Trusts
// neither fd: everything is validated before a message is committed.
#include <csignal>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "injection.hpp"
#include "modes.hpp"
#include "program.hpp"
#include "queue_exit.hpp"
#include "root.hpp"

namespace {
constexpr unsigned max_seconds = 86400;
}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("queue-inject", {quail::qq::no_memory, quail::qq::internal_bug}, [&] {
    // Queue files are the queue's, not the caller's: a caller's umask of 077 would
    // make them unreadable to queue-send in a system install (queue-layout/README.md).
    ::umask(027);
    const std::string root = quail::resolve_root(nullptr);
    uint64_t databytes = 0;
    if (!quail::queue_inject::read_databytes(quail::Control(root), databytes)) return quail::qq::config_error;
    // Only "-s" selects a session: like qmail-queue, the classic protocol ignores
    // any other argument, so a filter that passes its own arguments on still works.
    if (argc == 2 && std::strcmp(argv[1], "-s") == 0) {
      // By path at each message: an exec'd session may last a day.
      return quail::queue_inject::run_session(root, databytes, quail::Control(root));
    }
    if (argc == 2 && std::strcmp(argv[1], "-d") == 0) return quail::queue_inject::run_resident(root);
    std::signal(SIGALRM, [](int) { _exit(quail::qq::timeout); });
    alarm(max_seconds);
    return quail::queue_inject::run_classic(root, databytes);
  });
}
