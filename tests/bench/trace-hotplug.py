#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where the time of a hot-add goes: kernel probes next to the uevents, in a fresh guest per sample.

Usage: tests/bench/trace-hotplug.py --daemon build/daemon/memhotplugd [--blocks 16] [--repeat 3]
                                 [--variants K,D,Dg,W] [--icount SHIFT]
                                 [--one-boot]

For each sample a VM is booted (as `bench-hotplug.py --fresh-boot`), kprobes are set on the
kernel's hot-add path (tracefs, clock "mono", the CLOCK_MONOTONIC of bench-probe's uevent stamps),
one pc-dimm of N blocks is hot-added with the variant onlining it (K, D, Dg, W as in
bench-hotplug.py), and the moments below are printed in ms from the first memory "add" uevent,
medians over the samples:

  add_start   add_memory_resource() entered: the kernel starts the add (memmap, sections)
  last_add    the last memory "add" uevent
  node_links  register_memory_blocks_under_node() returned: the blocks have their nodeN links
  add_done    add_memory_resource() returned: the blocks are added (mem_hotplug_lock was released
              just before; K onlines them between the two, so for K this is after its onlines)
  unlocked    acpi_device_hotplug() returned: device_hotplug_lock released (the ACPI part of the
              hot-add, _OST included, is over); a write to "state" cannot get in before this
  first_lock  the first write to "state" got device_hotplug_lock (K: none, the kernel onlines in
              the add path without a write)
  retries     the writes that found device_hotplug_lock taken before that: each slept 5 ms in
              lock_device_hotplug_sysfs() and was restarted
  gp_wait     the time the first online spent in mem_hotplug_begin(): a full RCU grace period
              (rcu_sync_enter()) when mem_hotplug_lock was not taken for writing within the last one
  first_onl   the first online_pages()
  last_onl    the last memory "online" uevent: the end of the sample
  daemon_on   the daemon's time on a CPU between the first "add" and last_onl (sched_switch):
              what of the kernel's add its wakeups took

