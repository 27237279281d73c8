#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests: every error answer a write to a block's state can get, through the fault
preload, each ending as memhotplugd(8) says: EINVAL when another agent won counts as done; other
failures (EBUSY, EIO, EINVAL, EAGAIN, a short write) are retried MaxAttempts= times, then the block
is failed and left offline, with the errno in its journal entry and in the job summary; ENOENT and
ENODEV mean the block went away: removed, not retried, not failed. The job summary's counts add up
to the blocks the job had.

Usage: test-faults.py MEMHOTPLUGD FAULT_PRELOAD_SO

Output is TAP. Needs Debian's /usr/bin/python3 (for gi) and gir1.2-umockdev-1.0.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import BASE_DAEMON, Bed, Block, check, scenario, tail  # noqa: E402

harness.init_from_argv(__doc__)

ATTEMPTS = 3
STRERROR = {"EBUSY": "Device or resource busy", "EIO": "Input/output error", "EINVAL": "Invalid argument",
            "EAGAIN": "Resource temporarily unavailable"}

# index: (what the fault file says, the write results the block must see, how it ends, errno name)
FAULTS = {
    0: (None, ["ok"], "done", None),
    1: ("EBUSY", ["EBUSY"] * ATTEMPTS, "failed", "EBUSY"),
    2: ("EBUSY 2", ["EBUSY", "EBUSY", "ok"], "done", None),
    3: ("EIO 1", ["EIO", "ok"], "done", None),
    4: ("EINVAL", ["EINVAL"] * ATTEMPTS, "failed", "EINVAL"),  # still offline: not a lost race
    5: ("ENOENT", ["ENOENT"], "removed", None),
    6: ("EAGAIN 1", ["EAGAIN", "ok"], "done", None),
    7: ("EAGAIN", ["EAGAIN"] * ATTEMPTS, "failed", "EAGAIN"),
    8: ("short 1", ["short", "ok"], "done", None),
    9: ("short", ["short"] * ATTEMPTS, "failed", "EIO"),  # a short write is an I/O error
    10: ("ENODEV", ["ENODEV"], "removed", None),
    11: ("race", ["race"], "done", None),
    12: (None, ["ok"], "done", None),
}


@scenario(["faults: each block's writes are what its fault calls for (retries up to MaxAttempts, none after "
           "a removal)",
           "faults: retried blocks end online, failed ones offline with the errno in their journal entry",
           "faults: a short write is never taken for success",
           "faults: ENOENT and ENODEV count as removed, not failed, and are not retried",
           "faults: the job summary adds up (done + failed + removed = blocks in the job) and names the errnos"])
def test_fault_matrix(case):
    blocks = [Block(i, 0) for i in FAULTS]
    bed = Bed(blocks)
    d = None
    try:
        for i, (fault, _, end, _) in FAULTS.items():
            if fault:
                bed.set_fault(i, fault)
            if end != "removed":
                bed.emu.expect(i, "online_movable")
        bed.write_config(BASE_DAEMON + "MaxAttempts=%d\nRetrySec=50ms\n\n[Memory]\nOnline=movable\n" % ATTEMPTS)
        d = bed.daemon()
        case.daemon = d
        fin = d.wait_line(r"^(info|warning): Finished: ")
        bed.emu.wait_online([i for i, f in FAULTS.items() if f[2] == "done"])
        bed.emu.settle()
        case.note(tail(d, 60))

        def writes():
            problems = []
            for i, (_, results, _, _) in FAULTS.items():
                got = [w.result for w in bed.emu.writes_to(i)]
                if got != results:
                    problems.append("memory%d: %s, want %s" % (i, got, results))
                if any(w.value != "online_movable" for w in bed.emu.writes_to(i)):
                    problems.append("memory%d: values %s" % (i, bed.emu.writes_to(i)))
            check(not problems, "; ".join(problems))

        case.run("faults: each block's writes are what its fault calls for (retries up to MaxAttempts, none after "
                 "a removal)", writes)

        def ends():
            problems = []
            for i, (_, _, end, name) in FAULTS.items():
                state = bed.read_attr(i, "state")
                if end == "done" and state != "online":
                    problems.append("memory%d is %s" % (i, state))
                if end == "failed":
                    if state != "offline":
                        problems.append("memory%d is %s" % (i, state))
                    want = r"^error: memory%d: Onlining failed after %d attempts, leaving it offline: %s$" % (
                        i, ATTEMPTS, re.escape(STRERROR[name]))
                    if not d.find(want):
                        problems.append("no /%s/" % want)
                    for k in range(1, ATTEMPTS):
                        if not d.find(r"^warning: memory%d: .*\(attempt %d of %d\): %s" % (
                                i, k, ATTEMPTS, re.escape(STRERROR[name]))):
                            problems.append("memory%d: no retry warning for attempt %d" % (i, k))
            check(not problems, "; ".join(problems))

        case.run("faults: retried blocks end online, failed ones offline with the errno in their journal entry", ends)

        def short():
            # memory8: the first write took half the bytes; only the second may be reported as onlined.
            ws = bed.emu.writes_to(8)
            check([w.result for w in ws] == ["short", "ok"], "memory8: %s" % ws)
            retry = d.find(r"^warning: memory8: Writing \"online_movable\" to state failed \(attempt 1 of %d\)"
                           % ATTEMPTS)
            onlined = d.find(r"^info: memory8: Onlined into zone")
            check(retry and len(onlined) == 1 and retry[0] < onlined[0],
                  "memory8: retry lines %s, onlined lines %s" % (retry, onlined))
            check(not d.find(r"memory9: Onlined"), "memory9 (every write short) reported onlined")

        case.run("faults: a short write is never taken for success", short)

        def removed():
            for i in (5, 10):
                check(d.find(r"^info: memory%d: Removed before it could be handled$" % i),
                      "no 'memory%d: Removed' line" % i)
                check(not d.find(r"memory%d: (Onlining failed|Writing)" % i), "memory%d retried or failed" % i)

        case.run("faults: ENOENT and ENODEV count as removed, not failed, and are not retried", removed)

        def summary():
            line = d.lines[fin]
            m = re.search(r"^warning: Finished: (\d+) of (\d+) blocks done \((\d+) by another agent\), (\d+) failed "
                          r"\(([^)]*)\), (\d+) removed before they were handled$", line)
            check(m, "job summary: %r" % line)
            done, total, raced, failed, errors, removed_ = (int(m.group(1)), int(m.group(2)), int(m.group(3)),
                                                            int(m.group(4)), m.group(5), int(m.group(6)))
            want = {e: sum(1 for f in FAULTS.values() if f[2] == e) for e in ("done", "failed", "removed")}
            check(total == len(FAULTS), "total %d, want %d" % (total, len(FAULTS)))
            check((done, failed, removed_) == (want["done"], want["failed"], want["removed"]),
                  "done/failed/removed %d/%d/%d, want %s" % (done, failed, removed_, want))
            check(done + failed + removed_ == total, "%d + %d + %d != %d" % (done, failed, removed_, total))
            check(raced == 1, "%d by another agent, want 1" % raced)
            names = sorted(f[3] for f in FAULTS.values() if f[3])
            got = sorted(n for part in errors.split(", ") for n in [part.split(": ")[0]]
                         for _ in range(int(part.split(": ")[1])))
            check(got == names, "errnos in the summary %s, want %s" % (got, names))

        case.run("faults: the job summary adds up (done + failed + removed = blocks in the job) and names the errnos",
                 summary)
    finally:
        if d:
            d.kill()
        bed.cleanup()


def main():
    return harness.main([test_fault_matrix])


if __name__ == "__main__":
    sys.exit(main())
