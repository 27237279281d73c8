#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Offlining on a real kernel: what the daemon's writer thread costs against a plain loop.

Usage: tests/bench/bench-offline.py --daemon build/daemon/memhotplugd --ctl build/ctl/memhotplugctl
                                    [--baseline OTHER_MEMHOTPLUGD] [--blocks 16] [--repeat 5] [-v]

One VM boot (Debian's 6.12 kernel under QEMU/TCG) with a DIMM of --blocks blocks, onlined
movable. Each round offlines all of them, then onlines them again, once per variant, in an order
permuted round by round:

  S  a shell loop writing "offline" to each block's state: the floor;
  D  memhotplugctl offline BLOCKS against memhotplugd (the writes on its writer thread, one
     after the other, highest first), until the reply;
  B  the same against --baseline (e.g. a build of main, which writes in its event loop).

Times are taken in the guest (/proc/uptime, 10 ms steps) around the command. Reported: per
variant the median over rounds of its time and of its time over S's in the same round.
"""

import argparse
import itertools
import os
import statistics
import sys

sys.dont_write_bytecode = True
# The VM harness (tests/vm/vm.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "vm"))

from vm import MiB, VM, Dimm, VMError  # noqa: E402

CONF = "/etc/memhotplugd/memhotplugd.conf"
DAEMON_CONF = "[Daemon]\nUeventSource=kernel\nKernelAutoOnline=takeover\n\n[Memory]\nOnline=movable\n"
POLICY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "units", "org.memhotplug1.conf")


def timed(vm, command):
    """Runs command in the guest; returns its wall time in seconds from /proc/uptime."""
    out = vm.sh("read s _ < /proc/uptime; " + command + " >/dev/null; read e _ < /proc/uptime; echo $s $e",
                timeout=600)
    s, e = out.split()[-2:]
    return float(e) - float(s)


def start_daemon(vm, binary):
    vm.sh(f"{binary} --config {CONF} --log-level warning --log-target stderr "
          f"--runtime-dir /run/memhotplugd-{os.path.basename(binary)} </dev/null >/tmp/d.log 2>&1 & "
          "echo $! > /tmp/d.pid")
    vm.wait_until(lambda: vm.run("memhotplugctl status", check=False)[0] == 0, timeout=30,
                  what="the daemon on the bus")


def stop_daemon(vm):
    vm.sh("kill $(cat /tmp/d.pid); while kill -0 $(cat /tmp/d.pid) 2>/dev/null; do sleep 0.1; done")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--baseline")
    ap.add_argument("--blocks", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    binaries = [(args.daemon, "/usr/sbin/memhotplugd"), (args.ctl, "/usr/bin/memhotplugctl")]
    variants = ["S", "D"]
    if args.baseline:
        binaries.append((args.baseline, "/usr/sbin/memhotplugd-baseline"))
        variants.append("B")
    size = f"{args.blocks * 128}M"
    with VM(dimms=[Dimm(size)], binaries=binaries, verbose=args.verbose, name="bench-offline",
            files=[(POLICY, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]) as vm:
        vm.start_dbus()
        vm.write_file(CONF, DAEMON_CONF)
        bs = vm.block_size()
        if bs != 128 * MiB:
            raise VMError(f"block size {bs:#x}, expected 128 MiB")
        todo = sorted(n for n, b in vm.blocks().items() if b["state"] == "offline")
        if len(todo) != args.blocks:
            raise VMError(f"{len(todo)} offline blocks, expected {args.blocks}")
        span = f"{todo[0]}-{todo[-1]}"
        online = "cd /sys/devices/system/memory && for b in " + " ".join(
            f"memory{n}" for n in todo) + "; do echo online_movable > $b/state; done"
        offline_loop = "cd /sys/devices/system/memory && for b in " + " ".join(
            f"memory{n}" for n in reversed(todo)) + "; do echo offline > $b/state; done"
        binary = {"D": "/usr/sbin/memhotplugd", "B": "/usr/sbin/memhotplugd-baseline"}
        times = {v: [] for v in variants}
        ratios = {v: [] for v in variants}
        orders = itertools.cycle(itertools.permutations(variants))
        for rnd in range(args.repeat + 1):  # round 0 warms up (host pages behind the DIMM)
            got = {}
            for v in next(orders):
                vm.sh(online)
                if v == "S":
                    got[v] = timed(vm, offline_loop)
                else:
                    start_daemon(vm, binary[v])
                    got[v] = timed(vm, f"memhotplugctl offline {span}")
                    stop_daemon(vm)
                left = [n for n, b in vm.blocks().items() if n in todo and b["state"] != "offline"]
                if left:
                    raise VMError(f"{v}: blocks {left} not offline")
            if rnd == 0:
                continue
            for v in variants:
                times[v].append(got[v])
                ratios[v].append(got[v] / got["S"] if got["S"] > 0 else float("nan"))
            print(f"# round {rnd}: " + ", ".join(f"{v} {got[v]:.2f}s" for v in variants), flush=True)
        print(f"offline of {args.blocks} movable blocks (128 MiB), 6.12 under TCG, "
              f"median of {args.repeat} rounds:")
        for v in variants:
            print(f"  {v}: {statistics.median(times[v]):.2f}s  ({statistics.median(times[v]) / args.blocks * 1e3:.0f} ms "
                  f"a block), {statistics.median(ratios[v]):.2f}x the shell loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
