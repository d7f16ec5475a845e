"""filesystems: where a bench-peers pass keeps every system's queue and Maildir
(issue 13, target 3). "here" is a directory in /var/tmp on the machine's own
filesystem (ext4 without a journal on the development VM); "ext4-journal" a fresh
ext4 made with mkfs defaults (so with a journal), "xfs" a fresh XFS (when xfsprogs
is installed), each in a sparse 4 GiB file under /var/tmp, loop-mounted without
discard. OpenSMTPD's spool is fixed at /var/spool/smtpd: a directory of the fresh
filesystem is bind-mounted there for the pass. Needs root for the fresh ones.
"""
import os
import shutil
import subprocess
import tempfile

KINDS = ("here", "ext4-journal", "xfs")
SIZE = 4 << 30


def available(kind):
    """None when kind can be made here, else why not."""
    if kind == "here":
        return None
    if os.geteuid() != 0:
        return "needs root (mount)"
    tool = {"ext4-journal": "mkfs.ext4", "xfs": "mkfs.xfs"}.get(kind)
    if tool is None:
        return "unknown filesystem %r" % kind
    if not shutil.which(tool):
        return "%s is not installed" % tool
    return None


class Place:
    """A parent directory for one pass's work dir; cleanup() undoes what it made."""

    def __init__(self, kind):
        self.kind, self.image, self.mount, self.spool_bound = kind, None, None, False
        if kind == "here":
            self.dir = "/var/tmp"
            return
        fd, self.image = tempfile.mkstemp(prefix="quail-peers-%s-" % kind, suffix=".img", dir="/var/tmp")
        try:
            os.ftruncate(fd, SIZE)
        finally:
            os.close(fd)
        try:
            if kind == "xfs":
                subprocess.run(["mkfs.xfs", "-q", "-f", self.image], check=True)
            else:
                subprocess.run(["mkfs.ext4", "-q", "-F", self.image], check=True)
            self.mount = tempfile.mkdtemp(prefix="quail-peers-mnt-", dir="/var/tmp")
            subprocess.run(["mount", "-o", "loop", self.image, self.mount], check=True)
            os.chmod(self.mount, 0o755)
            self.dir = self.mount
        except (OSError, subprocess.CalledProcessError):
            self.cleanup()
            raise

    def bind_spool(self, spool):
        """Puts OpenSMTPD's fixed spool on this filesystem for the pass."""
        if self.mount is None:
            return
        src = os.path.join(self.mount, "opensmtpd-spool")
        os.makedirs(src, exist_ok=True)
        os.makedirs(spool, exist_ok=True)
        subprocess.run(["mount", "--bind", src, spool], check=True)
        self.spool_bound = spool

    def describe(self):
        if self.kind == "here":
            return None
        return {"ext4-journal": "fresh ext4, mkfs defaults (journal), loop device",
                "xfs": "fresh XFS, mkfs defaults, loop device"}[self.kind]

    def cleanup(self):
        if self.spool_bound:
            subprocess.run(["umount", self.spool_bound], check=False)
            self.spool_bound = False
        if self.mount:
            if subprocess.run(["umount", self.mount], check=False).returncode != 0:
                subprocess.run(["umount", "-l", self.mount], check=False)
            try:
                os.rmdir(self.mount)
            except OSError:
                pass
            self.mount = None
        if self.image:
            try:
                os.unlink(self.image)
            except OSError:
                pass
            self.image = None
