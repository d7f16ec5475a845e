// The scheduler: every queued message in a compact form, a min-heap of
// next-attempt times, delivery slots, and the event loop (trigger FIFO, signals,
// children's pipes) that drives messages from S2 to S5 of queue-layout/README.md.
// No event rescans the queue: the cost of an event does not grow with its size
// (the walk of mess/ for orphans, every few minutes, goes a slice per loop turn).
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "delivery.hpp"
#include "fd.hpp"
#include "orphans.hpp"
#include "queue_command.hpp"
#include "settings.hpp"
#include "store.hpp"

namespace quail {

class Scheduler {
 public:
  Scheduler(Settings s) : s_(std::move(s)), store_(s_.root) {}
  // Opens the trigger FIFO and the signal fd, lists todo/ and mess/ (names only)
  // and clears tmp/ debris. After this the scheduler is ready (QUAIL_READY_FD).
  Status start();
  // The event loop; returns the exit code after SIGTERM once running deliveries ended.
  int run();

 private:
  struct Wake {
    int64_t when;
    uint64_t id;
    bool operator>(const Wake& o) const { return when > o.when; }
  };
  struct Job {
    uint64_t msg;
    std::vector<uint32_t> rcpts;  // one for local; a domain's for remote
    std::string domain;           // remote only
    std::string sender;           // local: the return path (VERP applied); remote: the envelope sender
  };
  // A todo/ name seen for a message waiting in mess/ goes once it is loaded.
  enum class Origin : uint8_t { todo, mess, mess_and_late_todo };
  struct Pending {
    uint64_t id;
    bool from_todo;
    bool orphan = false;  // found in mess/ alone by the walk (scheduler_orphans.cpp)
  };
  // A remote-deliver run kept for one domain: it takes the domain's jobs one at a
  // time over its job socket and writes one report per job on its fd 1
  // (man/queue-send.8, "KEPT REMOTE RUNS"; lib/remote_job).
  struct RemoteRun {
    pid_t pid = -1;
    std::string domain;
    Fd sock;                  // our end of its job socket; closed, the run QUITs and exits
    Fd out;                   // its fd 1
    bool eof = false;
    bool stale = false;       // ends after its job (settings reloaded, stopping)
    std::string buf;          // report bytes not yet matched to the job
    bool busy = false;        // job holds the job under way
    Attempt job;
    int64_t started_ns = 0;
    int64_t idle_since_ns = 0;
    uint64_t jobs = 0;
  };
  // A remote destination's state, kept while it has runs, waiting jobs or a back-off.
  struct Domain {
    int64_t running = 0;        // live runs (busy, idle or closing)
    std::vector<pid_t> idle;    // runs waiting for a job, the most recently used last
    int failures = 0;           // remote runs in a row in which every recipient was deferred
    int64_t backoff_until = 0;  // no new run starts before this (ns)
    std::deque<Job> waiting;    // jobs over concurrencyperdomain, in order
  };

  // Loading (scheduler.cpp)
  void queue_load(uint64_t id, bool from_todo, bool fresh, bool orphan = false);
  void load_some();
  void load_one(const Pending& p);
  void retry_loads(int64_t now);
  void adopt(Message m, bool taken);
  // Orphans in mess/ and todo/ names that come late (scheduler_orphans.cpp)
  void rescan(int64_t now);
  void judge_suspects(int64_t now);
  void todo_name_of_known(uint64_t id, Origin& origin);
  bool todo_name_of_rescued(uint64_t id);
  void drop_late_todo(uint64_t id, const std::string& msg);
  // Scheduling
  void wake(Message& m);
  void run_due(int64_t now);
  void dispatch(Message& m, int64_t now);
  void start_deliveries();
  void start_job(Job& job);  // a local delivery
  void job_trouble(const Job& job, uint64_t dlv, const Error& e);  // defers its recipients
  void finish(Attempt& a, const ExitStatus& st);
  void record(Message& m, uint32_t n, const RcptResult& r, uint64_t dlv, int64_t now);
  // Remote destinations (scheduler_domains.cpp)
  int64_t retry_at(const Message& m, const Rcpt& r, int64_t now) const;
  int64_t backoff_until(const std::string& domain, int64_t now) const;
  void return_job(const Job& job, int64_t until);
  // A job's results: the domain's back-off; true when it is backed off now.
  bool domain_result(const std::string& domain, const std::vector<RcptResult>& results, int64_t now);
  // A run of the domain ended: its slot goes to the domain's next waiting job.
  void run_ended(const std::string& domain);
  // Kept remote runs (scheduler_remote.cpp)
  void start_remote(int64_t now);
  bool start_run(Job& job);
  bool hand(RemoteRun& run, Job& job);
  void on_run_output(RemoteRun& run);
  void run_idle(RemoteRun& run, int64_t now);
  void retire(RemoteRun& run);
  void retire_runs();  // each run ends (an idle one now, a busy one after its job)
  bool retire_one_idle();
  void run_exited(pid_t pid, const ExitStatus& st);
  void expire_runs(int64_t now);
  int64_t next_run_expiry() const;
  // Ends of passes (scheduler_settle.cpp)
  void settle(Message& m);
  bool flush_journal(Message& m);
  std::string notices(Message& m, int64_t now);  // queues what m owes; returns its R/W records
  void append_notice_records(Message& m, bool b, const std::string& records);  // B first when b
  void unhold();
  void drop_ready();
  void reload();

