#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hot-add to online on a real kernel: memhotplugd against the kernel's own auto-online.

Usage: tests/bench/bench-hotplug.py --daemon build/daemon/memhotplugd [--repeat 5]
                                    [--blocks 16,64,256] [--variants K,D,U] [--json FILE] [-v]

One VM boot (Debian's 6.12 kernel under QEMU/TCG, 2 vCPUs, 2 GiB base memory). For each N it
hot-adds a pc-dimm of N memory blocks through QMP and times, inside the guest, from the first
memory "add" uevent to the N-th memory "online" uevent, with the blocks onlined by:

  K  the kernel itself (auto_online_blocks=online_movable): the floor;
  D  memhotplugd with its defaults (UeventSource=kernel, KernelAutoOnline=takeover,
     Online=movable, ChunkBlocks=64), logging to a file on tmpfs;
  Dg memhotplugd with KernelAutoOnline=delegate: it sets auto_online_blocks=online_movable and
     the kernel onlines in its hot-add path, the daemon only audits;
  U  systemd-udevd with the distribution-style rule
     SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", ATTR{state}="online_movable".

B and Bg are D and Dg with the binary given by --baseline (an earlier build), for a change
measured side by side. Diagnostic variants (add with --variants): Dq memhotplugd with
LogLevel=warning, Dc memhotplugd logging to the serial console (/dev/console, as `scripts/demo`
does), Dd memhotplugd at debug, W the least any userspace onliner can do (bench-probe writer:
one open+write+close of state per "add" uevent, nothing else). With those variants, T_D/T_B,
T_Dg/T_Bg and T_D/T_W are reported too, each computed within its round.

Between samples the blocks are offlined in the guest and the DIMM is unplugged (device_del), so
every sample starts from the same state and the same slot; with --fresh-boot every sample gets a
VM booted for it instead (what a user lives through: no page of the host warmed by an earlier
hot-add), and there is no warm-up sample. Each N gets one discarded warm-up
sample (the first hot-add faults in the host pages behind the guest's memmap), then --repeat
rounds of all variants, the order permuted round by round to cancel drift. Reported: the median
over rounds of T_X/T_K computed within each round (side by side), and the medians of the
phases that explain where the time goes.

The timer is tests/bench/bench-probe.c, a static program in the guest that reads the kernel's
uevent netlink group (the same socket memhotplugd and udevd read) and stamps each event with
CLOCK_MONOTONIC on arrival: one recv() per event and no other work, identical in every variant.
"""

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
# The VM harness (tests/vm/vm.py).
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vm"))

from vm import GiB, MiB, VM, VMError, parse_size  # noqa: E402

MEM = "/sys/devices/system/memory"
CONF = "/etc/memhotplugd/memhotplugd.conf"
UDEV_RULE = ('SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", '
             'ATTR{state}="online_movable"\n')

DAEMON_CONF = """[Daemon]
UeventSource=kernel
KernelAutoOnline={mode}
ChunkBlocks=64
{extra}
[Memory]
Online=movable
"""

VARIANTS = {
    "K": "kernel auto-online (online_movable)",
    "D": "memhotplugd, defaults, log to tmpfs file",
    "Dg": "memhotplugd, KernelAutoOnline=delegate",
    "U": "systemd-udevd + ATTR{state} rule",
    "Dq": "memhotplugd, LogLevel=warning",
    "Dc": "memhotplugd, log to the serial console",
    "Dd": "memhotplugd, LogLevel=debug to tmpfs file",
    "W": "bench-probe writer: write state on each add uevent, nothing else",
    "B": "the --baseline memhotplugd, as D",
    "Bg": "the --baseline memhotplugd, as Dg",
}


def log(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


def build_probe(tmpdir):
    src = os.path.join(HERE, "bench-probe.c")
    out = os.path.join(tmpdir, "bench-probe")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-Wall", "-static", "-o", out, src], check=True)
    return out


class KernelOops(VMError):
    """The guest kernel oopsed during a sample: that VM is not trustworthy any more (a task that
    died in a sysfs read leaks the attribute's active reference, so the block can never be
    removed); boot a new one."""


class Bench:
    def __init__(self, vm, block_size_mib=128, verbose=False):
        self.vm = vm
        self.bs = block_size_mib
        self.count = 0
        self.verbose = verbose

    # -- variants: set up before the hot-add, torn down after

    def setup(self, variant):
        vm = self.vm
        if variant == "K":
            vm.sh(f"echo online_movable > {MEM}/auto_online_blocks")
        elif variant.startswith(("D", "B")):
            extra = {"Dq": "LogLevel=warning", "Dd": "LogLevel=debug"}.get(variant, "")
            binary = "memhotplugd-base" if variant.startswith("B") else "memhotplugd"
            vm.write_file(CONF, DAEMON_CONF.format(
                extra=extra, mode="delegate" if variant.endswith("g") else "takeover"))
            log_to = "/dev/console" if variant == "Dc" else "/tmp/memhotplugd.log"
            # READY=1 comes after the uevent monitor is listening and the start scan ran; a
            # notify socket tells us without raising the daemon's log level.
            vm.sh("rm -f /tmp/memhotplugd.rc /tmp/memhotplugd.log; "
                  "bench-probe notify /run/bench-notify 30 & p=$!; "
                  "while [ ! -S /run/bench-notify ]; do :; done; "
                  f"NOTIFY_SOCKET=/run/bench-notify setsid sh -c '{binary} --config " + CONF +
                  " --log-target stderr --no-bus --runtime-dir /run/memhotplugd & "
                  "echo $! > /tmp/memhotplugd.pid; wait $!; echo $? > /tmp/memhotplugd.rc' "
                  f"</dev/null >{log_to} 2>&1 & wait $p", timeout=60)
        elif variant == "W":
            vm.sh("rm -f /tmp/writer.ready; (bench-probe writer /tmp/writer.ready "
                  ">/tmp/writer.log 2>&1 & echo $! > /tmp/writer.pid) && "
                  "while [ ! -e /tmp/writer.ready ]; do :; done")
        elif variant == "U":
            vm.write_file("/etc/udev/rules.d/40-memory-online.rules", UDEV_RULE)
            vm.sh("mkdir -p /run/udev && /usr/lib/systemd/systemd-udevd --daemon "
                  "&& udevadm control --ping", timeout=60)
        else:
            raise ValueError(variant)

    def teardown(self, variant):
        vm = self.vm
        if variant == "K":
            vm.sh(f"echo offline > {MEM}/auto_online_blocks")
        elif variant.startswith(("D", "B")):
            vm.sh("kill -TERM $(cat /tmp/memhotplugd.pid); "
                  "while [ ! -s /tmp/memhotplugd.rc ]; do sleep 0.1; done; "
                  "cat /tmp/memhotplugd.rc", timeout=60)
        elif variant == "W":
            vm.sh("kill $(cat /tmp/writer.pid)")
        elif variant == "U":
            vm.sh("udevadm settle -t 60; udevadm control --exit; "
                  "rm -f /etc/udev/rules.d/40-memory-online.rules", timeout=90)
        aob = vm.sh(f"cat {MEM}/auto_online_blocks").strip()
        if aob != "offline":
            raise VMError(f"after {variant}: auto_online_blocks is {aob}, expected offline")

    # -- one sample

    def sample(self, variant, n):
        vm = self.vm
        self.count += 1
        i = self.count
        self.setup(variant)
        # Host side first, so nothing of it lands inside the timed window. reserve=off: the
        # host maps the backend MAP_NORESERVE (32 GiB > the host's RAM is fine, it is never
        # touched: the guest's memmap for it lives in the guest's base memory).
        vm.qmp.execute("object-add", **{"qom-type": "memory-backend-ram", "id": f"bmem{i}",
                                        "size": n * self.bs * MiB, "reserve": False})
        vm.sh("rm -f /tmp/armed /tmp/probe.fifo && mkfifo /tmp/probe.fifo && "
              f"(bench-probe uevents {n} {60 + n} /tmp/armed /tmp/probe.fifo 2>/tmp/probe.err &) && "
              "while [ ! -e /tmp/armed ]; do :; done")
        # The agent's own CPU time over the hot-add (the guest's clock, so the instruction clock
        # under --icount): what it takes from the kernel's add, whatever the phases show.
        pidfile = {"W": "/tmp/writer.pid"}.get(variant, "/tmp/memhotplugd.pid")
        # The third field counts the times it was put on a CPU: its wakeups, each taken from the
        # kernel's add when one thread runs the guest (TCG).
        cpu = f"read c _ n < /proc/$(cat {pidfile})/schedstat && echo $c $n"
        cpu0, runs0 = map(int, vm.sh(cpu).split()) if variant[0] in "DBW" else (0, 0)
        vm.qmp.execute("device_add", driver="pc-dimm", id=f"bdimm{i}", memdev=f"bmem{i}")
        out = vm.sh("cat /tmp/probe.fifo", timeout=900)
        cpu1, runs1 = map(int, vm.sh(cpu).split()) if variant[0] in "DBW" else (0, 0)
        agent_cpu, agent_runs = cpu1 - cpu0, runs1 - runs0
        oops = [line for _, line in vm.console if "BUG:" in line or "Oops" in line
                or "valid_zones_show" in line or "Comm:" in line]
        if oops:
            raise KernelOops(f"{variant} N={n}: the guest kernel oopsed:\n" + "\n".join(oops))
        res = parse_probe(out)
        res["variant"], res["n"] = variant, n
        res["agent_cpu"] = agent_cpu // 1000  # µs, like the phases
        res["agent_runs"] = agent_runs
        if not res.get("complete"):
            raise VMError(f"{variant} N={n}: {res.get('adds')} blocks added, only "
                          f"{res.get('onlines')} of {n} onlined\n" + vm.run(
                              "cat /tmp/probe.err; echo --- daemon log; cat /tmp/memhotplugd.log; "
                              "echo --- ps; ps; echo --- dmesg; dmesg | tail -20; "
                              f"cat {MEM}/auto_online_blocks", check=False)[1])
        if variant.startswith(("D", "B")) and variant != "Dc":
            # What the daemon said, numbers folded, with counts: for the JSON, to see where
            # a slow sample spent its time (node waits, retries, several jobs).
            text = vm.sh("cat /tmp/memhotplugd.log")
            kinds = {}
            for line in text.splitlines():
                k = re.sub(r"[0-9]+", "#", line)
                kinds[k] = kinds.get(k, 0) + 1
            res["daemon_log_lines"] = len(text.splitlines())
            res["daemon_log"] = kinds
        self.teardown(variant)
        movable = int(vm.sh(f"cd {MEM} && n=0; for b in memory*; do read z < $b/valid_zones; "
                            "[ \"$z\" = Movable ] && n=$((n+1)); done; echo $n").strip())
        if movable != n:
            raise VMError(f"{variant} N={n}: {movable} blocks in ZONE_MOVABLE, expected {n}")
        self.unplug(i)
        return res

    def unplug(self, i):
        vm = self.vm
        vm.sh(f"cd {MEM} && for b in memory*; do read z < $b/valid_zones; "
              "[ \"$z\" = Movable ] && echo offline > $b/state; done; true", timeout=900)
        vm.qmp.execute("device_del", id=f"bdimm{i}")
        deadline = time.monotonic() + 120
        while any(d["data"].get("id") == f"bdimm{i}"
                  for d in vm.qmp.execute("query-memory-devices")):
            if time.monotonic() > deadline:
                raise VMError(f"bdimm{i} was not ejected")
            time.sleep(0.1)
        vm.qmp.execute("object-del", id=f"bmem{i}")


def parse_probe(out):
    res, events = {}, []
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "E" and len(parts) >= 4:
            events.append((int(parts[1]), parts[2], int(parts[3])))
        elif len(parts) == 2:
            res[parts[0]] = int(parts[1])
    res["complete"] = bool(res.get("complete"))
    # Phases, in microseconds from the first memory "add" uevent.
    t0 = res.get("first_add", 0)
    res["total"] = res.get("last_online", 0) - t0
    res["add_phase"] = res.get("last_add", 0) - t0
    res["first_online_after_adds"] = res.get("first_online", 0) - res.get("last_add", 0)
    onl = sorted(t for t, a, _ in events if a == "online")
    gaps = [b - a for a, b in zip(onl, onl[1:])]
    res["online_gap_median"] = statistics.median(gaps) if gaps else 0
    res["online_phase"] = (onl[-1] - onl[0]) if onl else 0
    add_at = {}
    lat = []
    for t, a, blk in events:
        if a == "add":
            add_at[blk] = t
        elif a == "online" and blk in add_at:
            lat.append(t - add_at[blk])
    res["add_to_online_median"] = statistics.median(lat) if lat else 0
    return res


def orders(variants):
    """Round r: the variants rotated by r, reversed every other cycle, so that with three
    variants six rounds run all six orders and each variant leads, follows and trails equally."""
    k = len(variants)
    plan = []
    for r in range(2 * k):
        rot = variants[r % k:] + variants[:r % k]
        plan.append(tuple(reversed(rot)) if (r // k) % 2 else tuple(rot))
    return plan


def ms(us):
    return f"{us / 1000:.1f}"


def report(results, variants, blocks, repeat):
    lines = []
    w = lines.append
    others = [v for v in variants if v != "K"]
    w(f"Hot-add to online, from the first memory 'add' uevent to the last 'online' uevent "
      f"(guest CLOCK_MONOTONIC), median of {repeat} rounds")
    hdr = f"{'N':>5} {'GiB':>4} " + " ".join(f"{'T_' + v + ' ms':>10}" for v in variants) + \
        " " + " ".join(f"{'T_' + v + '/T_K':>9}" for v in others)
    w(hdr)
    for n in blocks:
        rounds = [r for r in results if r["n"] == n]
        med = {v: statistics.median([r[v]["total"] for r in rounds]) for v in variants}
        ratios = {v: statistics.median([r[v]["total"] / r["K"]["total"] for r in rounds])
                  for v in others}
        w(f"{n:5d} {n * 128 / 1024:4.0f} " + " ".join(f"{ms(med[v]):>10}" for v in variants)
          + " " + " ".join(f"{ratios[v]:9.3f}" for v in others))
    # The comparisons a change is judged by, each within its round: new against the baseline
    # build (takeover, delegate), and takeover against the least any userspace writer can do.
    pairs = [(a, b) for a, b in (("D", "B"), ("Dg", "Bg"), ("D", "W")) if a in variants and b in variants]
    if pairs:
        w("")
        w(f"{'N':>5} " + " ".join(f"{'T_' + a + '/T_' + b:>10}" for a, b in pairs))
        for n in blocks:
            rounds = [r for r in results if r["n"] == n]
            w(f"{n:5d} " + " ".join(
                f"{statistics.median([r[a]['total'] / r[b]['total'] for r in rounds]):10.3f}"
                for a, b in pairs))
    w("")
    w("Phases (medians, ms): add = first to last 'add' uevent; gap = last 'add' to first 'online';"
      " online = first to last 'online'; per-block = median interval between 'online' uevents;"
      " latency = median 'add' to 'online' of one block; cpu = the agent's own CPU time over the"
      " hot-add (schedstat); runs = the times it was put on a CPU meanwhile (its wakeups)")
    w(f"{'N':>5} {'var':>3} {'total':>8} {'add':>7} {'gap':>7} {'online':>8} {'per-blk':>8} "
      f"{'latency':>8} {'cpu':>7} {'runs':>5}")
    for n in blocks:
        rounds = [r for r in results if r["n"] == n]
        for v in variants:
            def m(key):
                return statistics.median([r[v][key] for r in rounds])
            w(f"{n:5d} {v:>3} {ms(m('total')):>8} {ms(m('add_phase')):>7} "
              f"{ms(m('first_online_after_adds')):>7} {ms(m('online_phase')):>8} "
              f"{ms(m('online_gap_median')):>8} {ms(m('add_to_online_median')):>8} "
              f"{ms(m('agent_cpu')) if v[0] in 'DBW' else '-':>7} "
              f"{m('agent_runs') if v[0] in 'DBW' else '-':>5}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("--daemon", required=True, help="memhotplugd binary to run in the guest")
    ap.add_argument("--repeat", type=int, default=5, help="rounds per N (default 5)")
    ap.add_argument("--blocks", default="16,64,256", help="DIMM sizes in blocks (default 16,64,256)")
    ap.add_argument("--variants", default="K,D,U",
                    help="comma-separated, K first (default K,D,U; also Dg, Dq, Dc, Dd, W, "
                    "and B, Bg with --baseline)")
    ap.add_argument("--baseline", metavar="DAEMON",
                    help="another memhotplugd binary (an earlier commit's) for variants B and Bg, "
                    "measured side by side with D and Dg")
    ap.add_argument("--memory", default="2G", help="guest base memory (default 2G: the memmap of "
                    "a 32 GiB DIMM takes 512 MiB of it)")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--icount", metavar="SHIFT", type=int,
                    help="run QEMU with -icount shift=SHIFT,sleep=off: guest time counts "
                    "instructions (2^SHIFT ns each), so results do not depend on host load; "
                    "about 4x slower to run")
    ap.add_argument("--max-oops", type=int, default=10,
                    help="guest kernel oopses to survive (reboot, rerun the round) before "
                    "giving up (default 10)")
    ap.add_argument("--fresh-boot", action="store_true",
                    help="boot a new VM for every sample (no warm-up sample)")
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("--log-dir", help="keep the VM console log here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every sample")
    args = ap.parse_args()

    blocks = [int(b) for b in args.blocks.split(",")]
    variants = args.variants.split(",")
    if variants[0] != "K" or any(v not in VARIANTS for v in variants):
        ap.error(f"--variants must start with K and name only {', '.join(VARIANTS)}")
    if not os.access(args.daemon, os.X_OK):
        ap.error(f"{args.daemon} is not executable (build it: ninja -C build)")
    if any(v.startswith("B") for v in variants) and not (
            args.baseline and os.access(args.baseline, os.X_OK)):
        ap.error("variants B and Bg need --baseline DAEMON, an executable")

    tmp = tempfile.mkdtemp(prefix="mhp-bench.")
    clock = f"icount shift={args.icount}" if args.icount is not None else "real time"
    vm = None
    try:
        probe = build_probe(tmp)
        maxmem = (parse_size(args.memory) + max(blocks) * 128 * MiB) // GiB + 1
        boots = 0

        def boot():
            nonlocal boots
            boots += 1
            v = VM(memory=args.memory, smp=args.smp, slots=4, maxmem=f"{maxmem}G",
                   binaries=[(args.daemon, "/usr/sbin/memhotplugd"),
                             (probe, "/usr/bin/bench-probe")] +
                   ([(args.baseline, "/usr/sbin/memhotplugd-base")] if args.baseline else []),
                   timeout=3600, name=f"bench-hotplug{'' if boots == 1 else boots}",
                   log_dir=args.log_dir,
                   qemu_extra=["-icount", f"shift={args.icount},sleep=off"]
                   if args.icount is not None else [])
            v.start()
            if v.block_size() != 128 * MiB:
                raise VMError(f"block size {v.block_size()} is not 128 MiB")
            return v

        t_start = time.monotonic()
        results, oopses = [], []
        vm = boot()
        kver = vm.sh("uname -r").strip()
        ncpu = vm.sh("nproc").strip()
        log(f"booted {kver} in {vm.boot_seconds:.1f}s, {ncpu} vCPUs, TCG "
            f"thread={vm.tcg_thread}, {clock}, base memory {args.memory}")
        bench = Bench(vm)
        plan = orders(variants)
        hotadds = 0
        for n in blocks:
            t_n = time.monotonic()
            warm = False
            r = 0
            while r < args.repeat:
                order = plan[r % len(plan)]
                rnd = {"n": n, "round": r, "order": "".join(order)}
                try:
                    if not warm and not args.fresh_boot:
                        w = bench.sample("K", n)
                        warm = True
                        log(f"N={n}: warm-up K {ms(w['total'])} ms")
                    for v in order:
                        if args.fresh_boot:
                            hotadds += bench.count
                            vm.stop()
                            vm = boot()
                            bench = Bench(vm)
                        rnd[v] = bench.sample(v, n)
                except KernelOops as e:
                    hotadds += bench.count
                    oopses.append({"n": n, "round": r, "error": str(e)})
                    log(f"N={n} round {r + 1}: {e}")
                    if len(oopses) > args.max_oops:
                        raise VMError(f"{len(oopses)} kernel oopses, giving up") from None
                    log("booting a new VM and running the round again")
                    vm.stop()
                    vm = boot()
                    bench = Bench(vm)
                    warm = False
                    continue
                results.append(rnd)
                log(f"N={n} round {r + 1}/{args.repeat} ({'-'.join(order)}): " +
                    ", ".join(f"{v} {ms(rnd[v]['total'])} ms" for v in variants) +
                    "   " + ", ".join(f"{v}/K {rnd[v]['total'] / rnd['K']['total']:.3f}"
                                      for v in variants if v != "K") +
                    "   CPU " + ", ".join(f"{v} {ms(rnd[v]['agent_cpu'])} ms/{rnd[v]['agent_runs']} runs"
                                      for v in variants if v[0] in "DBW"))
                r += 1
            log(f"N={n}: {time.monotonic() - t_n:.0f}s")
        hotadds += bench.count
        vm.stop()
        print(f"memhotplugd hot-add benchmark: Linux {kver}, QEMU TCG ({vm.tcg_thread}-threaded, "
              f"{clock}), {ncpu} vCPUs, {args.memory} base memory, 128 MiB blocks")
        print(report(results, variants, blocks, args.repeat))
        print(f"wall clock {time.monotonic() - t_start:.0f}s for {hotadds} hot-adds in "
              f"{boots} boot(s)")
        if oopses:
            print(f"guest kernel oopses: {len(oopses)} (each cost a reboot and a rerun of its "
                  f"round):")
            for o in oopses:
                print("  " + o["error"].replace("\n", "\n    "))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"kernel": kver, "vcpus": ncpu, "clock": clock, "results": results,
                           "oopses": oopses}, f, indent=1)
        return 0
    finally:
        if vm:
            vm.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
