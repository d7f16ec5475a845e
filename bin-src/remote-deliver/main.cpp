// remote-deliver: deliver messages to their recipients at one domain over SMTP,
// and report each recipient's outcome on fd 1 in qmail-remote's format: one
// message given by the arguments, or (a kept run) one job after another from
// queue-send on fd 0, over one connection. See man/remote-deliver.8. Trusts
// queue-send for its arguments and fd 0; trusts no peer and no DNS answer.
#include <memory>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery.hpp"
#include "log.hpp"
#include "program.hpp"
#include "queue_file.hpp"
#include "remote_job.hpp"
#include "root.hpp"

namespace {

// Set-uid quail-remote in a system install: runs only for queue-send's user (the
// owner of queue/stat). Only group quail-send may execute us; this second lock
// keeps a uid added to that group, or an install not yet regrouped, from signing
// with the DKIM keys and relaying with control/smtpauth (privileges.md, weakness 1).
bool caller_allowed() {
  if (::getuid() == ::geteuid()) return true;
  struct stat st;
  std::string stat_dir = quail::QueueDirs(quail::resolve_root(nullptr)).stat();
  if (::stat(stat_dir.c_str(), &st) == 0 && st.st_uid == ::getuid()) return true;
  quail::log_error({{"event", "trouble"},
                    {"reason", "run set-uid by uid " + std::to_string(::getuid()) + ", not by queue-send's user (the owner of " +
                                   stat_dir + ")"}});
  return false;
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// "remote-deliver domain" with fd 0 a socket: jobs until queue-send closes it.
int serve_jobs(const std::string& domain) {
  using namespace quail::rd;
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET) return usage();
  auto d = std::make_unique<Delivery>(domain);
  d->load_settings();
  for (;;) {
    quail::Fd msg;
    auto job = quail::recv_job(0, msg);                               // the next message, or the end
    if (!job && job.error().kind == quail::ErrorKind::not_found) break;
    if (d->settings_changed()) {                                      // an edit: new routes, new connection
      d->close();
      d = std::make_unique<Delivery>(domain);
      d->load_settings();
    }
    if (!job) {
      // No report can be framed for a job we could not read: queue-send defers it on our exit.
      quail::log_error({{"event", "trouble"}, {"reason", job.error().reason}});
      return exit_temporary;
    }
    auto req = read_job(domain, msg.get(), job->message_length, job->rcpts);
    msg.reset();
    int code = req ? d->deliver(std::move(*req))                       // r/h/s per recipient, then K/Z/D
                   : report_all_deferred(static_cast<int>(job->rcpts.size()), req.error().reason + " (#4.3.0)");
    if (code != exit_ok) return code;                                 // fd 1 is gone: so is queue-send
  }
  d->close();                                                         // QUIT on the kept connection
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace quail::rd;
  return quail::run_main("remote-deliver", {exit_temporary, exit_temporary}, [&] {
    if (!caller_allowed()) return exit_temporary;
    if (argc == 2) return serve_jobs(lower(argv[1]));
    if (argc < 4) return usage();
    auto req = quail::rd::read_request(argc, argv);                   // the message and its DSN records
    if (!req) return report_all_deferred(argc - 3, req.error().reason + " (#4.3.0)");
    Delivery d(req->domain);
    d.load_settings();                                                // control files: a bad one defers
    int code = d.deliver(std::move(*req));                            // loops, route, hosts, the report
    d.close();
    return code;
  });
}
