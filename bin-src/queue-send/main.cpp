// queue-send: the scheduler daemon. Takes messages from queue/todo/, runs
// local-deliver and remote-deliver for their recipients, retries, bounces, and
// removes them when done (queue-layout/README.md, S2 -> S5). See man/queue-send.8.
#include <charconv>
#include <cstdlib>
#include <string_view>
#include <unistd.h>

#include "log.hpp"
#include "program.hpp"
#include "root.hpp"
#include "scheduler.hpp"
#include "service.hpp"
#include "settings.hpp"

namespace {

constexpr int exit_usage = 100;
constexpr int exit_temporary = 111;

int fatal(const std::string& reason) {
  quail::log_error({{"event", "fatal"}, {"reason", reason}});
  return exit_temporary;
}

int send_loop(int argc) {
  if (argc > 1) {
    quail::log_error({{"event", "usage"}, {"reason", "queue-send takes no arguments; QUAIL_ROOT names the root"}});
    return exit_usage;
  }
  std::string root = quail::resolve_root(nullptr);
  auto settings = quail::load_settings(root);
  if (!settings) return fatal(settings.error().reason);
  quail::Scheduler scheduler(std::move(*settings));
  if (auto st = scheduler.start(); !st) return fatal(st.error().reason);
  quail::signal_service_ready();  // we listen on the trigger
  return scheduler.run();
}

}  // namespace

int main(int argc, char**) {
  return quail::run_main("queue-send", {exit_temporary, exit_temporary}, [argc] { return send_loop(argc); });
}
