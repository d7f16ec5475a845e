// sendmail: the sendmail(8) command line that cron, mutt, git send-email and PHP
// mail() use, in front of inject's submission code. See man/sendmail.8.
// Flags that only tune sendmail's own machinery are accepted and ignored.
#include <cstring>
#include <string>
#include <string_view>

#include "log.hpp"
#include "program.hpp"
#include "root.hpp"
#include "submit.hpp"

namespace {

namespace s = quail::submit;

constexpr const char* usage =
    "sendmail [--root DIR] [-t] [-i] [-oi] [-f sender] [-F fullname] [-N notify] [-R ret] [-V envid] "
    "[-bm | -bp | -bv | -q] [--] [recipient ...]";

// Flags followed by a value, attached (-fbob) or as the next argument (-f bob).
constexpr std::string_view with_value = "ABCFLNORVXbfhopr";
// Flags accepted without effect: -v verbose, -m me too, -n no aliasing, -G gateway, -U initial submission.
constexpr std::string_view ignored = "vmnGU";

enum class Mode { send, list, run_queue, verify };

struct Parsed {
  s::Options opt;
  Mode mode = Mode::send;
};

// Applies one flag with its value; an exit code when it ends the program, else -1.
int apply(char flag, const std::string& value, Parsed& p) {
  switch (flag) {
    case 'f':
    case 'r':
      p.opt.sender_given = true;
      p.opt.sender = value;
      return -1;
    case 'F': p.opt.full_name = value; return -1;
    case 'N': {
      auto n = s::check_notify(value);
      if (!n) return s::usage_error(n.error().reason, usage);
      p.opt.notify = *n;
      return -1;
    }
    case 'R': {
      auto r = s::check_ret(value);
      if (!r) return s::usage_error(r.error().reason, usage);
      p.opt.ret = *r;
      return -1;
    }
    case 'V': p.opt.envid = value; return -1;
    case 'o':  // -oi is -i; other -oX (-oem, -odi, -oQ...) tune sendmail itself
      if (value == "i") p.opt.dot_ends = false;
      return -1;
    case 'O':
      if (value == "IgnoreDots" || value == "IgnoreDots=true" || value == "IgnoreDots=True") p.opt.dot_ends = false;
      return -1;
    case 'b':
      if (value == "m") {
        p.mode = Mode::send;
      } else if (value == "p") {
        p.mode = Mode::list;
      } else if (value == "v") {
        p.mode = Mode::verify;
      } else if (value == "s") {
        return s::usage_error("-bs (SMTP on standard input) is not supported: speak SMTP to smtpd instead", usage);
      } else if (value == "d" || value == "D") {
        return s::usage_error("-bd (daemon mode) is not supported: quail up starts the SMTP service", usage);
      } else if (value == "i") {
        return s::usage_error("-bi (newaliases) is not supported: the aliases table is rebuilt by quail", usage);
      } else {
        return s::usage_error("unsupported mode -b" + value, usage);
      }
      return -1;
    default:  // -A -B -C -L -X -h -p: sendmail's own settings, ignored
      return -1;
  }
}

// Reads the command line like sendmail: flags may be grouped (-ti) and, as with
// glibc getopt, may follow recipients; "--" ends the flags.
int parse(int argc, char** argv, Parsed& p) {
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (flags_done || a.size() < 2 || a[0] != '-') {
      p.opt.recipients.emplace_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    for (size_t j = 1; j < a.size(); ++j) {
      char f = a[j];
      if (with_value.find(f) != std::string_view::npos) {
        std::string value(a.substr(j + 1));
        if (value.empty()) {
          if (i + 1 >= argc) return s::usage_error(std::string("option needs a value: -") + f, usage);
          value = argv[++i];
        }
        if (int code = apply(f, value, p); code >= 0) return code;
        break;
      }
      if (f == 't') {
        p.opt.extract = true;
      } else if (f == 'i') {
        p.opt.dot_ends = false;
      } else if (f == 'd') {
        break;  // -dX.Y debugging: ignored with its attached value
      } else if (f == 'q') {
        // -q alone: run the queue once (quail queue retry all); -q<interval> is
        // sendmail's queue daemon, which queue-send already is.
        if (j + 1 < a.size()) return s::usage_error("-q" + std::string(a.substr(j + 1)) + " (a queue daemon) is not supported: queue-send retries by itself", usage);
        p.mode = Mode::run_queue;
        break;
      } else if (f == 'I') {
        return s::usage_error("-I (newaliases) is not supported: the aliases table is rebuilt by quail", usage);
      } else if (ignored.find(f) == std::string_view::npos) {
        return s::usage_error(std::string("unknown option: -") + f, usage);
      }
    }
  }
  return -1;
}

int run(int argc, char** argv) {
  auto root = s::root_flag(argc, argv);
  if (root.missing) return s::usage_error("--root needs a directory", usage);
  Parsed p;
  p.opt.dot_ends = true;  // sendmail's default; -i / -oi turn it off
  p.opt.root = quail::resolve_root(root.root.empty() ? nullptr : root.root.c_str());
  if (int code = parse(argc - root.taken, argv + root.taken, p); code >= 0) return code;
  if (p.mode == Mode::list) return s::list_queue(p.opt.root);
  if (p.mode == Mode::run_queue) return s::run_queue(p.opt.root);
  if (p.mode == Mode::verify) return s::verify_addresses(p.opt.root, p.opt.recipients);
  return s::submit(p.opt);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("sendmail", {s::exit_temporary, s::exit_temporary}, [&] {
    quail::log_set_person(true);  // plain sentences on a terminal, logfmt elsewhere
    return run(argc, argv);
  });
}
