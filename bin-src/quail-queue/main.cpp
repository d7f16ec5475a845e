// quail queue: the queue for a person. Lists every message and why each recipient
// waits, shows one, and hands retry, delete, hold and release to queue-send
// (command.cpp), the only program that changes a queued message. See man/quail-queue.8.
#include <getopt.h>
#include <string>
#include <vector>

#include "program.hpp"
#include "queue_tool.hpp"
#include "service_cli.hpp"

namespace {

namespace admin = quail::admin;

constexpr std::string_view usage_text =
    "usage: quail queue [--root DIR]                   list messages and why each recipient waits\n"
    "       quail queue show ID                        envelope, headers, each recipient's state\n"
    "       quail queue retry ID|all                   try again now\n"
    "       quail queue delete ID [--bounce]           remove a message (--bounce: tell its sender)\n"
    "       quail queue delete --all-to DOMAIN [--bounce]   remove every recipient at DOMAIN\n"
    "       quail queue hold ID | release ID           keep a message from delivery / let it go\n"
    "ID is a message id as mailq, the log (msg=) and smtpd's 250 reply show it; see quail-queue(8)\n";

int usage(bool asked) {
  if (asked) return quail::write_all(1, usage_text) ? admin::ok : admin::temporary;
  (void)quail::write_all(2, usage_text);
  return admin::usage;
}

int run(int argc, char** argv) {
  static const option longopts[] = {{"root", required_argument, nullptr, 'r'}, {"help", no_argument, nullptr, 'h'},
                                    {"all-to", required_argument, nullptr, 'a'}, {"bounce", no_argument, nullptr, 'b'},
                                    {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  std::string all_to;
  bool bounce = false;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "h", longopts, nullptr)) != -1;) {
    switch (c) {
      case 'r': root_flag = optarg; break;
      case 'h': return usage(true);
      case 'a': all_to = optarg; break;
      case 'b': bounce = true; break;
      default: return usage(false);
    }
  }
  std::vector<std::string> args(argv + optind, argv + argc);
  std::string verb = args.empty() ? "list" : args[0];
  bool want_id = verb == "show" || verb == "retry" || verb == "hold" || verb == "release" ||
                 (verb == "delete" && all_to.empty());
  if (verb == "list" ? args.size() > 1 : want_id ? args.size() != 2 : !(verb == "delete" && args.size() == 1)) {
    return usage(false);
  }
  if ((!all_to.empty() || bounce) && verb != "delete") return usage(false);
  auto root = admin::open_root(root_flag);
  if (!root) {
    admin::say("queue", root.error().reason);
    return admin::exit_code(root.error().kind);
  }
  quail::QueueDirs dirs(*root);
  if (verb == "list") return quail::queue_tool::list(*root, dirs);
  if (verb == "show") return quail::queue_tool::show(*root, dirs, args[1]);
  quail::QueueCommand c;
  c.verb = verb == "retry" ? quail::QueueVerb::retry
           : verb == "delete" ? quail::QueueVerb::del
           : verb == "hold" ? quail::QueueVerb::hold
                            : quail::QueueVerb::release;
  if (c.verb == quail::QueueVerb::retry && args[1] == "all") c.all = true;
  else if (!all_to.empty()) c.domain = all_to;
  else c.id = args[1];
  c.bounce = bounce;
  return quail::queue_tool::command(dirs, c);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-queue", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
