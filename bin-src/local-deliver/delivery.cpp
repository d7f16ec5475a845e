// Choosing and running a recipient's instructions: see delivery.hpp and the
// DELIVERY section of man/local-deliver.8. qmail-local's rules: a file writable
// by others is refused, an empty .qmail means the default delivery.
#include "delivery.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "dotqmail.hpp"
#include "forward_file.hpp"

namespace quail::ld {
namespace {

constexpr size_t max_instructions_file = 1 << 20;

struct Tally {
  int mailboxes = 0, programs = 0, forwards = 0;
  bool stopped = false;
  std::string summary(const std::string& via) const {
    std::string s = "delivered via " + via + ":";
    auto add = [&](int n, const char* one, const char* many) {
      if (n) s += (s.back() == ':' ? " " : ", ") + std::to_string(n) + " " + (n == 1 ? one : many);
    };
    add(mailboxes, "mailbox", "mailboxes");
    add(programs, "program", "programs");
    add(forwards, "forward", "forwards");
    if (stopped) s += ", a program stopped the rest";
    return s + " (#2.0.0)";
  }
};

Step finish(Runner& run, const Tally& tally, const std::string& via) {
  Step f = run.finish_forwards();
  if (f.failed()) return f;
  return Step{StepKind::ok, tally.summary(via)};
}

Step default_delivery(Runner& run) {
  Step s = run.maildir("Maildir/");
  if (s.failed()) return s;
  return Step{StepKind::ok, "delivered to Maildir (#2.0.0)"};
}

// A step's effect on the tally; true when processing goes on.
bool count(const Step& s, Tally& tally, int Tally::*field) {
  if (s.failed()) return false;
  ++(tally.*field);
  if (s.kind == StepKind::stop) tally.stopped = true;
  return s.kind == StepKind::ok;
}

// Reads a user's instruction file, refusing one that others may write (qmail: #4.7.0).
Result<std::string> read_user_file(const std::string& path, Step& refusal) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return sys_error(ErrorKind::temporary, "stat " + path);
  if (st.st_mode & S_IWOTH) {
    refusal = temporary(path + " is writable by others: refusing it", "4.7.0");
    return Error{ErrorKind::permanent, path};
  }
  return read_file(path, max_instructions_file);
}

Step run_dotqmail(const Context& ctx, Runner& run) {
  const std::string& file = ctx.target.dotqmail;
  Step refusal;
  auto text = read_user_file(file, refusal);
  if (!text) return refusal.failed() ? refusal : temporary(text.error());
  if (text->empty()) return default_delivery(run);  // qmail: an empty .qmail is the default
  auto lines = parse_dotqmail(*text, file);
  if (!lines) return temporary(lines.error(), "4.3.5");
  if (lines->empty()) return temporary("no delivery instructions in " + file, "4.3.5");
  Tally tally;
  for (const auto& line : *lines) {
    Step s;
    switch (line.kind) {
      case DotQmailKind::maildir:
        s = run.maildir(line.value);
        if (!count(s, tally, &Tally::mailboxes)) return s;
        break;
      case DotQmailKind::mbox:
        s = run.mbox(line.value);
        if (!count(s, tally, &Tally::mailboxes)) return s;
        break;
      case DotQmailKind::forward:
        run.forward(line.value);
        ++tally.forwards;
        break;
      case DotQmailKind::program:
        s = run.program(line.value);
        if (s.failed()) return s;
        ++tally.programs;
        if (s.kind == StepKind::stop) tally.stopped = true;
        break;
    }
    if (tally.stopped) break;
  }
  return finish(run, tally, file.substr(file.rfind('/') + 1));
}

// \user in an alias: that user's own Maildir, past every alias and .forward.
Step alias_self(const Context& ctx, Runner& run, const std::string& user) {
  auto a = parse_address(user + "@" + ctx.rcpt.domain());
  if (!a) return temporary("alias item \\" + user + " is not a valid address", "4.3.5");
  auto t = lookup_local_user(ctx.cfg, *a);
  if (!t) return temporary(t.error());
  if (!*t) return temporary("alias item \\" + user + ": no such user", "4.3.5");
  if (ctx.selves && (*t)->kind == TargetKind::system_user) {
    // Delivered already, as the login itself (local-spawn): its outcome counts here.
    auto done = ctx.selves->find((*t)->user);
    if (done != ctx.selves->end()) return done->second;
    return temporary("alias item \\" + user + " was not delivered as its user", "4.3.0");
  }
  return run.maildir((*t)->home + "/Maildir/");
}

Step run_items(const Context& ctx, Runner& run, const std::vector<ForwardItem>& items, const std::string& via) {
  Tally tally;
  for (const auto& item : items) {
    Step s;
    switch (item.kind) {
      case ForwardKind::address: run.forward(item.value); ++tally.forwards; continue;
      case ForwardKind::maildir: s = run.maildir(item.value); break;
      case ForwardKind::mbox: s = run.mbox(item.value); break;
      case ForwardKind::self:
        if (ctx.target.kind == TargetKind::alias) {
          s = alias_self(ctx, run, item.value);
        } else if (lowercase(item.value) == ctx.target.user.substr(0, ctx.target.user.find('@'))) {
          s = run.maildir("Maildir/");
        } else {
          run.forward(item.value);
          ++tally.forwards;
          continue;
        }
        break;
      case ForwardKind::program:
        s = run.program(item.value);
        if (s.failed()) return s;
        ++tally.programs;
        if (s.kind == StepKind::stop) tally.stopped = true;
        continue;
    }
    if (!count(s, tally, &Tally::mailboxes)) return s;
  }
  return finish(run, tally, via);
}

Step run_forward_file(const Context& ctx, Runner& run) {
  const std::string& file = ctx.target.forward;
  Step refusal;
  auto text = read_user_file(file, refusal);
  if (!text) return refusal.failed() ? refusal : temporary(text.error());
  auto items = parse_forward_file(*text, file);
  if (!items) return temporary(items.error(), "4.3.5");
  if (items->empty()) {
    if (text->empty()) return default_delivery(run);  // qmail: an empty .qmail is the default
    return temporary("no delivery instructions in " + file, "4.3.5");
  }
  return run_items(ctx, run, *items, ".forward");
}

Step run_alias(const Context& ctx, Runner& run) {
  std::vector<ForwardItem> items;
  for (const auto& text : ctx.target.alias_targets) {
    auto item = parse_forward_item(text);
    if (!item) return temporary("alias " + ctx.target.user + ": " + item.error().reason, "4.3.5");
    items.push_back(std::move(*item));
  }
  if (items.empty()) return temporary("alias " + ctx.target.user + " has no targets", "4.3.5");
  return run_items(ctx, run, items, "alias " + ctx.target.user);
}

// qmail-local's checks on the home before anything in it is trusted.
Step enter_home(const LocalTarget& t) {
  struct stat st;
  if (::stat(t.home.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return temporary(sys_error(ErrorKind::temporary, "find home directory " + t.home), "4.2.1");
  }
  if (t.kind != TargetKind::alias && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
    return temporary("home directory " + t.home + " is writable by others: refusing it", "4.7.0");
  }
  if (::chdir(t.home.c_str()) != 0) return temporary(sys_error(ErrorKind::temporary, "enter " + t.home), "4.2.1");
  return ok_step();
}

}  // namespace

Step deliver(const Context& ctx) {
  if (Step s = enter_home(ctx.target); s.failed()) return s;
  Runner run(ctx);
  if (ctx.target.kind == TargetKind::alias) return run_alias(ctx, run);
  if (!ctx.target.dotqmail.empty()) return run_dotqmail(ctx, run);
  if (!ctx.target.forward.empty()) return run_forward_file(ctx, run);
  return default_delivery(run);
}

}  // namespace quail::ld
