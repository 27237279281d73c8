#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unprivileged reads under Online=auto-movable at scale: what one DriftBlocks, one GetAll on the
Manager (memhotplugctl status) and one Plan cost the daemon, and how long a root call waits while
unprivileged clients read back to back. Each daemon given runs in turn on the same temporary sysfs
tree (--sysfs-root; never the machine's /sys) and a private dbus-daemon with the project's bus
policy, so that two builds compare side by side in one run.

The tree: two nodes, each with boot memory online in the kernel zone and ACPI memory devices
(PNP0C80, 16 blocks each) online movable. Node 0 has 4 times its boot memory movable (over
MovableRatio=301 with NumaAware=yes: its DIMMs drift), node 1 as much as its boot memory; one block
in 8 of node 1's DIMMs is offline and marked as offlined on purpose (Plan's dry run).

  first      daemon CPU of the first call after a change (a root Rescan before it), the median
             of --cold calls (/proc/PID/schedstat: nanoseconds)
  repeated   daemon CPU per call of --repeat calls back to back, nothing changed in between
             (/proc/PID/stat: user+sys clock ticks, summed over the calls, then divided; and
             /proc/PID/schedstat, whose nanoseconds show what is below a tick)
  root flood median time of a root OnlineBlocks([one offline block]) while --clients clients (user
             nobody) call GetAll on the Manager back to back (only at the sizes in --flood-blocks)

A daemon whose first call took more than --budget seconds of CPU is not run at larger sizes.

Usage: bench-reads.py FAULT_PRELOAD_SO BUS_POLICY_CONF LABEL=MEMHOTPLUGD... [--blocks 1024,2048,...]
                      [--repeat 10] [--cold 3] [--flood-blocks 16384] [--clients 2] [--seconds 6]
