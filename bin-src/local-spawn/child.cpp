// A delivery child: see child.hpp. Runs as root when local-spawn switches users,
// until become(); trusts the request only as decode_request checked it.
#include "child.hpp"

#include <csignal>
#include <cstdlib>
#include <exception>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config_cache.hpp"
#include "fd.hpp"
#include "identity.hpp"
#include "local_lookup.hpp"
#include "log.hpp"
#include "run.hpp"
#include "srs_key.hpp"

namespace quail {
namespace {

// fd 0 the message, fd 1 the reason pipe, fd 2 the log; nothing else: not the
// scheduler's socket, not the other children's pipes, not the signal pipe.
bool take_descriptors(int message_fd, int reason_fd) {
  if (::dup2(message_fd, 0) < 0 || ::dup2(reason_fd, 1) < 0) return false;
  close_from(3);
  return true;
}

// One alias `\user` item, in a grandchild that becomes that user: the outcome
// comes back as the exit code (0, 100, 111) and the reason on a pipe. Anything
// that goes wrong here is temporary.
ld::Step deliver_as_user(const ld::DeliveryRequest& req, const LocalConfig& cfg, const LocalTarget& user) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ld::temporary(sys_error(ErrorKind::temporary, "create a pipe"));
  Fd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ld::temporary(sys_error(ErrorKind::temporary, "fork"));
  if (pid == 0) {
    rd.reset();
    ld::Step s = ld::temporary("unable to switch to uid " + std::to_string(user.uid));
    if (become(Identity{user.uid, user.gid, user.user})) s = ld::deliver_to_own_maildir(req, cfg, user);
    (void)write_all(wr.get(), s.reason);
    _exit(s.kind == ld::StepKind::temporary ? 111 : s.kind == ld::StepKind::permanent ? 100 : 0);
  }
  wr.reset();
  std::string reason;
  char buf[1024];
  ssize_t n;
  while (reason.size() < 4096 && ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))) {
    if (n > 0) reason.append(buf, static_cast<size_t>(n));
  }
  int w = 0;
  while (::waitpid(pid, &w, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(w) && WEXITSTATUS(w) == 0) return ld::ok_step();
  if (WIFEXITED(w) && WEXITSTATUS(w) == 100 && !reason.empty()) return {ld::StepKind::permanent, reason};
  if (WIFEXITED(w) && WEXITSTATUS(w) == 111 && !reason.empty()) return {ld::StepKind::temporary, reason};
  return ld::temporary("the delivery to " + user.user + "'s Maildir ended abnormally");
}

int deliver(const LspawnRequest& r, const std::string& root, bool switching_users) {
  ld::DeliveryRequest req{std::to_string(r.dlv), r.message_length, r.sender, r.recipient};
  // control/ as it is now: a user or domain added since local-spawn started counts.
  auto cfg = cached_local_config(root);
  if (!cfg) return ld::report_temporary(req.dlv, req.recipient, cfg.error().reason);
  // Read here, as root, before the child becomes the recipient: the key stays
  // readable only by smtpd's user (man/mailauth.8, "Forwarding (SRS)").
  auto srs_key = cached_srs_key(root);
  if (!srs_key) return ld::report_temporary(req.dlv, req.recipient, srs_key.error().reason, "4.3.5");
  cfg->srs_key = std::move(*srs_key);
  ld::SelfOutcomes selves;
  if (switching_users) {
    // An alias's \user items naming logins are delivered first, each as its login.
    auto users = ld::alias_system_users(req, *cfg);
    if (!users) return ld::report_temporary(req.dlv, req.recipient, users.error().reason, "4.3.0");
    for (const auto& u : *users) selves[u.user] = deliver_as_user(req, *cfg, u);
    std::string why;
    auto id = delivery_identity(*cfg, r.recipient, why);
    if (!id) return ld::report_temporary(req.dlv, req.recipient, why, "4.3.0");
    if (id->uid == 0) return ld::report_temporary(req.dlv, req.recipient, "refusing to deliver as root", "4.3.0");
    if (!become(*id)) {
      return ld::report_temporary(req.dlv, req.recipient, "unable to switch to uid " + std::to_string(id->uid), "4.3.0");
    }
  }
  return ld::run_delivery(req, &*cfg, switching_users ? &selves : nullptr);
}

}  // namespace

void close_from(int lowest) {
  if (::close_range(static_cast<unsigned>(lowest), ~0U, 0) == 0) return;
  for (long fd = lowest, max = ::sysconf(_SC_OPEN_MAX); fd < max; ++fd) ::close(static_cast<int>(fd));
}

int deliver_request(const LspawnRequest& r, const std::string& root, bool switching_users, bool& healthy) {
  return guarded_delivery([&] { return deliver(r, root, switching_users); }, healthy);
}

int guarded_delivery(const std::function<int()>& deliver, bool& healthy) {
  healthy = false;
  try {
    int code = deliver();
    healthy = true;
    return code;
  } catch (const std::bad_alloc&) {
    log_error({{"event", "fatal"}, {"reason", "out of memory"}});
  } catch (const std::exception& e) {
    log_error({{"event", "fatal"}, {"reason", std::string("internal error: ") + e.what()}});
  }
  return 111;
}

void reset_child_signals(const std::vector<int>& differ) {
  for (int sig : differ) ::signal(sig, sig == SIGPIPE ? SIG_IGN : SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void take_child_environment(const std::vector<std::string>& env) {
  ::clearenv();
  for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));  // the strings outlive the child's use
}

std::vector<int> signals_to_reset() {
  std::vector<int> differ;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction now;
    if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &now) != 0) continue;
    bool ignored = !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_IGN;
    bool plain = !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
    if (sig == SIGPIPE ? !ignored : !plain) differ.push_back(sig);
  }
  return differ;
}

void run_delivery_child(const ChildSpec& spec) {
  reset_child_signals(*spec.reset_signals);
  if (!take_descriptors(spec.message_fd, spec.reason_fd)) _exit(111);
  forget_inherited_tables();  // the server's routing lookups (uid_route.hpp) opened them
  take_child_environment(*spec.env);
  log_set_program("local-deliver");
  bool healthy;
  _exit(deliver_request(*spec.req, spec.root, spec.switching_users, healthy));
}

}  // namespace quail
