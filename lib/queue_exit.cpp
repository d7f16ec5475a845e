// The exit code table of qmail-queue(8): see queue_exit.hpp.
#include "queue_exit.hpp"

namespace quail::qq {

Outcome describe(int code, bool signaled, const std::string& custom) {
  if (signaled) return {false, "queue program crashed (#4.3.0)"};
  switch (code) {
    case ok:
      if (custom.size() > 1 && custom[0] == 'K' && custom.size() < 32) return {false, "ok", custom.substr(1)};
      return {false, "ok"};
    case address_too_long: return {true, "address too long (#5.1.3)"};
    case refused: return {true, "message refused (#5.3.0)"};
    case no_memory: return {false, "out of memory (#4.3.0)"};
    case timeout: return {false, "timeout (#4.3.0)"};
    case write_error: return {false, "write error or disk full (#4.3.0)"};
    case read_error: return {false, "unable to read the message or envelope (#4.3.0)"};
    case config_error: return {false, "unable to read configuration (#4.3.0)"};
    case network: return {false, "network problem (#4.3.0)"};
    case root_home: return {false, "unable to reach the queue root (#4.3.0)"};
    case queue_dir: return {false, "unable to access the queue (#4.3.0)"};
    case queue_pid: return {false, "trouble creating files in the queue (#4.3.0)"};
    case queue_mess: return {false, "trouble writing the message to the queue (#4.3.0)"};
    case queue_intd: return {false, "trouble writing to the queue (#4.3.0)"};
    case queue_todo: return {false, "trouble committing the message to the queue (#4.3.0)"};
    case temp_refused: return {false, "message refused temporarily (#4.3.0)"};
    case conn_timeout: return {false, "connection to the queue timed out (#4.4.2)"};
    case conn_rejected: return {false, "connection to the queue rejected (#4.4.1)"};
    case conn_failed: return {false, "connection to the queue failed (#4.4.1)"};
    case internal_bug: return {false, "internal bug in the queue program (#4.3.0)"};
    case custom_error:
      if (custom.size() > 1 && (custom[0] == 'D' || custom[0] == 'Z')) {
        return {custom[0] == 'D', custom.substr(1)};
      }
      return {false, "queue program failed without a reason (#4.3.0)"};
    case envelope_format: return {false, "envelope format error (#4.3.0)"};
    default:
      if (code >= 11 && code <= 40) return {true, "message refused (#5.3.0)"};
      return {false, "queue program failed with exit code " + std::to_string(code) + " (#4.3.0)"};
  }
}

}  // namespace quail::qq
