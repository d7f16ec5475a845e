// store-bench: the abuse-control store's update rate with W writer processes,
// as W smtpd sessions would update it (`make bench`, bench/abuse_load.py).
//   store-bench DIR|redis://IP:PORT WRITERS UPDATES_PER_WRITER
// Each writer opens the store itself and adds 1 to one shared counter and to a
// key of its own per update. Prints "<updates> <seconds> <updates/s> <lost>"; lost
// is the shared counter's shortfall (0 unless an update was lost).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "state_store.hpp"

namespace {

quail::Result<std::unique_ptr<quail::StateStore>> open(const std::string& where) {
  if (where.rfind("redis://", 0) == 0) {
    auto c = quail::parse_state_store_config(where);
    if (!c) return c.error();
    return quail::open_redis_state_store(c->host, c->port, 5000);
  }
  return quail::open_lmdb_state_store(where);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: store-bench DIR|redis://IP:PORT WRITERS UPDATES_PER_WRITER\n");
    return 100;
  }
  std::string where = argv[1];
  int writers = std::atoi(argv[2]), each = std::atoi(argv[3]);
  std::string key = "bench:" + std::to_string(::getpid());
  auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < writers; ++w) {
    if (::fork() == 0) {
      auto s = open(where);
      if (!s) ::_exit(2);
      for (int i = 0; i < each; ++i) {
        // Two keys per update, as a message counts its client and its user.
        if (!(*s)->add(key, 1, 3600, 1) || !(*s)->add(key + ":" + std::to_string(w), 1, 3600, 1)) ::_exit(3);
      }
      ::_exit(0);
    }
  }
  int failed = 0, st;
  while (::wait(&st) > 0) failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto s = open(where);
  if (!s || failed) {
    std::fprintf(stderr, "store-bench: %d writers failed\n", failed);
    return 111;
  }
  int64_t total = (*s)->get(key, 1)->value_or(0);
  (*s)->erase(key);
  for (int w = 0; w < writers; ++w) (*s)->erase(key + ":" + std::to_string(w));
  long updates = long(writers) * each;
  std::printf("%ld %.3f %.0f %ld\n", updates, secs, updates / secs, updates - long(total));
  return 0;
}
