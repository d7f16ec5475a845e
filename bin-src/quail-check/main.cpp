// quail check [--repair]: verify the queue's invariants (queue-layout/README.md),
// print one line per problem, exit 0 clean or 1 with problems; --repair fixes each
// as the spec says and exits 0 when all are fixed. See man/quail.8 ("check").
#include <getopt.h>
#include <string>

#include "checks.hpp"
#include "fd.hpp"
#include "program.hpp"
#include "service_cli.hpp"

namespace {

namespace admin = quail::admin;

int run(int argc, char** argv) {
  static const option longopts[] = {
      {"root", required_argument, nullptr, 'r'}, {"repair", no_argument, nullptr, 'R'},
      {"help", no_argument, nullptr, 'h'}, {nullptr, 0, nullptr, 0}};
  const char* root_flag = nullptr;
  bool fix = false, bad = false;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    if (c == 'r') root_flag = optarg;
    else if (c == 'R') fix = true;
    else if (c == 'h') return admin::help("usage: quail check [--repair]   verify the queue (queue-layout/README.md); --repair fixes it\n");
    else bad = true;
  }
  if (bad || optind != argc) {
    admin::say("check", "usage: quail check [--repair]");
    return admin::usage;
  }
  auto root = admin::open_root(root_flag);
  if (!root) {
    admin::say("check", root.error().reason);
    return admin::exit_code(root.error().kind);
  }
  auto problems = quail::check::find_problems(*root);
  if (!problems) {
    admin::say("check", problems.error().reason);
    return admin::temporary;
  }
  int result = problems->empty() ? admin::ok : admin::no;
  if (fix) result = admin::ok;
  std::string out;
  for (const auto& p : *problems) {
    std::string line = p.path + ": " + p.detail;
    if (fix) {
      auto done = quail::check::repair(*root, p);
      line += done ? "; " + *done : "; not repaired: " + done.error().reason;
      if (!done) result = admin::temporary;
    }
    out += line + "\n";
  }
  // A person running it sees that it ran: one line when all is well.
  if (problems->empty()) out = "The queue is consistent: no problem found.\n";
  if (!quail::write_all(1, out)) return admin::temporary;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("quail-check", {admin::temporary, admin::temporary}, [&] { return run(argc, argv); });
}
