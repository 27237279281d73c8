#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration test: an event storm. MHP_STORM_BLOCKS (default 16384) memory blocks appear one
after another, each announced by its own "add" uevent, while the daemon runs; halfway through, the
daemon's uevent socket overflows (the fault preload drops the uevents queued on it and fails the
next recvmsg() with ENOBUFS, as a netlink socket whose receive buffer ran over does), so the blocks
whose events were lost are found only by the rescan that follows. Every block must be written
exactly once. The time it took, the daemon's CPU time and its peak RSS are printed as TAP
comments, never asserted.

No kernel emulator watches the blocks (16384 inotify watches and a Python "kernel" per write would
measure the test, not the daemon): the fault preload's MHP_KERNEL_SYNC leaves "online" in a state
file the daemon wrote, as the kernel does, and the write log counts the writes.

Usage: test-storm.py MEMHOTPLUGD FAULT_PRELOAD_SO

Output is TAP. Needs Debian's /usr/bin/python3 (for gi) and gir1.2-umockdev-1.0.
"""

import collections
import glob
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import BASE_DAEMON, TAP, Bed, Block, check, scenario, state_writes, tail, wait_until  # noqa: E402

harness.init_from_argv(__doc__)

N = int(os.environ.get("MHP_STORM_BLOCKS", "16384"))
DROP = 64  # at most this many queued uevents are dropped by the overflow


def overflows(bed):
    try:
        with open(bed.write_log) as f:
            return [int(line.split(" ")[3]) for line in f if " uevent:overflow " in line]
    except FileNotFoundError:
        return []


def add(bed, index):
    """As the kernel adds a block: its directory and attributes first, then the "add" uevent. (The
    testbed's add_from_string() would write the attributes again while sending the uevent, which can
    put back "offline" over a state the daemon has just written after finding the block in a rescan.)"""
    bed.add_block(Block(index, 0), announce=False)
    bed.uevent(index, "add")


def proc_status(pid):
    """(peak RSS in KiB, CPU seconds) of a running process."""
    with open("/proc/%d/status" % pid) as f:
        hwm = int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return hwm, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@scenario(["storm: %d blocks added by uevent, each written exactly once with the policy's value" % N,
           "storm: the uevent socket overflowed (ENOBUFS, queued uevents dropped) and the rescan found "
           "the blocks whose events were lost",
           "storm: the job summaries add up to every block, none failed, the daemon still runs"])
def test_storm(case):
    bed = Bed([], emulate=False)
    d = None
    try:
        os.makedirs(bed.sys_dir + "/devices/system/node/node0")
        bed.write_config(BASE_DAEMON + "\n[Memory]\nOnline=movable\n")
        d = bed.daemon(log_level="info")
        case.daemon = d
        # Its uevent socket is bound (umockdev names it "event<fd>" in the testbed) before any block
        # is added: no event may reach an empty testbed.
        root = bed.testbed.get_root_dir()
        wait_until(lambda: glob.glob(root + "/event*"), what="the daemon's uevent socket in the testbed")

        t0 = time.monotonic()
        for i in range(N):
            if i == N // 2:
                with open(bed.write_log + ".overflow", "w") as f:
                    f.write("%d\n" % DROP)
            add(bed, i)
        t_sent = time.monotonic()
        # A barrier: its write comes after every uevent sent before it was handled (one socket, in order).
        add(bed, N)
        def barrier_written():
            check(d.proc.poll() is None, "the daemon exited with status %s" % d.proc.poll())
            return bool(state_writes(bed, N))

        wait_until(barrier_written, timeout=30 + N / 100, what="the barrier block's write")
        hwm, cpu = proc_status(d.proc.pid)
        writes = state_writes(bed)
        t_last = max(w.t_write for w in writes)
        TAP.note("storm: %d add uevents sent in %.2fs; last write %.2fs after the first uevent; "
                 "daemon CPU %.2fs (%.1f us per block), peak RSS %.1f MiB"
                 % (N, t_sent - t0, t_last - t0, cpu, cpu * 1e6 / (N + 1), hwm / 1024))

        def exactly_once():
            per_block = collections.Counter(w.index for w in writes)
            missing = [i for i in range(N) if per_block[i] == 0]
            twice = [i for i, c in per_block.items() if c > 1]
            bad = [w for w in writes if w.value != "online_movable" or w.result != "ok"]
            check(not missing, "%d blocks never written: %s" % (len(missing), missing[:20]))
            for i in twice[:3]:
                case.note("\n".join(d.lines[k] for k in d.find(r"memory%d\b|Uevents were lost" % i)))
            check(not twice, "%d blocks written more than once: %s" % (len(twice), twice[:20]))
            check(not bad, "unexpected writes: %s" % bad[:10])

        case.run("storm: %d blocks added by uevent, each written exactly once with the policy's value" % N,
                 exactly_once)

        def overflow():
            dropped = overflows(bed)
            case.note("uevents dropped by the overflow: %s" % dropped)
            check(len(dropped) == 1, "overflows: %s" % dropped)
            check(dropped[0] >= 1, "the overflow dropped no uevent: nothing for the rescan to find")
            check(d.find(r"^warning: Uevents were lost \(receive buffer overflow\), rescanning sysfs"),
                  "no 'Uevents were lost' line\n" + tail(d))

        case.run("storm: the uevent socket overflowed (ENOBUFS, queued uevents dropped) and the rescan found "
                 "the blocks whose events were lost", overflow)

        def summaries():
            d.wait_line(r"^(info|warning): Finished: ", start=d.find(r"memory%d: Onlined" % N)[0])
            jobs = [re.search(r"Finished: (\d+) of (\d+) blocks done \(\d+ by another agent\), (\d+) failed", d.lines[i])
                    for i in d.find(r"^(info|warning): Finished: ")]
            case.note("%d job summaries" % len(jobs))
            done = sum(int(m.group(1)) for m in jobs)
            total = sum(int(m.group(2)) for m in jobs)
            failed = sum(int(m.group(3)) for m in jobs)
            check(done == total == N + 1 and failed == 0, "jobs: %d done of %d, %d failed; want %d" % (
                done, total, failed, N + 1))
            check(d.proc.poll() is None, "the daemon exited")

        case.run("storm: the job summaries add up to every block, none failed, the daemon still runs", summaries)
    finally:
        if d:
            d.kill()
        bed.cleanup()


def main():
    return harness.main([test_storm])


if __name__ == "__main__":
    sys.exit(main())
