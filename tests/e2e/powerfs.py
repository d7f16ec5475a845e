#!/usr/bin/python3
"""powerfs: a test-only FUSE filesystem that forgets what was not fsync'ed.

A power cut keeps only what reached the disk; a kill -9 keeps the page cache, so
it never tests an fsync. powerfs holds the whole tree in memory twice: what
processes see, and what a power cut would leave (the approach of LazyFS). It is
the disk of the power-loss tests (tests/e2e/72-power-loss, tests/long/power_cut.py):

    powerfs.py MOUNTPOINT STATEFILE [--model strict|ordered] [--ignore-fsync REGEX]

(Debian's python3-pyfuse3; run as root.) It runs in the foreground until the
filesystem is unmounted.

What becomes durable, and when:
- A file's data (and size) when that file is fsync'ed or fdatasync'ed; a file
  never fsync'ed is empty after a cut, even if its name survives.
- model `strict` (POSIX's letter; ext2, ext4 without a journal): a directory's
  entries (create, mkdir, rename in or out, link, unlink, rmdir) when that
  directory is fsync'ed, each directory on its own. A rename from a/ to b/ whose
  b/ was fsync'ed and a/ not leaves the file under both names after a cut; one
  whose a/ was fsync'ed and b/ not leaves it under neither.
- model `ordered` (ext4 with its journal, data=ordered, Debian's default):
  namespace operations are atomic and kept in order: an fsync of any file or
  directory makes every namespace operation before it durable (one journal
  commit), but file data still only by that file's own fsync.
- Modes, owners and times are kept as they are (not modelled).
- `--ignore-fsync REGEX`: fsyncs of paths matching REGEX do nothing (a
  deliberately broken disk, to show the tests can see a missing fsync).

Control, by writing one line to MOUNTPOINT/.powerfs (root only):
- `sync`: everything is durable now (after `quail init`, before the load).
- `cut`: the power goes: the durable state is written to FILE, and from then
  on every operation fails with EIO, so nothing that happens after the cut can
  be acknowledged. Unmount, then start powerfs again with the same STATEFILE to
  "boot" on what survived (inode numbers kept: queue file names are inodes).
- `ignore [REGEX]`: as --ignore-fsync from now on (none without REGEX).
- `stats PATH`: counters (fsyncs seen, ignored) as JSON into PATH.
"""
import argparse
import errno
import json
import os
import pickle
import re
import stat
import sys
import time

import pyfuse3
import trio

CTL_NAME = b".powerfs"
CTL_INO = 2
ROOT = pyfuse3.ROOT_INODE


def err(code):
    return pyfuse3.FUSEError(code)


class Node:
    __slots__ = ("ino", "mode", "uid", "gid", "rdev", "data", "ddata", "entries", "dentries", "nlink",
                 "atime", "mtime", "ctime", "target", "parent")

    def __init__(self, ino, mode, uid=0, gid=0, rdev=0):
        now = time.time_ns()
        self.ino, self.mode, self.uid, self.gid, self.rdev = ino, mode, uid, gid, rdev
        self.data = bytearray()
        self.ddata = None  # the data as last fsync'ed (None: never: empty after a cut)
        self.entries = {} if stat.S_ISDIR(mode) else None  # name (bytes) -> ino
        self.dentries = {} if stat.S_ISDIR(mode) else None  # the entries as last made durable
        self.nlink = 0
        self.atime = self.mtime = self.ctime = now
        self.target = b""
        self.parent = ROOT  # of a directory, for ".."

    def is_dir(self):
        return stat.S_ISDIR(self.mode)


def boot(saved):
    """The tree a machine finds after the cut that wrote `saved`: the durable
    entries from the root down, each file with its data as last fsync'ed."""
    nodes = {}
    for ino, rec in saved["nodes"].items():
        n = Node(ino, rec["mode"], rec["uid"], rec["gid"], rec["rdev"])
        n.atime, n.mtime, n.ctime = rec["times"]
        n.target = rec["target"]
        n.data = bytearray(rec["ddata"] or b"")
        n.ddata = rec["ddata"]
        if n.is_dir():
            n.dentries = dict(rec["dentries"])
        nodes[ino] = n
    live, stack = {}, [ROOT]
    while stack:
        d = nodes[stack.pop()]
        if d.ino in live:
            continue
        live[d.ino] = d
        d.entries = {name: ino for name, ino in d.dentries.items() if ino in nodes}
        d.dentries = dict(d.entries)
        for ino in d.entries.values():
            if nodes[ino].is_dir():
                nodes[ino].parent = d.ino
                stack.append(ino)
            else:
                live[ino] = nodes[ino]
    for n in live.values():
        n.nlink = 2 if n.is_dir() else 0
    for n in list(live.values()):
        if n.is_dir():
            for ino in n.entries.values():
                if live[ino].is_dir():
                    n.nlink += 1
                else:
                    live[ino].nlink += 1
    return live, saved["next_ino"]


