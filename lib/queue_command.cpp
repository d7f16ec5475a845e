// Commands for queue-send: see queue_command.hpp.
#include "queue_command.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "durable.hpp"
#include "fd.hpp"

#include "address.hpp"
#include "queue_id.hpp"

namespace quail {
namespace {
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size() && out.size() < 4) {
    size_t sp = line.find(' ', i);
    if (sp == std::string_view::npos) sp = line.size();
    out.push_back(line.substr(i, sp - i));
    i = sp + 1;
  }
  if (i < line.size()) out.push_back(line.substr(i));  // a fifth word: refused below
  return out;
}

bool valid_domain_text(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  for (char c : d) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' || c == ']' ||
              c == ':';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

std::optional<QueueCommand> parse_queue_command(std::string_view text) {
  if (text.size() > 512 || text.empty() || text.back() != '\n') return std::nullopt;
  text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos || text.empty() || text.back() == ' ') return std::nullopt;
  auto w = words(text);
  if (w.size() < 2 || w.size() > 3) return std::nullopt;
  for (auto x : w) {
    if (x.empty()) return std::nullopt;
  }
  QueueCommand c;
  if (w[0] == "retry") c.verb = QueueVerb::retry;
  else if (w[0] == "delete") c.verb = QueueVerb::del;
  else if (w[0] == "hold") c.verb = QueueVerb::hold;
  else if (w[0] == "release") c.verb = QueueVerb::release;
  else return std::nullopt;
  if (w.size() == 3 && !(c.verb == QueueVerb::del && w[2] == "bounce")) return std::nullopt;
  c.bounce = w.size() == 3;
  if (w[1] == "all" && c.verb == QueueVerb::retry) {
    c.all = true;
  } else if (w[1].front() == '@' && c.verb == QueueVerb::del) {
    c.domain = lowercase(w[1].substr(1));
    if (!valid_domain_text(c.domain)) return std::nullopt;
  } else if (parse_message_id(w[1])) {
    c.id = std::string(w[1]);
  } else {
    return std::nullopt;
  }
  return c;
}

std::string format_queue_command(const QueueCommand& c) {
  static constexpr std::string_view verbs[] = {"retry", "delete", "hold", "release"};
  std::string out(verbs[static_cast<int>(c.verb)]);
  out += ' ';
  out += c.all ? "all" : !c.domain.empty() ? "@" + c.domain : c.id;
  if (c.bounce) out += " bounce";
  return out + "\n";
}

Result<CommandOutcome> give_queue_command(const QueueDirs& dirs, const QueueCommand& c, int wait_ms) {
  const std::string dir = dirs.cmd();
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return sys_error(ErrorKind::temporary, "mkdir " + dir);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char name[64];
  std::snprintf(name, sizeof name, "%020lld.%d",
                static_cast<long long>(ts.tv_sec) * 1000000000 + ts.tv_nsec, static_cast<int>(::getpid()));
  const std::string tmp = dir + "/." + name, path = dir + "/" + name;
  {
    // 0644: queue-send runs as another user in a system install and must read it.
    auto fd = open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (!fd) return fd.error();
    ::fchmod(fd->get(), 0644);  // whatever the caller's umask
    if (!write_all(fd->get(), format_queue_command(c))) {
      ::unlink(tmp.c_str());
      return sys_error(ErrorKind::io_write, "write " + tmp);
    }
    if (auto s = fsync_fd(fd->get(), tmp); !s) {
      ::unlink(tmp.c_str());
      return s.error();
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return sys_error(ErrorKind::temporary, "rename " + tmp);
  }
  if (auto s = fsync_dir(dir); !s) return s.error();
  int t = ::open(dirs.trigger().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (t < 0) {
    if (errno == ENXIO) return CommandOutcome::not_running;  // a FIFO nobody reads
    return sys_error(ErrorKind::temporary, "open " + dirs.trigger());
  }
  (void)!::write(t, "c", 1);
  ::close(t);
  for (int waited = 0; waited < wait_ms; waited += 20) {
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return CommandOutcome::done;
    ::usleep(20000);
  }
  return CommandOutcome::pending;
}

}  // namespace quail
