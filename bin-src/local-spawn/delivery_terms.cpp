// A delivery child's environment and the meaning of its ending: see delivery_terms.hpp.
#include "delivery_terms.hpp"

#include <sys/wait.h>

namespace quail {

std::vector<std::string> delivery_environment(const std::string& root, bool switching_users, const char* path,
                                              const char* queue_program) {
  std::vector<std::string> env{"QUAIL_ROOT=" + root};
  bool own_path = !switching_users && path && *path;
  env.push_back("PATH=" + (own_path ? std::string(path) : std::string(default_delivery_path)));
  if (!switching_users && queue_program && *queue_program) env.push_back(std::string("QUEUE_PROGRAM=") + queue_program);
  return env;
}

LspawnReply reply_for(uint64_t dlv, int wstatus, std::string_view output) {
  if (WIFSIGNALED(wstatus)) {
    return {dlv, 111, "local-deliver was killed by signal " + std::to_string(WTERMSIG(wstatus)) + " (#4.3.0)"};
  }
  int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  if (code != 0 && code != 99 && code != 100 && code != 111) {
    return {dlv, 111, "local-deliver exited " + std::to_string(code) + " (#4.3.0)"};
  }
  std::string_view line = output.substr(0, output.find('\n'));
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return {dlv, code, std::string(line)};
}

}  // namespace quail
