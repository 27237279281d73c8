#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests: kill -9 at every point of the daemon's kernel-setting saves (saved-settings.h)
and at random, then a restart and a clean stop: every setting must be the kernel's original again
and no file of the daemon's left in the runtime directory (no record, no temporary file of an atomic
write).

The settings: auto_online_blocks (takeover and delegate), the memory_hotplug module parameters
online_policy, auto_movable_ratio and auto_movable_numa_aware (delegate with Online=auto-movable),
and demotion_enabled (Demotion=). Each sequence is one life of the daemon: a start, reloads, a stop
(or a start that fails, exit 78 or 1); some begin after an earlier run was killed. A first run
counts the life's steps through the fault preload (a write of a record's temporary file, its
rename, a setting's write, a record's removal); then the life is run once per step with the preload
killing the daemon (SIGKILL) just before that step, which is deterministic and needs no timing. The
random part kills with SIGKILL from here at random times, steps slowed by the preload so that the
kills land inside the sequences, and sometimes kills the restart too; its checks hold whenever the
kill comes.

Usage: test-kill.py MEMHOTPLUGD FAULT_PRELOAD_SO

Environment: MHP_KILL_RANDOM (300) random kills; MHP_KILL_SEED the random seed (printed).
Output is TAP. Needs Debian's /usr/bin/python3 (for gi) and gir1.2-umockdev-1.0.
"""

import os
import random
import re
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import MEMORY, TIMEOUT, Bed, check, make_blocks, scenario, wait_until  # noqa: E402

harness.init_from_argv(__doc__)

PARAMS = "module/memory_hotplug/parameters/"
# Each setting and the kernel's original: none of them is a value any config below writes.
ORIGINALS = {
    "devices/system/memory/auto_online_blocks": "online_kernel",
    PARAMS + "online_policy": "contig-zones",
    PARAMS + "auto_movable_ratio": "301",
    PARAMS + "auto_movable_numa_aware": "Y",
    "kernel/mm/numa/demotion_enabled": "false",
}

DAEMON = "[Daemon]\nUeventSource=udev\n"
TAKEOVER = DAEMON + "KernelAutoOnline=takeover\nDemotion=yes\n\n[Memory]\nOnline=movable\n"
AUTO_MOVABLE = (DAEMON + "KernelAutoOnline=delegate\nDemotion=yes\n\n[Memory]\nOnline=auto-movable\n"
                "MovableRatio=250\nNumaAware=no\n")
# online_policy=contig-zones, the original: a reload to it gives the parameters back; no Demotion=.
ONLINE = DAEMON + "KernelAutoOnline=delegate\n\n[Memory]\nOnline=online\n"
MOVABLE = DAEMON + "KernelAutoOnline=delegate\nDemotion=yes\n\n[Memory]\nOnline=movable\n"
BAD = DAEMON + "KernelAutoOnline=takeover\n\n[Bogus]\nFoo=1\n"

SCANNED = r"^debug: Scanned \d+ memory blocks"
TEMPORARY = re.compile(r"\.[A-Za-z0-9]{6}$")  # mkostemp()'s suffix


class Seq:
    """One life: configs[0] at the start, the others each by a reload (SIGHUP), then SIGTERM; with
    rc 78 or 1 the start fails instead. Before it, a run of each config in killed is killed after
    its start. The restart after the kill uses recovery (default: the last config)."""

    def __init__(self, name, configs, killed=(), rc=0, recovery=None, bad_block_size=False):
        self.name = name
        self.configs = configs
        self.killed = killed
        self.rc = rc
        self.recovery = recovery or configs[-1]
        self.bad_block_size = bad_block_size  # exit 1: the start fails after reading the records


SEQUENCES = [
    Seq("takeover and Demotion=yes: start, stop", [TAKEOVER]),
    Seq("delegate Online=auto-movable (every memory_hotplug parameter): start, stop", [AUTO_MOVABLE]),
    Seq("delegate: reload from Online=auto-movable to Online=online, stop", [AUTO_MOVABLE, ONLINE]),
    Seq("reloads takeover -> delegate Online=movable -> takeover, stop", [TAKEOVER, MOVABLE, TAKEOVER]),
    Seq("a second takeover (delegate Online=movable) after a killed takeover", [MOVABLE], killed=[TAKEOVER]),
    Seq("a start after a killed delegate (Online=auto-movable) that fails on a bad config (exit 78)", [BAD],
        killed=[AUTO_MOVABLE], rc=78, recovery=TAKEOVER),
    Seq("a start after a killed takeover that fails at start (exit 1: block_size_bytes unreadable)", [TAKEOVER],
        killed=[TAKEOVER], rc=1, bad_block_size=True),
]


class Stats:
    def __init__(self):
        self.kills = 0
        self.runs = 0
        self.wrong = 0  # settings not the kernel's original after the restart and stop
        self.temporaries = 0
        self.records = 0
        self.left_temporaries = 0  # what the kills left for the restarts, before they ran
        self.left_records = 0
        self.failures = []

    def fail(self, text):
        if len(self.failures) < 8:
            self.failures.append(text)


def setting_path(bed, rel):
    return os.path.join(bed.sys_dir, rel)


def reset(bed):
    """The kernel as it was before any daemon ran, and an empty runtime directory."""
    for rel, value in ORIGINALS.items():
        os.makedirs(os.path.dirname(setting_path(bed, rel)), exist_ok=True)
        with open(setting_path(bed, rel), "w") as f:
            f.write(value + "\n")
    with open(bed.sys_dir + MEMORY + "/block_size_bytes", "w") as f:
        f.write(harness.FAKE_BLOCK_SIZE + "\n")
    shutil.rmtree(bed.runtime_dir, ignore_errors=True)


def settings(bed):
    out = {}
    for rel in ORIGINALS:
        with open(setting_path(bed, rel)) as f:
            out[rel] = f.read().strip()
    return out


def wait_or_exit(d, regex, count):
    """Waits until count lines match (True) or the daemon has exited (False)."""
    r = re.compile(regex)

    def pred():
        if sum(1 for line in d.lines if r.search(line)) >= count:
            return True
        return d.proc.poll() is not None and not any(t.is_alive() for t in d.threads)

    with d.cond:
        wait_until(pred, TIMEOUT, d.cond, "the daemon to log /%s/ or exit" % regex)
        return sum(1 for line in d.lines if r.search(line)) >= count


def run(bed, config, env=None):
    bed.write_config(config)
    return bed.daemon("--no-bus", extra_env=env)


def life(bed, seq, env, hook=None):
    """Runs seq's life; returns its exit status (-9: killed). hook(d) after the start and each reload,
    for the random kills."""
    if seq.bad_block_size:
        with open(bed.sys_dir + MEMORY + "/block_size_bytes", "w") as f:
            f.write("not a size\n")
    d = run(bed, seq.configs[0], env)
    if seq.rc == 0:
        for i, config in enumerate(seq.configs):
            if i > 0:
                bed.write_config(config)
                d.send_signal(signal.SIGHUP)
            if hook:
                hook(d)
            if not wait_or_exit(d, SCANNED, i + 1):
                break
        if d.proc.poll() is None:
            d.send_signal(signal.SIGTERM)
    elif hook:
        hook(d)
    rc = d.wait_exit()
    if seq.bad_block_size:
        with open(bed.sys_dir + MEMORY + "/block_size_bytes", "w") as f:
            f.write(harness.FAKE_BLOCK_SIZE + "\n")
    return rc


def kill_earlier(bed, seq):
    for config in seq.killed:
        d = run(bed, config)
        # Past the scan and the first capacity event's file (written after the scan), so that what
        # the kill leaves, and so the steps of the lives after it, are the same every time.
        check(wait_or_exit(d, SCANNED, 1) and wait_or_exit(d, r"capacity event \d+", 1),
              "the run to be killed exited: %s" % harness.tail(d))
        d.crash()


def runtime_files(bed):
    """The runtime directory's files, but for the record of the last capacity-changed event, which
    is kept across restarts by design (memhotplugd(8), CAPACITY EVENTS); its temporary files count."""
    left = os.listdir(bed.runtime_dir) if os.path.isdir(bed.runtime_dir) else []
    return [f for f in left if f != "capacity"]


def check_given_back(bed, stats, what):
    """Every setting the kernel's original, and nothing of the daemon's in the runtime directory."""
    now = settings(bed)
    wrong = {k: v for k, v in now.items() if v != ORIGINALS[k]}
    stats.wrong += len(wrong)
    if wrong:
        stats.fail("%s: settings not the kernel's original: %s" % (what, wrong))
    left = runtime_files(bed)
    temporaries = [f for f in left if TEMPORARY.search(f)]
    stats.temporaries += len(temporaries)
    stats.records += len(left) - len(temporaries)
    if left:
        stats.fail("%s: left in the runtime directory: %s" % (what, left))


def restart_and_check(bed, seq, stats, what, hook=None):
    """A restart (killed by hook, if given, then one more), a clean stop, and the checks."""
    for h in ([hook] if hook else []) + [None]:
        d = run(bed, seq.recovery)
        if h:
            h(d)
        if wait_or_exit(d, SCANNED, 1):
            d.send_signal(signal.SIGTERM)
        rc = d.wait_exit()
        stats.runs += 1
        if h is None and rc != 0:
            stats.fail("%s: the restart exited with %s\n%s" % (what, rc, harness.tail(d)))
    check_given_back(bed, stats, what)


def count_left(bed, stats):
    """What a kill left for the restart to clean up: records and temporary files."""
    left = runtime_files(bed)
    stats.left_temporaries += sum(1 for f in left if TEMPORARY.search(f))
    stats.left_records += sum(1 for f in left if not TEMPORARY.search(f))


def count_steps(bed, seq, stats):
    """The life once without a kill: the number of its steps (its exit status must be seq.rc)."""
    reset(bed)
    kill_earlier(bed, seq)
    steps = os.path.join(bed.tmp, "steps")
    if os.path.exists(steps):
        os.unlink(steps)
    rc = life(bed, seq, {"MHP_STEP_DIR": bed.runtime_dir, "MHP_STEP_LOG": steps})
    stats.runs += 1
    if rc != seq.rc:
        stats.fail("%s: exit status %s without a kill, want %s" % (seq.name, rc, seq.rc))
    if seq.rc != 0:
        # A start that fails gives back what the killed run changed, before it exits: with
        # RestartPreventExitStatus=78 no restart would.
        check_given_back(bed, stats, seq.name + ", right after the failed start")
    lines = []
    if os.path.exists(steps):
        with open(steps) as f:
            lines = f.read().splitlines()
    restart_and_check(bed, seq, stats, seq.name + ", no kill")
    if not lines:
        stats.fail("%s: no steps counted" % seq.name)
    return lines


def summary(stats, seconds):
    return ("%d kill points, %d daemon runs; the kills left %d records and %d temporary files; after the "
            "restarts: %d settings wrong, %d temporary files and %d records left (%.1fs)"
            % (stats.kills, stats.runs, stats.left_records, stats.left_temporaries, stats.wrong,
               stats.temporaries, stats.records, seconds))


@scenario(["kill -9 before every step of the save-and-write sequences, then restart and stop: every setting "
           "is the kernel's original, nothing left in the runtime directory: " + s.name for s in SEQUENCES])
def test_every_step(case):
    bed = Bed(make_blocks(2, offline=lambda i: False))
    total = Stats()
    t0 = time.monotonic()
    try:
        for seq in SEQUENCES:
            stats = Stats()

            def one():
                steps = count_steps(bed, seq, stats)
                for n in range(1, len(steps) + 1):
                    reset(bed)
                    kill_earlier(bed, seq)
                    env = {"MHP_STEP_DIR": bed.runtime_dir, "MHP_KILL_AT_STEP": str(n)}
                    rc = life(bed, seq, env)
                    stats.runs += 1
                    stats.kills += 1
                    what = "%s, killed before step %d (%s)" % (seq.name, n, steps[n - 1].split(" ", 2)[2])
                    if rc != -signal.SIGKILL:
                        stats.fail("%s: exit status %s, not killed" % (what, rc))
                    count_left(bed, stats)
                    restart_and_check(bed, seq, stats, what)
                harness.TAP.note("%s: %s" % (seq.name, summary(stats, time.monotonic() - t0)))
                check(not stats.failures, "\n".join(stats.failures))

            case.run("kill -9 before every step of the save-and-write sequences, then restart and stop: every "
                     "setting is the kernel's original, nothing left in the runtime directory: " + seq.name, one)
            for k in ("kills", "runs", "wrong", "temporaries", "records", "left_temporaries", "left_records"):
                setattr(total, k, getattr(total, k) + getattr(stats, k))
        harness.TAP.note("every step: " + summary(total, time.monotonic() - t0))
    finally:
        bed.cleanup()


@scenario(["random kills (SIGKILL at random times, sometimes of the restart too): every setting is the kernel's "
           "original after a restart and stop, nothing left in the runtime directory"])
def test_random(case):
    n = int(os.environ.get("MHP_KILL_RANDOM", "300"))
    seed = int(os.environ.get("MHP_KILL_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    bed = Bed(make_blocks(2, offline=lambda i: False))
    stats = Stats()
    t0 = time.monotonic()
    # Each step sleeps this long in the preload, so that a kill at a random time of the first 0.12 s
    # often falls inside a save sequence, not only between them.
    slow = {"MHP_STEP_DIR": "", "MHP_STEP_DELAY_US": "3000"}

    def killer(d):
        time.sleep(rng.uniform(0, 0.12))
        if d.proc.poll() is None:
            os.kill(d.proc.pid, signal.SIGKILL)

    try:
        def random_kills():
            for i in range(n):
                seq = rng.choice(SEQUENCES)
                reset(bed)
                kill_earlier(bed, seq)
                slow["MHP_STEP_DIR"] = bed.runtime_dir
                # A hook for each phase: some phases go by, one is killed.
                phase = rng.randrange(len(seq.configs) if seq.rc == 0 else 1)
                calls = []

                def hook(d):
                    calls.append(d)
                    if len(calls) - 1 == phase:
                        killer(d)

                life(bed, seq, slow, hook)
                count_left(bed, stats)
                stats.runs += 1
                stats.kills += 1
                restart = killer if rng.random() < 0.3 else None
                if restart:
                    stats.kills += 1
                restart_and_check(bed, seq, stats, "random kill %d (%s), seed %d" % (i, seq.name, seed), restart)
            check(not stats.failures, "\n".join(stats.failures))

        harness.TAP.note("random kills: seed %d (MHP_KILL_SEED)" % seed)
        case.run("random kills (SIGKILL at random times, sometimes of the restart too): every setting is the "
                 "kernel's original after a restart and stop, nothing left in the runtime directory", random_kills)
        harness.TAP.note("random: " + summary(stats, time.monotonic() - t0))
    finally:
        bed.cleanup()


@scenario(["SIGTERM during the start, while it reads the records of a killed takeover: the daemon exits 0 "
           "through its stop, every setting the kernel's original, nothing left in the runtime directory"])
def test_stop_during_start(case):
    bed = Bed(make_blocks(2, offline=lambda i: False))
    stats = Stats()
    try:
        def stop():
            reset(bed)
            kill_earlier(bed, Seq("", [TAKEOVER], killed=[TAKEOVER]))
            # A record of online_policy whose value the kernel shows again: the start removes it, its
            # first step, before any signal handler is set up. SIGTERM comes right before that step.
            with open(os.path.join(bed.runtime_dir, "kernel-param-online_policy"), "w") as f:
                f.write("contig-zones auto-movable\n")
            d = run(bed, TAKEOVER, {"MHP_STEP_DIR": bed.runtime_dir, "MHP_KILL_AT_STEP": "1",
                                    "MHP_KILL_SIGNAL": str(int(signal.SIGTERM))})
            case.daemon = d
            rc = d.wait_exit()
            check(rc == 0, "exit status %s, want 0 (a stop through manager_stop())" % rc)
            check(d.find(r"^info: Received SIGTERM, exiting"), "the loop did not take the SIGTERM")
            check_given_back(bed, stats, "SIGTERM during the start")
            check(not stats.failures, "\n".join(stats.failures))

        case.run("SIGTERM during the start, while it reads the records of a killed takeover: the daemon exits 0 "
                 "through its stop, every setting the kernel's original, nothing left in the runtime directory",
                 stop)
    finally:
        bed.cleanup()


def main():
    return harness.main([test_every_step, test_random, test_stop_during_start])


if __name__ == "__main__":
    sys.exit(main())