"""

import importlib.util
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import Bed, Block  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_dbus", os.path.join(HERE, "bench-dbus.py"))
bench_dbus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_dbus)

CONFIG = ("[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\n\n"
          "[Memory]\nOnline=auto-movable\nMovableRatio=301\nNumaAware=yes\n")
DIMM = 16

READS = {
    "DriftBlocks": ("org.freedesktop.DBus.Properties", "Get", ("org.memhotplug1.Manager", "DriftBlocks"), "(ss)"),
    "GetAll": ("org.freedesktop.DBus.Properties", "GetAll", ("org.memhotplug1.Manager",), "(s)"),
    "Plan": ("org.memhotplug1.Manager", "Plan", None, None),
}


def schedstat_seconds(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e9


def make_bed(n):
    """Blocks [0, n): node 0 the lower half, node 1 the upper; returns (bed, DIMMs, offline blocks)."""
    half = n // 2
    blocks, dimms, offline = [], [], []
    for node, base, boot in ((0, 0, half // 5), (1, half, half // 2)):
        blocks += [Block(i, node, state="online", zones=("Normal",)) for i in range(base, base + boot)]
        first = base + boot
        while first + DIMM <= base + half:
            members = list(range(first, first + DIMM))
            dimms.append(members)
            for i in members:
                off = node == 1 and len(dimms) % 8 == 0 and i == members[0]
                blocks.append(Block(i, node, state="offline" if off else "online",
                                    zones=("Normal", "Movable") if off else ("Movable",)))
                if off:
                    offline.append(i)
            first += DIMM
        blocks += [Block(i, node, state="online", zones=("Normal",)) for i in range(first, base + half)]
    bed = Bed(blocks, plain=True, emulate=False)
    for k, members in enumerate(dimms):
        d = os.path.join(bed.sys_dir, "bus/acpi/devices/PNP0C80:%02x" % k)
        os.makedirs(d)
        for j, i in enumerate(members):
            os.symlink("../../../../devices/system/memory/memory%d" % i,
                       os.path.join(d, "physical_node" if j == 0 else "physical_node%d" % j))
    return bed, offline


def call(client, name):
    iface, method, args, sig = READS[name]
    return client.call(method, args, sig, iface=iface, timeout=3600)


def measure(daemon_path, bed, offline, n, args):
    """The figures of one daemon over bed, CPU times in ms."""
    os.makedirs(bed.runtime_dir, exist_ok=True)
    with open(os.path.join(bed.runtime_dir, "offlined"), "w") as f:
        f.write("".join("memory%d\n" % i for i in offline))
    out = {}
    with bench_dbus.daemon_on_bus(daemon_path, args.shim, bed, timeout=600) as (d, client, bus):
        pid = d.proc.pid
        out["drift"] = call(client, "DriftBlocks")[0]
        out["plan_rows"] = len(call(client, "Plan")[0])
        for name in READS:
            firsts = []
            for _ in range(args.cold):
                client.call("Rescan", timeout=600)
                c0 = schedstat_seconds(pid)
                call(client, name)
                firsts.append(1000 * (schedstat_seconds(pid) - c0))
                if firsts[-1] > 1000:
                    break  # the old daemon: one call of seconds is enough to show it
            out[name + " first"] = statistics.median(firsts)
            repeat = args.repeat if out[name + " first"] < 1000 else 1
            c0, s0 = bench_dbus.cpu_seconds(pid), schedstat_seconds(pid)
            for _ in range(repeat):
                call(client, name)
            out[name + " repeated"] = 1000 * (bench_dbus.cpu_seconds(pid) - c0) / repeat
            out[name + " repeated ns"] = 1000 * (schedstat_seconds(pid) - s0) / repeat
        out["rss"] = bench_dbus.status_kib(pid, "VmRSS")

        if n in args.flood_blocks:
            spare = list(offline)
            lat = []

            def root_call():
                i = spare.pop(0)
                t0 = time.monotonic()
                client.call("OnlineBlocks", ([i], "movable"), "(aus)", timeout=3600)
                lat.append(1000 * (time.monotonic() - t0))
                bed.write_attr(i, "state", "offline")

            root_call()  # idle
            out["root idle"] = lat.pop()
            deadline = time.monotonic() + args.seconds
            clients = bench_dbus.flood(bus.address, args.clients, deadline, "org.freedesktop.DBus.Properties",
                                       "GetAll", "('org.memhotplug1.Manager',)")
            time.sleep(1.0)  # every client connected and calling
            while time.monotonic() < deadline - 0.5 and spare:
                root_call()
                time.sleep(0.1)
            calls = sum(json.loads(p.communicate(timeout=3600)[0])["calls"] for p in clients)
            out["root flood"] = statistics.median(lat)
            out["root flood n"] = len(lat)
            out["flood rate"] = calls / args.seconds
    return out


def main():
    ap = bench_dbus.arguments(__doc__)
    ap.add_argument("--blocks", default="1024,2048,4096,8192,16384,32768,65536")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--cold", type=int, default=3)
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--flood-blocks", default="16384")
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=6.0)
    args = bench_dbus.parse(ap)
    args.flood_blocks = [int(x) for x in args.flood_blocks.split(",") if x]
    daemons = args.daemons
    dropped = set()

    rows = [("drift", "DriftBlocks (value)", "%d"), ("plan_rows", "Plan rows", "%d")]
    for name in READS:
        rows += [(name + " first", "%s, first call after a change: CPU ms" % name, "%.2f"),
                 (name + " repeated", "%s, repeated: CPU ms per call (stat)" % name, "%.2f"),
                 (name + " repeated ns", "%s, repeated: CPU ms per call (schedstat)" % name, "%.3f")]
    rows += [("rss", "VmRSS after the reads (KiB)", "%d"), ("root idle", "root OnlineBlocks, idle (ms)", "%.1f"),
             ("root flood", "root OnlineBlocks, %d GetAll loops: median (ms)" % args.clients, "%.1f"),
             ("root flood n", "root calls during the flood", "%d"),
             ("flood rate", "GetAll served per second in the flood", "%.1f")]
    for n in [int(x) for x in args.blocks.split(",")]:
        t0 = time.monotonic()
        bed, offline = make_bed(n)
        try:
            bed.write_config(CONFIG)
            print("# %d blocks (tree made in %.1fs)" % (n, time.monotonic() - t0), flush=True)
            results = {}
            for label, path in daemons:
                if label in dropped:
                    continue
                results[label] = measure(path, bed, offline, n, args)
                if max(results[label][name + " first"] for name in READS) > 1000 * args.budget:
                    dropped.add(label)
        finally:
            bed.cleanup()
        bench_dbus.print_table("%d blocks" % n, [label for label, _ in daemons], results, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