class PowerFS(pyfuse3.Operations):
    def __init__(self, state_file, model="strict", ignore=None):
        super().__init__()
        self.state_file, self.model = state_file, model
        self.ignore = re.compile(ignore) if ignore else None
        self.frozen = False
        self.dirty = set()  # directories whose entries are not all durable (ordered model)
        self.counts = {"fsync": 0, "fsyncdir": 0, "ignored": 0, "ops": 0}
        if os.path.exists(state_file):
            with open(state_file, "rb") as f:
                self.nodes, self.next_ino = boot(pickle.load(f))
        else:
            root = Node(ROOT, stat.S_IFDIR | 0o755)
            root.nlink = 2
            self.nodes, self.next_ino = {ROOT: root}, 3

    # ---------------------------------------------------------------- helpers
    def _node(self, ino):
        self.counts["ops"] += 1
        if self.frozen:
            raise err(errno.EIO)
        n = self.nodes.get(ino)
        if n is None:
            raise err(errno.ENOENT)
        return n

    def _dir(self, ino):
        d = self._node(ino)
        if not d.is_dir():
            raise err(errno.ENOTDIR)
        return d

    def _path(self, n):
        """A path of a directory (for --ignore-fsync; files are matched by any of their names)."""
        parts = []
        while n.ino != ROOT:
            p = self.nodes[n.parent]
            name = next((k for k, v in p.entries.items() if v == n.ino), b"?")
            parts.append(name.decode("latin-1"))
            n = p
        return "/" + "/".join(reversed(parts))

    def _file_paths(self, n):
        out = []
        for d in self.nodes.values():
            if d.is_dir():
                for name, ino in d.entries.items():
                    if ino == n.ino:
                        out.append(self._path(d).rstrip("/") + "/" + name.decode("latin-1"))
        return out

    def _ignored(self, paths):
        if self.ignore and any(self.ignore.search(p) for p in paths):
            self.counts["ignored"] += 1
            return True
        return False

    def _attr(self, n):
        a = pyfuse3.EntryAttributes()
        a.st_ino, a.st_mode, a.generation = n.ino, n.mode, 0
        a.st_nlink = max(n.nlink, 2 if n.is_dir() else 1)
        a.st_uid, a.st_gid, a.st_rdev = n.uid, n.gid, n.rdev
        a.st_size = len(n.target) if stat.S_ISLNK(n.mode) else (4096 if n.is_dir() else len(n.data))
        a.st_blksize, a.st_blocks = 4096, (a.st_size + 511) // 512
        a.st_atime_ns, a.st_mtime_ns, a.st_ctime_ns = n.atime, n.mtime, n.ctime
        a.attr_timeout = a.entry_timeout = 1.0  # the kernel is the only writer: its cache stays right
        return a

    def _ctl_attr(self):
        a = pyfuse3.EntryAttributes()
        a.st_ino, a.st_mode, a.st_nlink, a.st_size = CTL_INO, stat.S_IFREG | 0o600, 1, 0
        a.attr_timeout = a.entry_timeout = 0
        return a

    def _touch(self, d):
        d.mtime = d.ctime = time.time_ns()
        self.dirty.add(d.ino)

    def _new(self, mode, ctx, rdev=0):
        n = Node(self.next_ino, mode, ctx.uid, ctx.gid, rdev)
        self.next_ino += 1
        self.nodes[n.ino] = n
        return n

    def _add(self, d, name, n):
        if name in d.entries:
            raise err(errno.EEXIST)
        d.entries[name] = n.ino
        if n.is_dir():
            n.nlink, n.parent = 2, d.ino
            d.nlink += 1
        else:
            n.nlink += 1
        self._touch(d)

    def _drop(self, d, name):
        n = self.nodes[d.entries.pop(name)]
        if n.is_dir():
            d.nlink -= 1
            n.nlink = 0
        else:
            n.nlink -= 1
        n.ctime = time.time_ns()
        self._touch(d)
        # The node stays: an open descriptor or a durable entry may still name it
        # (a cut can bring a removed file back).

    def _commit_all(self):
        for ino in self.dirty:
            self.nodes[ino].dentries = dict(self.nodes[ino].entries)
        self.dirty.clear()

    def _resize(self, n, size):
        if len(n.data) > size:
            del n.data[size:]
        else:
            n.data.extend(b"\0" * (size - len(n.data)))
        n.mtime = n.ctime = time.time_ns()

    def _saved(self):
        """The nodes a boot can reach through durable entries, with what of them is durable."""
        keep, stack = {ROOT}, [ROOT]
        while stack:
            for ino in self.nodes[stack.pop()].dentries.values():
                if ino not in keep and ino in self.nodes:
                    keep.add(ino)
                    if self.nodes[ino].is_dir():
                        stack.append(ino)
        nodes = {}
        for ino in keep:
            n = self.nodes[ino]
            nodes[ino] = {"mode": n.mode, "uid": n.uid, "gid": n.gid, "rdev": n.rdev,
                          "times": (n.atime, n.mtime, n.ctime), "target": n.target,
                          "ddata": n.ddata, "dentries": dict(n.dentries) if n.is_dir() else None}
        return {"nodes": nodes, "next_ino": self.next_ino}

    def _control(self, line):
        words = line.decode("utf-8", "replace").split()
        if words == ["sync"]:
            for n in self.nodes.values():
                if n.is_dir():
                    n.dentries = dict(n.entries)
                elif stat.S_ISREG(n.mode):
                    n.ddata = bytes(n.data)
            self.dirty.clear()
        elif words == ["cut"]:
            self.frozen = True
            tmp = self.state_file + ".tmp"
            with open(tmp, "wb") as f:
                pickle.dump(self._saved(), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.state_file)
        elif words and words[0] == "ignore" and len(words) <= 2:
            self.ignore = re.compile(words[1]) if len(words) == 2 else None
        elif len(words) == 2 and words[0] == "stats":
            with open(words[1], "w") as f:
                json.dump(self.counts, f)
        else:
            raise err(errno.EINVAL)

    # ---------------------------------------------------------------- operations
    async def lookup(self, parent, name, ctx):
        if parent == ROOT and name == CTL_NAME:
            return self._ctl_attr()
        d = self._dir(parent)
        if name == b".":
            return self._attr(d)
        if name == b"..":
            return self._attr(self.nodes[d.parent])
        ino = d.entries.get(name)
        if ino is None:
            raise err(errno.ENOENT)
        return self._attr(self.nodes[ino])

    async def getattr(self, ino, ctx):
        if ino == CTL_INO:
            return self._ctl_attr()
        return self._attr(self._node(ino))

    async def setattr(self, ino, attr, fields, fh, ctx):
        if ino == CTL_INO:
            return self._ctl_attr()
        n = self._node(ino)
        now = time.time_ns()
        if fields.update_size:
            self._resize(n, attr.st_size)
        if fields.update_mode:
            n.mode = stat.S_IFMT(n.mode) | (attr.st_mode & 0o7777)
        if fields.update_uid:
            n.uid = attr.st_uid
        if fields.update_gid:
            n.gid = attr.st_gid
        if fields.update_atime:
            n.atime = attr.st_atime_ns
        if fields.update_mtime:
            n.mtime = attr.st_mtime_ns
        n.ctime = now
        return self._attr(n)

    async def readlink(self, ino, ctx):
        n = self._node(ino)
        if not stat.S_ISLNK(n.mode):
            raise err(errno.EINVAL)
        return n.target

    async def opendir(self, ino, ctx):
        self._dir(ino)
        return ino

    async def readdir(self, fh, start_id, token):
        d = self._dir(fh)
        items = sorted(d.entries.items(), key=lambda kv: kv[1])
        if fh == ROOT:
            items = [(CTL_NAME, CTL_INO)] + items
        for name, ino in items:
            if ino <= start_id:
                continue  # ids are inode numbers, so a listing survives a change in between
            attr = self._ctl_attr() if ino == CTL_INO else self._attr(self.nodes[ino])
            if not pyfuse3.readdir_reply(token, name, attr, ino):
                break

    async def releasedir(self, fh):
        pass

    async def fsyncdir(self, fh, datasync):
        d = self._dir(fh)
        self.counts["fsyncdir"] += 1
        if self._ignored([self._path(d)]):
            return
        if self.model == "ordered":
            self._commit_all()
        else:
            d.dentries = dict(d.entries)
            self.dirty.discard(d.ino)

    async def mkdir(self, parent, name, mode, ctx):
        d = self._dir(parent)
        n = self._new(stat.S_IFDIR | (mode & 0o7777), ctx)
        self._add(d, name, n)
        return self._attr(n)

    async def mknod(self, parent, name, mode, rdev, ctx):
        d = self._dir(parent)
        n = self._new(mode, ctx, rdev)
        self._add(d, name, n)
        return self._attr(n)

    async def symlink(self, parent, name, target, ctx):
        d = self._dir(parent)
        n = self._new(stat.S_IFLNK | 0o777, ctx)
        n.target = target
        self._add(d, name, n)
        return self._attr(n)

    async def unlink(self, parent, name, ctx):
        d = self._dir(parent)
        if name not in d.entries:
            raise err(errno.ENOENT)
        if self.nodes[d.entries[name]].is_dir():
            raise err(errno.EISDIR)
        self._drop(d, name)

    async def rmdir(self, parent, name, ctx):
        d = self._dir(parent)
        if name not in d.entries:
            raise err(errno.ENOENT)
        n = self.nodes[d.entries[name]]
        if not n.is_dir():
            raise err(errno.ENOTDIR)
        if n.entries:
            raise err(errno.ENOTEMPTY)
        self._drop(d, name)

    async def rename(self, old_parent, old_name, new_parent, new_name, flags, ctx):
        od, nd = self._dir(old_parent), self._dir(new_parent)
        if old_name not in od.entries:
            raise err(errno.ENOENT)
        if flags & ~pyfuse3.RENAME_NOREPLACE:
            raise err(errno.EINVAL)
        n = self.nodes[od.entries[old_name]]
        if new_name in nd.entries:
            if flags & pyfuse3.RENAME_NOREPLACE:
                raise err(errno.EEXIST)
            if nd.entries[new_name] == n.ino:
                return  # two names of one file: rename(2) does nothing
            victim = self.nodes[nd.entries[new_name]]
            if victim.is_dir():
                if not n.is_dir():
                    raise err(errno.EISDIR)
                if victim.entries:
                    raise err(errno.ENOTEMPTY)
            elif n.is_dir():
                raise err(errno.ENOTDIR)
            self._drop(nd, new_name)
        self._drop(od, old_name)
        self._add(nd, new_name, n)
        if n.is_dir():
            n.nlink = 2 + sum(1 for i in n.entries.values() if self.nodes[i].is_dir())

    async def link(self, ino, new_parent, new_name, ctx):
        n = self._node(ino)
        if n.is_dir():
            raise err(errno.EPERM)
        self._add(self._dir(new_parent), new_name, n)
        return self._attr(n)

    async def open(self, ino, flags, ctx):
        if ino != CTL_INO:
            n = self._node(ino)
            if flags & os.O_TRUNC:
                self._resize(n, 0)
        return pyfuse3.FileInfo(fh=ino, direct_io=(ino == CTL_INO))

    async def create(self, parent, name, mode, flags, ctx):
        d = self._dir(parent)
        n = self._new(stat.S_IFREG | (mode & 0o7777), ctx)
        self._add(d, name, n)
        return pyfuse3.FileInfo(fh=n.ino), self._attr(n)

    async def read(self, fh, off, size):
        if fh == CTL_INO:
            return b""
        return bytes(self._node(fh).data[off:off + size])

    async def write(self, fh, off, buf):
        if fh == CTL_INO:
            self._control(bytes(buf))
            return len(buf)
        n = self._node(fh)
        if len(n.data) < off:
            n.data.extend(b"\0" * (off - len(n.data)))
        n.data[off:off + len(buf)] = buf
        n.mtime = n.ctime = time.time_ns()
        return len(buf)

    async def fsync(self, fh, datasync):
        if fh == CTL_INO:
            return
        n = self._node(fh)
        self.counts["fsync"] += 1
        if self.ignore and self._ignored(self._file_paths(n)):
            return
        n.ddata = bytes(n.data)
        if self.model == "ordered":
            self._commit_all()

    async def flush(self, fh):
        pass

    async def release(self, fh):
        pass

    async def forget(self, inode_list):
        pass  # every node is kept until the filesystem ends

    async def access(self, ino, mode, ctx):
        if ino != CTL_INO:
            self._node(ino)

    async def statfs(self, ctx):
        s = pyfuse3.StatvfsData()
        s.f_bsize = s.f_frsize = 4096
        s.f_blocks = s.f_bfree = s.f_bavail = 1 << 22
        s.f_files = s.f_ffree = s.f_favail = 1 << 22
        s.f_namemax = 255
        return s


def main():
    ap = argparse.ArgumentParser(description="a test-only FUSE filesystem that forgets what was not fsync'ed")
    ap.add_argument("mountpoint")
    ap.add_argument("state_file")
    ap.add_argument("--model", choices=("strict", "ordered"), default="strict")
    ap.add_argument("--ignore-fsync", default="", metavar="REGEX")
    args = ap.parse_args()
    fs = PowerFS(os.path.abspath(args.state_file), args.model, args.ignore_fsync)
    opts = set(pyfuse3.default_options) - {"default_permissions"}
    opts |= {"fsname=powerfs", "allow_other", "default_permissions"}
    pyfuse3.init(fs, args.mountpoint, opts)
    print("mounted", flush=True)
    try:
        trio.run(pyfuse3.main)
    finally:
        pyfuse3.close(unmount=False)


if __name__ == "__main__":
    sys.exit(main())
