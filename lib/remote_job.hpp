// The job channel between queue-send and a remote-deliver run that takes several
// messages for one domain in turn (man/remote-deliver.8, "KEPT RUNS"): one job per
// SOCK_SEQPACKET packet on the run's descriptor 0, the queue file attached
// (SCM_RIGHTS) and positioned at the message; the reports come back on the run's
// descriptor 1, qmail-remote's, one after another. remote-deliver trusts no field.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"
#include "result.hpp"

namespace quail {

// At most this many recipients per job (queue-send splits a domain's recipients
// of one message into jobs of this size; peers take 100 per transaction anyway).
inline constexpr size_t remote_job_max_rcpts = 1000;

struct RemoteJob {
  uint64_t dlv = 0;             // queue-send's delivery number, for the log
  uint64_t message_length = 0;  // bytes of message before the envelope
  std::vector<uint32_t> rcpts;  // indexes of the recipients in the queue file's envelope
};

// "dlv\0length\0i\0i\0...": decimal, no leading zeros, at least one recipient.
std::string encode_job(const RemoteJob& j);
Result<RemoteJob> decode_job(std::string_view packet);

// Sends a job with msg_fd attached.
Status send_job(int sock, const RemoteJob& j, int msg_fd);
// Receives a job and its fd; not_found at end of stream (queue-send closed it).
Result<RemoteJob> recv_job(int sock, Fd& msg_fd);

// The length of the first complete qmail-remote report at the start of buf for a
// job of `recipients` recipients (recipients + 1 NUL-ended items), or 0 while it
// is incomplete.
size_t remote_report_length(std::string_view buf, size_t recipients);

}  // namespace quail
