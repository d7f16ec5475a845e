#!/usr/bin/python3
"""run.py: quail's end-to-end test runner (`make e2e`).

    tests/e2e/run.py [FILTER...]     FILTER: a substring of a folder name (60-pipe)
                                     or of folder/module (50-smtpd/test_auth)

Finds tests/e2e/<NN-topic>/test_*.py (sorted by folder, then file) and runs each
module with unittest in its own subprocess, with a time limit per module
(E2E_TIMEOUT seconds, default 600; on expiry SIGTERM, which makes quailtest stop
every instance, then SIGKILL). Prints one line per test case as it finishes,
the failures' tracebacks after the module, and last a line exactly
`N passed, N failed` (`, N skipped` when any). Counts are test cases; an error
counts as failed. Exit status 1 when anything failed, 2 when FILTER matched
nothing. A test module skips (unittest.SkipTest) only with an explicit reason,
which is printed; a skipped module whose test cases are unknown counts as one.
"""
import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import importlib.util
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


# ------------------------------------------------------------------ child side

class _Reporter(unittest.TestResult):
    """Sends one JSON line per finished test case (or per class/module-level
    holder) to the parent on fd `out`."""

    def __init__(self, out):
        super().__init__()
        self.out = out
        self.current = {}

    def _send(self, **rec):
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()

    @staticmethod
    def _is_case(test):
        return isinstance(test, unittest.TestCase) and not type(test).__name__ == "_ErrorHolder"

    def startTest(self, test):
        super().startTest(test)
        self.current[test.id()] = {"status": "pass", "start": time.monotonic(), "detail": "", "reason": ""}

    def _mark(self, test, status, detail="", reason=""):
        if not self._is_case(test):
            self._send(event="holder", id=test.id(), status=status, detail=detail, reason=reason)
            return
        rec = self.current.setdefault(test.id(), {"status": "pass", "start": time.monotonic(),
                                                  "detail": "", "reason": ""})
        order = {"pass": 0, "skip": 1, "fail": 2}
        if order[status] >= order[rec["status"]]:
            rec["status"] = status
            rec["reason"] = reason or rec["reason"]
        if detail:
            rec["detail"] += detail

    def addError(self, test, err):
        super().addError(test, err)
        self._mark(test, "fail", self._exc_info_to_string(err, test))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mark(test, "fail", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._mark(test, "skip", reason=reason)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._mark(test, "fail", "unexpected success\n")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            if issubclass(err[0], unittest.SkipTest):
                return
            self._mark(test, "fail", "%s\n%s" % (subtest.id(), self._exc_info_to_string(err, test)))

    def stopTest(self, test):
        super().stopTest(test)
        rec = self.current.pop(test.id(), None)
        qt = sys.modules.get("quailtest")
        if rec is not None and qt is not None and getattr(qt, "NOTES", None):
            rec["reason"] = "; ".join(filter(None, [rec["reason"]] + qt.NOTES))
            del qt.NOTES[:]
        if rec is not None:
            self._send(event="result", id=test.id(), status=rec["status"], detail=rec["detail"],
                       reason=rec["reason"], seconds=round(time.monotonic() - rec["start"], 2))


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def child(path, fd):
    out = os.fdopen(fd, "w")
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(path))
    name = "e2e_" + os.path.basename(os.path.dirname(path)).replace("-", "_") + "_" + \
        os.path.splitext(os.path.basename(path))[0]
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    except unittest.SkipTest as e:
        out.write(json.dumps({"event": "holder", "id": name, "status": "skip", "reason": str(e),
                              "detail": ""}) + "\n")
        return 0
    except BaseException:  # noqa: BLE001 - report any import failure as a failed module
        out.write(json.dumps({"event": "holder", "id": name, "status": "fail", "reason": "import failed",
                              "detail": traceback.format_exc()}) + "\n")
        return 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    ids = [t.id() for t in _flatten(suite)]
    out.write(json.dumps({"event": "plan", "ids": ids}) + "\n")
    out.flush()
    result = _Reporter(out)
    suite.run(result)
    out.flush()
    return 0 if result.wasSuccessful() else 1


# ------------------------------------------------------------------ parent side

