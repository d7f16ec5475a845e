// Commands of `quail queue` (retry, delete, hold, release), read from queue/cmd/
// when a 'c' comes through the trigger and at start. queue-send is the only
// program that changes a queued message, so the journal's rules hold for these
// too: a command file is removed only after what it asked is on disk, and a crash
// before that applies it again (each command is idempotent). Spec:
// queue-layout/README.md, "Queue tools"; man/quail-queue.8.
#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <unistd.h>
#include <vector>

#include "address.hpp"
#include "fd.hpp"
#include "log.hpp"
#include "queue_id.hpp"
#include "scheduler.hpp"

namespace quail {
namespace {
std::string domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lowercase(address.substr(at + 1));
}

bool final_state(RcptState s) { return s == RcptState::delivered || s == RcptState::failed; }
}  // namespace

void Scheduler::on_commands() {
  const std::string dir = store_.dirs().cmd();
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);  // .name: being written
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());  // <time>.<pid>: in the order they were given
  for (const auto& name : names) {
    std::string path = dir + "/" + name;
    auto text = read_file(path, 4096);
    if (!text) {
      if (text.error().kind != ErrorKind::not_found) log_error({{"event", "command"}, {"reason", text.error().reason}});
      continue;
    }
    auto c = parse_queue_command(*text);
    if (!c) {
      log_warn({{"event", "command"}, {"result", "refused"}, {"file", "cmd/" + name}});
    } else {
      std::string done = apply(*c);
      log_info({{"event", "command"}, {"command", format_queue_command(*c).substr(0, format_queue_command(*c).size() - 1)},
                {"result", done}});
    }
    ::unlink(path.c_str());
  }
}

std::string Scheduler::apply(const QueueCommand& c) {
  int64_t now = now_ns();
  if (c.verb == QueueVerb::retry && c.all) {
    // Every waiting recipient now, back-offs forgotten, held remote ones looked at again.
    for (auto& [id, d] : domains_) d.backoff_until = 0;
    size_t n = 0;
    for (auto& [id, m] : messages_) {
      if (m.hold_asked) continue;
      bool any = false;
      for (auto& r : m.rcpts) {
        if (r.state == RcptState::pending) r.next_ns = now, any = true;
      }
      if (any) wake(m), ++n;
    }
    unhold();
    return std::to_string(n) + " retried";
  }
  if (c.verb == QueueVerb::del && !c.domain.empty()) {
    size_t n = 0;
    std::vector<uint64_t> ids;
    for (auto& [id, m] : messages_) ids.push_back(id);
    for (uint64_t id : ids) {
      auto it = messages_.find(id);
      if (it == messages_.end()) continue;
      bool has = std::any_of(it->second.rcpts.begin(), it->second.rcpts.end(), [&](const Rcpt& r) {
        return !final_state(r.state) && domain_of(r.address) == c.domain;
      });
      if (has) delete_rcpts(it->second, c.domain, c.bounce), ++n;
    }
    return std::to_string(n) + " deleted";
  }
  Message* m = find_message(c.id, c.verb != QueueVerb::hold);
  if (!m) return "not found";
  switch (c.verb) {
    case QueueVerb::retry:
      for (auto& r : m->rcpts) {
        if (r.state == RcptState::pending) r.next_ns = now;
      }
      wake(*m);
      return "retried";
    case QueueVerb::del:
      delete_rcpts(*m, "", c.bounce);
      return "deleted";
    case QueueVerb::hold:
      m->hold_asked = true;
      if (m->active == 0) stow(*m);  // else when its pass ends (settle)
      return "held";
    case QueueVerb::release:
      // find_message brought it back from hold/; a release is also a retry, as
      // a person releasing a message expects it to go now.
      for (auto& r : m->rcpts) {
        if (r.state == RcptState::pending) r.next_ns = now;
      }
      wake(*m);
      return "released";
  }
  return "";
}

// The message `id` names, loaded if it is not yet (from todo/ or mess/, or from
// hold/ when from_hold): null when no queue file has that inode and birth.
Message* Scheduler::find_message(std::string_view id, bool from_hold) {
  auto parts = parse_message_id(id);
  if (!parts) return nullptr;
  auto it = messages_.find(parts->inode);
  if (it != messages_.end()) return it->second.birth_ns == parts->birth_ns ? &it->second : nullptr;
  const std::string name = std::to_string(parts->inode);
  auto born = [&](const std::string& path) {
    auto f = read_queue_file(path);
    return f && f->header.birth_ns == parts->birth_ns;
  };
  bool in_todo = born(store_.dirs().todo() + "/" + name);
  if (!in_todo && !born(store_.dirs().mess() + "/" + name)) {
    if (!from_hold || !born(store_.dirs().hold() + "/" + name)) return nullptr;
    if (auto st = store_.unstow(parts->inode); !st) {
      log_error({{"msg", std::string(id)}, {"event", "hold"}, {"result", "not released"}, {"reason", st.error().reason}});
      return nullptr;
    }
  }
  // Loaded now rather than when its turn in the backlog comes (which then finds it loaded).
  auto m = store_.load(parts->inode, in_todo, in_todo);
  if (!m) return nullptr;
  known_.emplace(parts->inode, in_todo ? Origin::todo : Origin::mess);
  adopt(std::move(*m), in_todo);
  it = messages_.find(parts->inode);
  return it == messages_.end() ? nullptr : &it->second;
}

// Fails every recipient not yet final (at `domain` only, when given): at once when
// it waits, after its running delivery when it is under way (a deferral then
// fails it). Without bounce no notice goes out: the F records are followed by a B.
void Scheduler::delete_rcpts(Message& m, const std::string& domain, bool bounce) {
  for (auto& r : m.rcpts) {
    if (final_state(r.state) || (!domain.empty() && domain_of(r.address) != domain)) continue;
    if (r.state == RcptState::queued || r.state == RcptState::running) {
      r.deleted = true;
      r.delete_bounce = bounce;
      continue;
    }
    r.state = RcptState::failed;
    r.reason = std::string(deleted_reason);
    r.recorded = false;
    r.bounced = !bounce;
    r.t_due = false;
  }
  m.hold_asked = false;
  if (m.active > 0) return;  // settled when its running deliveries end
  const uint64_t id = m.id;
  settle(m);
  auto it = messages_.find(id);
  if (it == messages_.end() || bounce) return;
  // Still queued (other recipients wait): a B after the F records, so a restart
  // does not bounce what was deleted silently; only when no other failure still
  // owes its notice, which a B would also cover. XXX otherwise a restart bounces
  // the deleted recipients with it.
  Message& left = it->second;
  bool owed = std::any_of(left.rcpts.begin(), left.rcpts.end(),
                          [](const Rcpt& r) { return r.state == RcptState::failed && !r.bounced; });
  if (!owed) append_notice_records(left, true, "");
}

// mess/<id> to hold/<id>: queue-send forgets the message until `quail queue release`.
void Scheduler::stow(Message& m) {
  flush_journal(m);  // its T records too: they give the retry times after the release
  const uint64_t id = m.id;
  if (auto st = store_.stow(m); !st) {
    log_error({{"msg", m.id_str()}, {"event", "hold"}, {"reason", st.error().reason}});
    m.hold_asked = false;
    wake(m);
    return;
  }
  log_info({{"msg", m.id_str()}, {"event", "hold"}});
  held_.erase(id);
  known_.erase(id);
  if (m.orphan) rescued_[id] = m.birth_ns;  // a late todo/ name must not bring it back from hold/
  messages_.erase(id);
}

}  // namespace quail
