"""Protocol dialogs as data: each dialogs/*.dialog file is one test case, played
against smtpd over a socketpair with a fresh root (format: smtpd_harness.py)."""
import os
import tempfile
import unittest

import quailtest as qt

qt.require("smtpd", "queue-inject")

import smtpd_harness as h  # noqa: E402


class Dialogs(unittest.TestCase):
    pass


def _make(path):
    def test(self):
        work = tempfile.mkdtemp(prefix="quail-smtpd-dialog-")
        try:
            h.run_dialog(path, work)
        finally:
            h.rmtree(work)
    test.__doc__ = "dialog " + os.path.basename(path)
    return test


for _p in h.dialog_files():
    _name = "test_" + os.path.basename(_p)[:-len(".dialog")].replace("-", "_")
    setattr(Dialogs, _name, _make(_p))


if __name__ == "__main__":
    unittest.main()
