// list-httpd: the lists' RFC 8058 one-click unsubscription endpoint. One HTTP/1.1
// request per connection on fd 0/1, started by tcpserver behind tlsd (HTTPS).
// A GET of a list's one-click URL shows a button; a POST of
// "List-Unsubscribe=One-Click" to it hands the URL's list address to the queue,
// where list-manage, as the list's owner, checks the cookie and unsubscribes.
// It never touches a list itself and holds no list's secret. See man/list-httpd.8.
#include <cstdlib>
#include <ctime>
#include <string>

#include "address.hpp"
#include "date.hpp"
#include "envelope.hpp"
#include "fd.hpp"
#include "httpd.hpp"
#include "inject_client.hpp"
#include "list_oneclick.hpp"
#include "local_lookup.hpp"
#include "log.hpp"
#include "program.hpp"
#include "root.hpp"
#include "session_id.hpp"

namespace {

using namespace quail::httpd;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

struct Session {
  std::string root, sid, ip;
};

// Sends the answer and logs the request's one line; the exit code.
int answer(const Session& s, const quail::http::Request& req, int status, const std::string& page,
           std::string_view result, std::string_view detail, std::string_view extra = "") {
  (void)quail::write_all(1, response(status, page, req.method == "HEAD", extra));
  quail::log_info({{"sid", s.sid}, {"event", "request"}, {"ip", s.ip}, {"method", req.method}, {"status", status},
                   {"result", result}, {"detail", detail}});
  return exit_ok;
}

// True when the address is delivered here (a local domain, an existing user
// with that extension): a URL for anyone else's domain makes no mail.
quail::Result<bool> delivered_here(const std::string& root, const std::string& address) {
  auto cfg = quail::load_local_config(root);
  if (!cfg) return cfg.error();
  auto a = quail::parse_address(address, false);
  if (!a || !quail::is_local_domain(*cfg, a->domain())) return false;
  auto t = quail::lookup_local(*cfg, *a);
  if (!t) return t.error();
  return t->has_value();
}

// The request to the list: the URL's address as the recipient, the null sender
// (nothing answers list-httpd), and who asked, for the list's owner.
quail::Status hand_to_list(const Session& s, const quail::list::OneClickTarget& t) {
  std::string msg = "From: list-httpd <MAILER-DAEMON@" + t.address.substr(t.address.rfind('@') + 1) + ">\n" +
                    "To: " + t.address + "\n" + "Subject: one-click unsubscription of " + t.subscriber + "\n" +
                    "Date: " + quail::rfc5322_date(std::time(nullptr)) + "\n" + "Auto-Submitted: auto-generated\n\n" +
                    "An RFC 8058 one-click POST from " + (s.ip.empty() ? "an unknown address" : s.ip) +
                    " (session " + s.sid + ") asked to remove " + t.subscriber + " from " + t.list + ".\n";
  quail::Envelope e;
  e.recipients.push_back(quail::Recipient{t.address, "", ""});
  int code = -1;
  auto out = quail::inject_message(s.root, [&](int fd) { return quail::write_all(fd, msg); }, e, &code);
  if (!out) return out.error();
  if (code != 0) return quail::Error{quail::ErrorKind::temporary, out->text};
  return {};
}

int serve(const Session& s) {
  Exchange x = read_request(0, request_timeout_ms);
  if (x.status == -1) {
    quail::log_info({{"sid", s.sid}, {"event", "request"}, {"ip", s.ip}, {"result", "closed"}, {"detail", x.reason}});
    return exit_ok;
  }
  const auto& req = x.request;
  if (x.status != 0) return answer(s, req, x.status, error_page(x.status, x.reason), "refused", x.reason);
  if (req.method != "GET" && req.method != "HEAD" && req.method != "POST") {
    return answer(s, req, 405, error_page(405, "Only GET and POST are served here."), "refused", "method",
                  "Allow: GET, HEAD, POST\r\n");
  }
  auto path = quail::http::target_path(req.target);
  auto target = path ? quail::list::one_click_target(quail::http::last_segment(*path)) : std::nullopt;
  if (!target) return answer(s, req, 404, error_page(404, "This is not an unsubscribe link."), "refused", "not a one-click URL");
  auto here = delivered_here(s.root, target->address);
  if (!here) return answer(s, req, 503, error_page(503, "Please try again later."), "deferred", here.error().reason);
  if (!*here) return answer(s, req, 404, error_page(404, "This is not an unsubscribe link of this server."), "refused", "no such list: " + target->list);
  if (req.method != "POST") return answer(s, req, 200, confirm_page(target->list, target->subscriber), "page", target->address);
  if (!quail::http::one_click_body(req.field("content-type").value_or(""), x.body)) {
    return answer(s, req, 400, error_page(400, "A one-click request posts List-Unsubscribe=One-Click."), "refused", "body");
  }
  if (auto q = hand_to_list(s, *target); !q) {
    return answer(s, req, 503, error_page(503, "Please try again later."), "deferred", q.error().reason);
  }
  return answer(s, req, 200, done_page(target->list, target->subscriber), "queued", target->address);
}

}  // namespace

int main() {
  return quail::run_main("list-httpd", {exit_temporary, exit_temporary}, [&] {
    return serve(Session{quail::resolve_root(nullptr), quail::new_session_id(), env("TCPREMOTEIP")});
  });
}