def discover(filters):
    mods = []
    for folder in sorted(os.listdir(HERE)):
        d = os.path.join(HERE, folder)
        if not os.path.isdir(d) or folder.startswith((".", "_")):
            continue
        for f in sorted(os.listdir(d)):
            if f.startswith("test_") and f.endswith(".py"):
                label = folder + "/" + f[:-3]
                if not filters or any(x in label for x in filters):
                    mods.append((label, os.path.join(d, f)))
    return mods


def short(test_id, label):
    # "e2e_60_pipeline_test_pipeline.PipelineTest.test_x" -> "PipelineTest.test_x"
    return test_id.split(".", 1)[1] if "." in test_id else label


class Totals:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def line(self, status, label, name, seconds=None, reason="", detail=""):
        tag = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[status]
        extra = " (%.1f s)" % seconds if seconds is not None else ""
        if reason:
            extra += " -- " + reason
        print("%s %s %s%s" % (tag, label, name, extra), flush=True)
        if status == "pass":
            self.passed += 1
        elif status == "skip":
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append((label + " " + name, detail or reason))


def run_module(label, path, timeout, totals):
    r, w = os.pipe()
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", path, str(w)],
                         pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, cwd=os.path.dirname(os.path.dirname(HERE)))
    os.close(w)
    plan, reported, holders = [], set(), []
    failed_before = totals.failed

    def reader():
        with os.fdopen(r) as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec["event"] == "plan":
                    plan.extend(rec["ids"])
                elif rec["event"] == "result":
                    reported.add(rec["id"])
                    totals.line(rec["status"], label, short(rec["id"], label), rec.get("seconds"),
                                rec.get("reason", ""), rec.get("detail", ""))
                else:
                    holders.append(rec)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    timed_out = False
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGTERM)  # quailtest's handler stops the instances
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    t.join(10)
    try:  # whatever the module left behind in its process group
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

    # Test cases that never reported: skipped or failed with their class/module.
    used = set()
    for tid in plan:
        if tid in reported:
            continue
        why, status = None, "fail"
        cls = tid.rsplit(".", 1)[0]
        module = cls.split(".", 1)[0]
        for h in holders:
            hid = h["id"]  # "setUpClass (module.Class)", "setUpModule (module)"
            if "(%s)" % cls in hid or "(%s)" % module in hid:
                why, status = h.get("reason") or "class/module setup failed", h["status"]
                used.add(hid)
                detail = h.get("detail", "")
                break
        if why is None:
            why = "timed out after %d s" % timeout if timed_out else "not run (exit %s)" % p.returncode
            detail = ""
        totals.line(status, label, short(tid, label), reason=why, detail=detail)
    for h in holders:
        if h["id"] in used:
            continue
        if h["status"] == "pass":
            continue
        name = h["id"] if plan else "(module)"
        totals.line(h["status"], label, short(name, label) if plan else name, reason=h.get("reason", ""),
                    detail=h.get("detail", ""))
    if not plan and not holders:
        totals.line("fail", label, "(module)", reason="no result: exit %s%s" %
                    (p.returncode, ", timed out" if timed_out else ""))
    if totals.failed > failed_before:
        for name, detail in totals.failures[-(totals.failed - failed_before):]:
            if detail:
                print("---- %s\n%s" % (name, detail.rstrip()), flush=True)
        log.seek(0)
        out = log.read().decode("utf-8", "replace")
        if out.strip():
            tail = out[-6000:]
            print("---- output of %s (last %d bytes)\n%s" % (label, len(tail), tail.rstrip()), flush=True)
    log.close()


def main(argv):
    if len(argv) >= 3 and argv[0] == "--child":
        return child(argv[1], int(argv[2]))
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    timeout = int(os.environ.get("E2E_TIMEOUT", "600"))
    mods = discover(argv)
    if not mods:
        print("no test modules match %s" % " ".join(argv) if argv else "no test modules found")
        print("0 passed, 0 failed")
        return 2 if argv else 0
    totals = Totals()
    start = time.monotonic()
    for label, path in mods:
        run_module(label, path, timeout, totals)
    summary = "%d passed, %d failed" % (totals.passed, totals.failed)
    if totals.skipped:
        summary += ", %d skipped" % totals.skipped
    print("# %d module(s) in %.0f s" % (len(mods), time.monotonic() - start))
    print(summary, flush=True)
    return 1 if totals.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