It explains a benchmark, it is not one: probes cost time of their own.
"""

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
# The VM harness (tests/vm/vm.py).
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vm"))

from vm import VM, MiB  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_hotplug", os.path.join(HERE, "bench-hotplug.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

TRACING = "/sys/kernel/tracing"
PROBES = [
    "p:add_start add_memory_resource",
    "r:add_done add_memory_resource",
    "r:node_links register_memory_blocks_under_node",
    "r:unlocked acpi_device_hotplug",
    "r:lock lock_device_hotplug_sysfs ret=$retval",
    "p:gp_in mem_hotplug_begin",
    "r:gp_out mem_hotplug_begin",
    "p:onl online_pages",
]
MOMENTS = ["add_start", "last_add", "node_links", "add_done", "unlocked", "first_lock", "retries",
           "gp_wait", "first_onl", "last_onl", "daemon_on"]


def arm(vm):
    vm.sh(f"mount -t tracefs nodev {TRACING} 2>/dev/null; echo mono > {TRACING}/trace_clock; "
          f"echo 4096 > {TRACING}/buffer_size_kb")
    for p in PROBES:
        vm.sh(f"echo '{p}' >> {TRACING}/kprobe_events")
    # When the daemon is on a CPU: every switch to or from it.
    vm.sh(f"echo 'next_comm == \"memhotplugd\" || prev_comm == \"memhotplugd\"' > "
          f"{TRACING}/events/sched/sched_switch/filter; echo 1 > {TRACING}/events/sched/sched_switch/enable")
    vm.sh(f"echo 1 > {TRACING}/events/kprobes/enable; echo > {TRACING}/trace")


def parse_trace(text):
    """[(seconds, comm, probe, rest)] from the trace file."""
    out = []
    for line in text.splitlines():
        if line.startswith("#") or ": " not in line:
            continue
        head, rest = line.split(": ", 1)
        fields = head.split()
        try:
            t = float(fields[-1])
        except ValueError:
            continue
        probe = rest.split(":", 1)[0]
        out.append((t, fields[0].rsplit("-", 1)[0], probe, rest))
    return out


def moments(probe_out, trace):
    """The moments of one sample, in ms from the first "add" uevent."""
    t0 = int(next(ln.split()[1] for ln in probe_out.splitlines() if ln.startswith("t0 "))) / 1e6
    res = bench.parse_probe(probe_out)
    first_add = t0 + res["first_add"] / 1e6
    m = {"last_add": res["add_phase"] / 1e3, "last_onl": res["total"] / 1e3}

    def first(pred):
        return next(((t - first_add) * 1e3 for t, c, p, r in trace if pred(t, c, p, r)), None)

    m["add_start"] = first(lambda t, c, p, r: p == "add_start")
    m["add_done"] = first(lambda t, c, p, r: p == "add_done")
    m["node_links"] = first(lambda t, c, p, r: p == "node_links")
    # After the first "add", before the last "online" (not the unplug between samples).
    end = first_add + m["last_onl"] / 1e3

    def during(p_):
        return lambda t, c, p, r: p == p_ and first_add < t <= end

    m["unlocked"] = first(during("unlocked"))
    m["first_lock"] = first(lambda t, c, p, r: during("lock")(t, c, p, r) and r.endswith("ret=0"))
    m["retries"] = sum(1 for t, c, p, r in trace if during("lock")(t, c, p, r) and not r.endswith("ret=0")
                       and (m["first_lock"] is None or (t - first_add) * 1e3 < m["first_lock"]))
    m["first_onl"] = first(during("onl"))
    # The first online's mem_hotplug_begin(), entry to return (the add's own came before).
    gp_in = next((t for t, c, p, r in trace if during("gp_in")(t, c, p, r)), None)
    gp_out = next((t for t, c, p, r in trace if p == "gp_out" and gp_in and t >= gp_in), None)
    m["gp_wait"] = (gp_out - gp_in) * 1e3 if gp_in and gp_out else None
    # The daemon's time on a CPU from the first "add" to the last "online" (each stretch that
    # began before the end, counted whole).
    on, m["daemon_on"] = None, 0.0
    for t, c, p, r in trace:
        if p != "sched_switch":
            continue
        if "next_comm=memhotplugd " in r and on is None:
            on = t
        elif "prev_comm=memhotplugd " in r and on is not None:
            if t > first_add and on < end:
                m["daemon_on"] += (t - max(on, first_add)) * 1e3
            on = None
    return m


def boot(args, probe, n):
    vm = VM(memory=args.memory, smp=2, slots=4, maxmem=f"{n // 8 + 4}G",
            binaries=[(args.daemon, "/usr/sbin/memhotplugd"), (probe, "/usr/bin/bench-probe")],
            timeout=600, name="trace-hotplug",
            qemu_extra=["-icount", f"shift={args.icount},sleep=off"] if args.icount is not None else [])
    vm.start()
    arm(vm)
    return vm


def sample(vm, b, variant, n):
    """One hot-add in a booted VM (b: its bench.Bench), then the DIMM unplugged again."""
    captured = {}
    parse = bench.parse_probe

    def keep(out):
        captured["out"] = out
        return parse(out)
    vm.sh(f"echo > {TRACING}/trace")
    bench.parse_probe = keep
    try:
        b.sample(variant, n)
    finally:
        bench.parse_probe = parse
    trace = parse_trace(vm.sh(f"cat {TRACING}/trace", timeout=120))
    return moments(captured["out"], trace)


def fresh_sample(args, probe, variant, n):
    vm = boot(args, probe, n)
    try:
        return sample(vm, bench.Bench(vm), variant, n)
    finally:
        vm.stop()


def fmt(v):
    return "-" if v is None else f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--blocks", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--variants", default="K,D,Dg,W")
    ap.add_argument("--memory", default="2G")
    ap.add_argument("--one-boot", action="store_true",
                    help="every sample in one VM, as bench-hotplug.py without --fresh-boot")
    ap.add_argument("--icount", metavar="SHIFT", type=int,
                    help="run QEMU with -icount shift=SHIFT,sleep=off (as bench-hotplug.py --icount)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="mhp-trace.")
    try:
        probe = bench.build_probe(tmp)
        variants = args.variants.split(",")
        got = {v: [] for v in variants}
        vm = one = None
        if args.one_boot:
            vm = boot(args, probe, args.blocks)
            one = bench.Bench(vm)
            sample(vm, one, "K", args.blocks)  # the warm-up, as bench-hotplug.py's
        for r in range(args.repeat):
            for v in variants[r % len(variants):] + variants[:r % len(variants)]:
                got[v].append(sample(vm, one, v, args.blocks) if vm
                              else fresh_sample(args, probe, v, args.blocks))
                print(f"# round {r + 1} {v}: " + " ".join(
                    f"{k}={fmt(got[v][-1][k])}" for k in MOMENTS), file=sys.stderr, flush=True)
        print(f"Hot-add of {args.blocks} blocks, ms from the first memory 'add' uevent, "
              f"medians of {args.repeat} " + ("samples in one boot" if vm else "fresh boots")
              + " (kprobes on)")
        print(f"{'':4}" + "".join(f"{k:>11}" for k in MOMENTS))
        for v in variants:
            row = []
            for k in MOMENTS:
                vals = [s[k] for s in got[v] if s[k] is not None]
                row.append(statistics.median(vals) if vals else None)
            print(f"{v:4}" + "".join(f"{fmt(x):>11}" for x in row))
        if vm:
            vm.stop()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
