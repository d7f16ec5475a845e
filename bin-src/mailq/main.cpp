// mailq: list the queued messages, oldest first, with each recipient's state
// (the same listing as sendmail -bp). See man/mailq.8.
#include <cstring>

#include "log.hpp"
#include "program.hpp"
#include "root.hpp"
#include "submit.hpp"

int main(int argc, char** argv) {
  namespace s = quail::submit;
  return quail::run_main("mailq", {s::exit_temporary, s::exit_temporary}, [&] {
    quail::log_set_person(true);  // plain sentences on a terminal, logfmt elsewhere
    constexpr const char* usage = "mailq [--root DIR]";
    auto root = s::root_flag(argc, argv);
    if (root.missing) return s::usage_error("--root needs a directory", usage);
    for (int i = 1 + root.taken; i < argc; ++i) {
      if (std::strcmp(argv[i], "-v") != 0) return s::usage_error(std::string("unexpected argument: ") + argv[i], usage);
    }
    return s::list_queue(quail::resolve_root(root.root.empty() ? nullptr : root.root.c_str()));
  });
}
