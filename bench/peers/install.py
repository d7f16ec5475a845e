"""install: bring Postfix and OpenSMTPD onto this machine for bench/peers, started by nothing.

Postfix comes from Debian's package (it also brings smtp-source and smtp-sink). Debian's
opensmtpd package Conflicts with postfix (both Provide mail-transport-agent), so
OpenSMTPD is unpacked from its .deb (apt-get download + dpkg-deb -x) into
/var/lib/quail-bench/ and run from there; see bench/peers/README.md. Trusts apt/dpkg.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

PRIVATE = "/var/lib/quail-bench"          # OpenSMTPD's unpacked tree, the mailbox user's home
LIBEXEC = "/usr/libexec/opensmtpd"        # compiled into Debian's smtpd: mail.maildir lives here
POLICY_RC = "/usr/sbin/policy-rc.d"
MAILBOX_USER = "quailbench"               # the system user the peers deliver as
BASE_PACKAGES = ["postfix", "strace", "python3-matplotlib", "iproute2"]


def say(*a):
    print("bench-peers:", *a, flush=True)


def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), r.returncode, (r.stderr or r.stdout).strip()[-2000:]))
    return r


def installed(pkg):
    r = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and "install ok installed" in r.stdout


def apt_install(pkgs):
    """apt-get install the packages not yet installed, with services kept from starting."""
    need = [p for p in pkgs if not installed(p)]
    if not need:
        return
    say("installing", " ".join(need))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # "No configuration": the package writes no main.cf, so its own instance cannot start
    run(["debconf-set-selections"], input="postfix postfix/main_mailer_type select No configuration\n")
    made_policy = False
    if not os.path.exists(POLICY_RC):  # exit 101 = invoke-rc.d starts no service during the install
        with open(POLICY_RC, "w") as f:
            f.write("#!/bin/sh\n# written by quail bench/peers during apt-get install; removed after\nexit 101\n")
        os.chmod(POLICY_RC, 0o755)
        made_policy = True
    try:
        run(["apt-get", "update", "-qq"], env=env, timeout=600)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + need, env=env, timeout=1200)
    finally:
        if made_policy:
            os.unlink(POLICY_RC)


def stop_system_services():
    """Stop and disable the packages' own instances (none should run: "No configuration")."""
    if os.path.isdir("/run/systemd/system") and shutil.which("systemctl"):
        for unit in ("postfix", "opensmtpd"):
            run(["systemctl", "disable", "--now", unit], check=False)
    elif os.path.exists("/etc/postfix/main.cf"):
        if run(["postfix", "status"], check=False).returncode == 0:
            run(["postfix", "stop"], check=False)
    for pidfile in ("/run/smtpd.pid", "/var/run/smtpd.pid"):
        try:
            pid = int(open(pidfile).read().split()[0])
            if os.path.basename(os.readlink("/proc/%d/exe" % pid)) == "smtpd":
                os.kill(pid, 15)
        except (OSError, ValueError, IndexError):
            pass


def port25_listeners():
    """Lines of `ss -ltnp` that listen on port 25 (empty when none)."""
    r = run(["ss", "-Hltnp"], check=False)
    return [l for l in r.stdout.splitlines() if len(l.split()) > 3 and l.split()[3].endswith(":25")]


def ensure_user(name, home):
    try:
        pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--system", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
             "--user-group", name])
    return pwd.getpwnam(name)


def opensmtpd_tree():
    """Unpack Debian's opensmtpd .deb (once) and return (its root, version). Its runtime
    libraries are installed with apt; its users are created as its postinst would."""
    found = sorted(glob.glob(os.path.join(PRIVATE, "opensmtpd-*", "usr", "sbin", "smtpd")))
    if found:
        tree = found[-1][: -len("/usr/sbin/smtpd")]
        return tree, os.path.basename(tree)[len("opensmtpd-"):]
    os.makedirs(PRIVATE, exist_ok=True)
    os.chmod(PRIVATE, 0o755)
    tmp = tempfile.mkdtemp(prefix="quail-osd-", dir="/var/tmp")
    try:
        os.chmod(tmp, 0o777)  # apt-get download drops to _apt, which must write here
        run(["apt-get", "download", "opensmtpd"], cwd=tmp, timeout=600)
        deb = glob.glob(os.path.join(tmp, "opensmtpd_*.deb"))[0]
        version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
        deps = run(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip()
        libs = []
        for alt in deps.split(","):
            name = alt.split("|")[0].split("(")[0].strip()
            if name and name not in ("debconf", "adduser", "lsb-base", "ed"):
                libs.append(name)
        apt_install(libs)
        tree = os.path.join(PRIVATE, "opensmtpd-" + version.replace(":", "_"))
        run(["dpkg-deb", "-x", deb, tree + ".part"])
        os.rename(tree + ".part", tree)
        return tree, version
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def link_libexec(tree):
    """Point LIBEXEC (compiled into smtpd) at the unpacked helpers. Returns True when this
    call made the link (the caller removes it at the end)."""
    target = os.path.join(tree, "usr", "libexec", "opensmtpd")
    if os.path.islink(LIBEXEC):
        if os.readlink(LIBEXEC) == target:
            return False
        os.unlink(LIBEXEC)
    elif os.path.exists(LIBEXEC):
        return False  # a real install: use it as it is
    os.symlink(target, LIBEXEC)
    return True


def unlink_libexec():
    if os.path.islink(LIBEXEC):
        os.unlink(LIBEXEC)


def install_all():
    """Everything bench/peers needs; returns a dict of facts for the report."""
    if os.geteuid() != 0:
        raise SystemExit("bench-peers: must run as root (installs packages, starts mail servers)")
    apt_install(BASE_PACKAGES)
    tree, version = opensmtpd_tree()
    stop_system_services()
    ensure_user("opensmtpd", "/var/lib/opensmtpd/empty")
    ensure_user("opensmtpq", "/var/lib/opensmtpd/empty")
    os.makedirs("/var/lib/opensmtpd/empty", mode=0o755, exist_ok=True)
    os.makedirs(os.path.join(PRIVATE, "home"), mode=0o755, exist_ok=True)
    pw = ensure_user(MAILBOX_USER, os.path.join(PRIVATE, "home"))
    os.chown(os.path.join(PRIVATE, "home"), pw.pw_uid, pw.pw_gid)
    left = port25_listeners()
    if left:
        raise SystemExit("bench-peers: something listens on port 25 after install: %s" % left)
    postfix_version = run(["postconf", "-d", "-h", "mail_version"]).stdout.strip()
    return {"opensmtpd_tree": tree, "opensmtpd_version": version, "postfix_version": postfix_version,
            "uid": pw.pw_uid, "gid": pw.pw_gid}