  // Commands of `quail queue` from queue/cmd/ (scheduler_commands.cpp)
  void on_commands();
  std::string apply(const QueueCommand& c);  // what was done, for the log
  Message* find_message(std::string_view id, bool from_hold);
  void delete_rcpts(Message& m, const std::string& domain, bool bounce);
  void stow(Message& m);

  // local-spawn, in system installs (scheduler_lspawn.cpp)
  Status open_lspawn();
  Status start_via_lspawn(Attempt& a, const Message& m, const Job& job, int msg_fd);
  void on_lspawn();
  void close_lspawn();

  // Events (scheduler_loop.cpp)
  void on_trigger();
  void list_todo();
  bool on_signals();
  void reap();
  int poll_timeout(int64_t now) const;

  Settings s_;
  Store store_;
  Fd trigger_r_, trigger_w_, signals_;
  std::unordered_map<uint64_t, Message> messages_;
  // Ids loaded or waiting to be loaded, and where a waiting one is loaded from.
  std::unordered_map<uint64_t, Origin> known_;
  std::unordered_set<uint64_t> held_;   // messages with held recipients
  // Files that did not parse, by id: the ctime (ns) of the file seen. Not read
  // again while that file is there; a new file under the id (quail check moved the
  // old one, the inode was reused) is loaded.
  std::unordered_map<uint64_t, int64_t> corrupt_;
  std::deque<Pending> fresh_;           // found by a trigger: loaded first
  std::deque<Pending> backlog_;         // found at start: loaded a batch at a time
  std::deque<Pending> load_retry_;      // failed to load for a temporary reason: tried again
  int64_t load_retry_ns_ = 0;           // when (0: nothing waits)
  bool relist_todo_ = false;            // listing todo/ after a trigger failed: list it again then
  std::optional<MessWalk> walk_;        // the walk of mess/ for orphans under way
  int64_t next_rescan_ns_ = 0;
  std::vector<uint64_t> suspects_;      // ids of the walk's slice that nothing holds
  // Orphans taken and done, by id: their births. A writer the walk judged dead
  // that still renames its tmp/ name into todo/ brings the same file back; kept
  // while a tmp/ name of the file is there, as only that name can come back.
  std::unordered_map<uint64_t, int64_t> rescued_;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<Wake>> heap_;
  std::deque<Job> ready_local_, ready_remote_;
  std::unordered_map<std::string, Domain> domains_;
  std::unordered_map<pid_t, Attempt> running_;
  std::unordered_map<pid_t, RemoteRun> runs_;   // remote-deliver runs, by pid
  Fd lspawn_;                                   // $QUAIL_LSPAWN_FD: local-spawn's socket
  std::unordered_map<uint64_t, Attempt> spawned_;  // local deliveries local-spawn runs, by dlv
  int64_t running_local_ = 0;
  int64_t running_remote_ = 0;  // remote-deliver runs alive (busy, idle or closing)
  uint64_t next_dlv_ = 1;
  int64_t next_tmp_clean_ns_ = 0;
  bool stopping_ = false;
  int exit_code_ = 0;
  std::vector<std::string> child_env_;
};

int64_t now_ns();

// The failure reason of a recipient removed by `quail queue delete` (in its
// bounce with --bounce, and in the journal's F record).
inline constexpr std::string_view deleted_reason = "Deleted from the queue by the postmaster. (#5.0.0)";

}  // namespace quail
