// control/ as a delivery reads it, kept by local-spawn's long-lived processes
// (the server as it routes, a worker between its deliveries) and read again
// only when a file it came from changed, so a delivery pays a stat per file
// instead of an open, reads and a close, in the server and again in the
// worker. A change counts for the next delivery, as a fresh read did. See
// man/local-spawn.8, "Workers".
#pragma once
#include <memory>
#include <string>

#include "local_lookup.hpp"
#include "result.hpp"

namespace quail {

class ListSecret;

// What a read must be older than, after the last change of a file it read, to
// be kept: a change within the same timestamp tick (coarse clocks, 1 s on some
// filesystems) as the one before the read would leave the file's stat as it was.
inline constexpr long long control_settle_ns = 2'000'000'000LL;

// load_local_config(root), read again when control/me, locals, virtualdomains,
// system or minuid (every file it reads; a file created, removed or replaced
// changes its stat too) or the last good snapshot (run/control.good) differs
// from its stat before the last read (device, inode, size, mtime, ctime), or
// when that read was within control_settle_ns of a change of one of them. An
// error is never kept; nothing is kept where control/ is on a network or FUSE
// filesystem (a stat there may come from an attribute cache).
Result<LocalConfig> cached_local_config(const std::string& root);

// load_srs_key(root), on the same terms (control/srs/key).
Result<std::shared_ptr<const ListSecret>> cached_srs_key(const std::string& root);

// Drops what this process keeps (a worker that has just become its user: it
// reads control/ as that user, as a fresh child would, not the copy its root
// parent read); the next call reads the files.
void forget_cached_control();

}  // namespace quail
