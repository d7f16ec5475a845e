// quail status: one line per service, "<name> <pid|-> running|stopped", for
// queue-send and every service with a pid file. Exit 0 when all of them run, 1
// otherwise. Reads ROOT/run and /proc only. See man/quail.8.
#include <getopt.h>
#include <string>

#include "fd.hpp"
#include "program.hpp"
#include "service.hpp"
#include "service_cli.hpp"

namespace {

namespace admin = quail::admin;

int run(int argc, char** argv) {
  std::string opened;
  if (int code = admin::root_only_arguments("status", argc, argv, &opened); code != admin::ok) return code;
  const std::string* root = &opened;
  std::string out;
  bool all_run = true;
  for (const auto& name : quail::service_names()) {
    auto st = quail::service_status(*root, name);
    // A listener nobody asked for is not listed; queue-send always is.
    if (st.state == quail::ServiceState::stopped && name != "queue-send") continue;
    bool running = st.state == quail::ServiceState::running;
    all_run = all_run && running;
    out += name + " " + (running ? std::to_string(st.pid) : "-") + (running ? " running\n" : " stopped\n");
  }
  if (!quail::write_all(1, out)) return admin::temporary;
  return all_run ? admin::ok : admin::no;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-status", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
