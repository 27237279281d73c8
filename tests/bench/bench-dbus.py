#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""D-Bus at scale: what GetManagedObjects costs with thousands of block objects, and how long a root
call waits while unprivileged clients flood the daemon with it. Each daemon given runs in turn on the
same temporary sysfs tree (--sysfs-root; never the machine's /sys) and a private dbus-daemon with the
project's bus policy, so that two builds compare side by side in one run:

  reply      the size of one GetManagedObjects reply (bytes, as serialized)
  cpu/call   the daemon's CPU time (user+sys, /proc/PID/stat) per GetManagedObjects, idle otherwise
             (the mean over --repeat calls)
  wall/call  the time one GetManagedObjects takes for the caller, idle otherwise (median)
  root idle  median time of a root OnlineBlocks([one block]) call, including the write to its state
  root flood median and worst of the same while FLOOD clients (user nobody) call GetManagedObjects
             back to back; and how many GetManagedObjects they got through per second
  slow       a client of user nobody that sends SLOW_CALLS GetManagedObjects on each of SLOW_CONNECTIONS
             connections and reads nothing: the daemon's and dbus-daemon's VmRSS once the daemon is
             idle, root's OnlineBlocks (median of 5; a timeout counts as --slow-timeout), and how many
             full replies the client got when it finally read
  signals    a job of N blocks onlined on request (OnlineBlocks, chunks of ChunkBlocks=64, the path a
             hot-add's blocks take): the signals the daemon sent through dbus-daemon for it (until
             JobFinished), how many of them are about block states, and the CPU time per block of the
             daemon and of dbus-daemon (which copies every signal to each subscriber: here one), the
             median of --signal-repeat jobs (CPU time comes in 10 ms ticks)
  rss        the daemon's VmRSS after start and after the first GetManagedObjects, VmHWM at the end

Half the blocks are online, half offline (policy Online=offline, so nothing is onlined but what the
root calls ask for). Figures are printed as measured; ratios are what to compare, on a shared
machine absolute times are noisy.

Usage: bench-dbus.py FAULT_PRELOAD_SO BUS_POLICY_CONF LABEL=MEMHOTPLUGD... [--blocks 16384,32768]
                     [--clients 4] [--seconds 6] [--slow-connections 5] [--slow-calls 100]
                     [--signal-blocks 64,512] [--signal-repeat 3]
"""

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import busclient  # noqa: E402
import harness  # noqa: E402
from harness import Bed, Block  # noqa: E402

CONFIG = "[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\n\n[Memory]\nOnline=offline\n"

# A flood client, run as nobody: one call on the root object back to back until the deadline
# (argv: the bus address, the deadline, the interface, the method, its parameters as GVariant text).
FLOOD = r"""
import json, sys, time
from gi.repository import Gio, GLib
address, deadline, iface, method, params = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
conn = Gio.DBusConnection.new_for_address_sync(
    address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)
params = GLib.Variant.parse(None, params, None, None) if params else None
n = 0
while time.monotonic() < deadline:
    conn.call_sync("org.memhotplug1", "/org/memhotplug1", iface, method, params, None, Gio.DBusCallFlags.NONE,
                   600000, None)
    n += 1
print(json.dumps({"calls": n}))
"""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^%s:\s+(\d+) kB" % key, f.read(), re.M).group(1))


def make_bed(n):
    blocks = [Block(i, 0 if i < n // 2 else 1, state="online" if i % 2 else "offline",
                    zones=("Normal",) if i % 2 else ("Normal", "Movable")) for i in range(n)]
    return Bed(blocks, plain=True, emulate=False)


def reset_states(bed, indices):
    for i in indices:
        bed.write_attr(i, "state", "offline")


@contextlib.contextmanager
def daemon_on_bus(daemon_path, shim, bed, timeout=120):
    """The daemon over bed, on a private dbus-daemon with the project's bus policy, and a client
    (root) that sees it on the bus: yields (daemon, client, bus)."""
    harness.init(daemon_path, shim)
    bus = busclient.PrivateBus()
    bed.bus_address = bus.address
    d = client = None
    try:
        d = bed.daemon(log_level="warning")
        client = busclient.Client(bus.address)
        harness.wait_until(lambda: client.call("NameHasOwner", ("org.memhotplug1",), "(s)", path="/org/freedesktop/DBus",
                                               iface="org.freedesktop.DBus", dest="org.freedesktop.DBus")[0],
                           timeout=timeout, what="the daemon on the bus")
        yield d, client, bus
    finally:
        if client:
            client.close()
        if d:
            d.kill()
        bus.stop()


def flood(address, clients, deadline, iface, method, params=""):
    """clients processes as user nobody, each calling iface.method(params) back to back until the
    deadline; each prints {"calls": N} at the end."""
    env = busclient.unprivileged_env(address)
    return [subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              "/usr/bin/python3", "-c", FLOOD, address, str(deadline), iface, method, params],
                             env=env, cwd="/", stdout=subprocess.PIPE, text=True)
            for _ in range(clients)]


def print_table(title, labels, results, rows):
    """rows (key, name, format), one column per label and, with two labels or more, the first's value
    over the last's; a value a label has not got prints as "-"."""
    head = "%-50s" % title + "".join("%14s" % label for label in labels)
    if len(labels) > 1:
        head += "%14s" % ("%s/%s" % (labels[0], labels[-1]))
    print(head)
    for key, name, fmt in rows:
        vals = [results.get(label, {}).get(key) for label in labels]
        if all(v is None for v in vals):
            continue
        line = "%-50s" % name + "".join("%14s" % (fmt % v if v is not None else "-") for v in vals)
        a, b = vals[0], vals[-1]
        if len(labels) > 1:
            line += "%14s" % ("%.2f" % (a / b) if a is not None and b else "-")
        print(line, flush=True)
    print(flush=True)


def measure(label, daemon_path, bed, args):
    with daemon_on_bus(daemon_path, args.shim, bed) as (d, client, bus):
        pid = d.proc.pid
        out = {"rss_start": status_kib(pid, "VmRSS")}

        def gmo():
            return client.conn.call_sync("org.memhotplug1", "/org/memhotplug1",
                                         "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", None, None,
                                         busclient.Gio.DBusCallFlags.NONE, 120000, None)

        v = gmo()
        out["objects"] = len(v.unpack()[0])
        out["reply"] = v.get_size()
        out["rss_after"] = status_kib(pid, "VmRSS")
        # CPU time comes in clock ticks (10 ms): summed over the calls, then divided.
        walls = []
        c0 = cpu_seconds(pid)
        for _ in range(args.repeat):
            t0 = time.monotonic()
            gmo()
            walls.append(time.monotonic() - t0)
        out["cpu"] = (cpu_seconds(pid) - c0) / args.repeat
        out["wall"] = statistics.median(walls)

        offline = [i for i in sorted(bed.blocks) if i % 2 == 0]
        used = []

        def root_call():
            i = offline.pop(0)
            used.append(i)
            t0 = time.monotonic()
            res = client.call("OnlineBlocks", ([i], "movable"), "(aus)", timeout=120)
            dt = time.monotonic() - t0
            if not res[0] or not res[0][0][1]:
                raise RuntimeError("OnlineBlocks(%d) did not succeed: %r" % (i, res))
            return dt

        idle = [root_call() for _ in range(10)]
        out["root_idle"] = statistics.median(idle)

        if sum(args.signal_blocks) * args.signal_repeat + 100 > len(offline):
            raise SystemExit("--signal-blocks %s x %d: not enough offline blocks (%d), give --blocks more" % (
                args.signal_blocks, args.signal_repeat, len(offline)))
        for n in args.signal_blocks:
            cpu, bus_cpu = [], []
            for _ in range(args.signal_repeat):
                blocks = [offline.pop(0) for _ in range(n)]
                used.extend(blocks)
                time.sleep(0.3)  # the signals of the calls before have reached the client's thread
                mark = client.mark()
                c0, b0 = cpu_seconds(pid), cpu_seconds(bus.proc.pid)
                client.call("OnlineBlocks", (blocks, "movable"), "(aus)", timeout=300)
                client.wait_signal(lambda sg: sg[3] == "JobFinished" and sg[4][0] == n, "JobFinished(%d)" % n, mark)
                time.sleep(0.3)  # the iteration's last PropertiesChanged
                cpu.append((cpu_seconds(pid) - c0) / n * 1e6)
                bus_cpu.append((cpu_seconds(bus.proc.pid) - b0) / n * 1e6)
                sigs = client.signals_since(mark)
            out["sig_%d" % n] = len(sigs)
            out["sig_state_%d" % n] = sum(sg[3] in ("BlockStateChanged", "BlockStatesChanged") for sg in sigs)
            out["sig_cpu_%d" % n] = statistics.median(cpu)
            out["sig_bus_cpu_%d" % n] = statistics.median(bus_cpu)

        deadline = time.monotonic() + args.seconds
        clients = flood(bus.address, args.clients, deadline, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        time.sleep(1.0)  # every client connected and calling
        lat = []
        while time.monotonic() < deadline - 0.5:
            lat.append(root_call())
            time.sleep(0.1)
        calls = 0
        for p in clients:
            o, _ = p.communicate(timeout=300)
            calls += json.loads(o)["calls"]
        out["root_flood"] = statistics.median(lat)
        out["root_flood_max"] = max(lat)
        out["root_flood_n"] = len(lat)
        out["flood_rate"] = calls / args.seconds

        # The slow reader: calls, reads nothing; the daemon is measured once it has done all it will
        # with the calls (its CPU time stands still), as the client keeps its connections open.
        slow, sent = busclient.start_slow_client(bus.address, args.slow_connections, args.slow_calls)
        try:
            busclient.wait_quiet(pid)
            out["slow_rss"] = status_kib(pid, "VmRSS")
            out["slow_bus_rss"] = status_kib(bus.proc.pid, "VmRSS")
            lat, timeouts = [], 0
            for _ in range(5):
                try:
                    i = offline.pop(0)
                    used.append(i)
                    t0 = time.monotonic()
                    client.call("OnlineBlocks", ([i], "movable"), "(aus)", timeout=args.slow_timeout)
                    lat.append(time.monotonic() - t0)
                except busclient.BusError:
                    timeouts += 1
                    lat.append(args.slow_timeout)
            out["root_slow"] = statistics.median(lat)
            out["root_slow_timeouts"] = timeouts
        finally:
            got = busclient.read_slow_client(slow) if slow.poll() is None else {}
            if slow.poll() is None:
                slow.kill()
        out["slow_replies"] = got.get("replies", 0)
        out["slow_sent"] = sent.get("sent", 0)
        out["hwm"] = status_kib(pid, "VmHWM")
        reset_states(bed, used)
        return out


def arguments(doc):
    """The arguments every D-Bus bench takes: FAULT_PRELOAD_SO BUS_POLICY_CONF LABEL=MEMHOTPLUGD..."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shim")
    ap.add_argument("policy")
    ap.add_argument("daemons", nargs="+", help="LABEL=PATH")
    return ap


def parse(ap):
    args = ap.parse_args()
    args.shim = os.path.abspath(args.shim)
    busclient.BUS_POLICY = os.path.abspath(args.policy)
    args.daemons = [d.split("=", 1) for d in args.daemons]
    return args


def main():
    ap = arguments(__doc__)
    ap.add_argument("--blocks", default="16384,32768")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--slow-connections", type=int, default=5)
    ap.add_argument("--slow-calls", type=int, default=100)
    ap.add_argument("--slow-timeout", type=float, default=10.0,
                    help="a root call's timeout while the slow reader holds its replies")
    ap.add_argument("--signal-blocks", default="64,512", help="the sizes of the jobs whose signals are counted")
    ap.add_argument("--signal-repeat", type=int, default=3, help="jobs of each size (CPU: their median)")
    args = parse(ap)
    args.signal_blocks = [int(x) for x in args.signal_blocks.split(",") if x]
    daemons = args.daemons

    rows = [("objects", "objects in GetManagedObjects", "%d"),
            ("reply", "reply bytes", "%d"),
            ("cpu", "daemon CPU per GetManagedObjects (s)", "%.4f"),
            ("wall", "wall time per GetManagedObjects (s)", "%.4f"),
            ("root_idle", "root OnlineBlocks, idle: median (s)", "%.4f"),
            ("root_flood", "root OnlineBlocks, %d-client flood: median (s)" % args.clients, "%.4f"),
            ("root_flood_max", "root OnlineBlocks, flood: worst (s)", "%.4f"),
            ("root_flood_n", "root calls during the flood", "%d"),
            ("flood_rate", "GetManagedObjects served per second in the flood", "%.1f"),
            ("slow_sent", "slow reader: calls sent, none read", "%d"),
            ("slow_rss", "slow reader: daemon VmRSS (KiB)", "%d"),
            ("slow_bus_rss", "slow reader: dbus-daemon VmRSS (KiB)", "%d"),
            ("root_slow", "slow reader: root OnlineBlocks median (s)", "%.4f"),
            ("root_slow_timeouts", "slow reader: root calls timed out (of 5)", "%d"),
            ("slow_replies", "slow reader: full replies it got", "%d"),
            *[row for n in args.signal_blocks for row in (
                ("sig_%d" % n, "%d-block job: signals sent" % n, "%d"),
                ("sig_state_%d" % n, "%d-block job: block-state signals" % n, "%d"),
                ("sig_cpu_%d" % n, "%d-block job: daemon CPU per block, median (us)" % n, "%.1f"),
                ("sig_bus_cpu_%d" % n, "%d-block job: dbus-daemon CPU per block, median (us)" % n, "%.1f"))],
            ("rss_start", "VmRSS after start (KiB)", "%d"),
            ("rss_after", "VmRSS after one GetManagedObjects (KiB)", "%d"),
            ("hwm", "VmHWM at the end (KiB)", "%d")]
    for n in [int(x) for x in args.blocks.split(",")]:
        t0 = time.monotonic()
        bed = make_bed(n)
        try:
            bed.write_config(CONFIG)
            print("# %d blocks (tree made in %.1fs), %d flood clients for %.0fs" % (
                n, time.monotonic() - t0, args.clients, args.seconds), flush=True)
            results = {label: measure(label, path, bed, args) for label, path in daemons}
        finally:
            bed.cleanup()
        print_table("%d blocks" % n, [label for label, _ in daemons], results, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
