# SPDX-License-Identifier: LGPL-2.1-or-later
"""TAP output for every Python test suite (integration, vm, vm-systemd): numbered test points,
diagnostics after a failure, skips with their reason, and the plan at the end."""


class Tap:
    def __init__(self):
        self.n = 0
        self.passed = self.failed = self.skipped = 0

    def note(self, text):
        for line in str(text).rstrip("\n").splitlines():
            print("# " + line, flush=True)

    diag = note

    def ok(self, cond, desc, diag=""):
        """One test point; diag is printed only when it failed. Returns cond."""
        self.n += 1
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc), flush=True)
        if diag and not cond:
            self.note(diag)
        return cond

    check = ok

    def result(self, desc, cond, diag=None):
        return self.ok(cond, desc, diag or "")

    def skip(self, desc, why):
        self.n += 1
        self.skipped += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, why), flush=True)

    def bail(self, why):
        print("Bail out! %s" % why, flush=True)

    def finish(self):
        """Prints the plan; the exit status for the suite."""
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0
