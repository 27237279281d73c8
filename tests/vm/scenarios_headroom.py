# SPDX-License-Identifier: LGPL-2.1-or-later
"""headroom: the largest hot-add that is safe now (HotAddHeadroom, memhotplugctl status), in a real
kernel (driven by test_vm.py).

A 512 MiB guest, Online=movable. The daemon reports the headroom; a DIMM of exactly that size is
hot-added and comes online with nothing OOM-killed, and the headroom then shrinks by what the
DIMM's memmap took. Then, in fresh guests, a DIMM four times the headroom, with the daemon and
without it (the kernel's own auto-online): its memmap does not fit in the free memory of the kernel
zones, and not all of it comes online. The figures go to the TAP notes (docs/PLACEMENT.md).
"""

import json
import os
import re
import time

from scenarios_daemon import REPO, config, daemon_log, daemon_vm, online_or_fail, start_daemon, wait_new_blocks
from vm import GiB, MiB, VMError

BLOCK = 128 * MiB
GUEST = "512M"
FAR = 4  # the "far above" DIMM: this many times the headroom
OOM = r"Out of memory|oom-kill|invoked oom-killer"


def read_headroom(ctx, vm):
    """The system's HotAddHeadroom row, as memhotplugctl --json status shows it."""
    rc, out = vm.run("memhotplugctl --json=short status", check=False)
    ctx.check(rc == 0, "memhotplugctl status", diag=out, fatal=True)
    rows = {r["Node"]: r for r in json.loads(out)["HotAddHeadroom"]}
    ctx.check(None in rows, "HotAddHeadroom has a row for the system", diag=out, fatal=True)
    return rows[None]


def oom_lines(vm):
    return [line for line in vm.run("dmesg", check=False)[1].splitlines() if re.search(OOM, line)]


def start(ctx, vm):
    """The daemon as its unit runs it: OOMScoreAdjust=-1000 (units/memhotplugd.service)."""
    vm.start_dbus()
    start_daemon(ctx, vm, config(online="movable", chunk=64))
    vm.sh("echo -1000 > /proc/$(cat /tmp/memhotplugd.pid)/oom_score_adj")


def guest_policy():
    return [(os.path.join(REPO, "units", "org.memhotplug1.conf"), "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]


def at_headroom(ctx):
    """Adds exactly the headroom; returns it (bytes)."""
    with daemon_vm(ctx, memory=GUEST, maxmem="128G", slots=4, timeout=1200, files=guest_policy()) as vm:
        ctx.booted(vm)
        start(ctx, vm)
        h0 = read_headroom(ctx, vm)
        ctx.note("before: " + h0["Reason"])
        size = h0["HeadroomBytes"]
        ctx.check(size >= BLOCK and size % BLOCK == 0, f"a headroom of whole blocks: {size // MiB} MiB", fatal=True)
        ctx.check(h0["StructPageBytes"] == 64 and h0["PageSize"] == 4096,
                  "the kernel's struct page (64 B) and page size from the guest's own counters", diag=str(h0))
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm(f"{size // MiB}M", reserve=False)
        added = wait_new_blocks(vm, before, size // BLOCK, timeout=300)
        online_or_fail(ctx, vm, sorted(added), f"a DIMM of the headroom ({size // MiB} MiB)", timeout=900, since=t0)
        oom = oom_lines(vm)
        ctx.check(not oom, "nothing OOM-killed", diag="\n".join(oom))
        ctx.check(vm.run("test -e /tmp/memhotplugd.rc", check=False)[0] != 0, "the daemon still runs",
                  diag=daemon_log(vm)[-3000:])
        h1 = read_headroom(ctx, vm)
        ctx.note("after: " + h1["Reason"])
        # The DIMM's memmap came out of the free kernel memory the headroom counted: what is left is
        # what was left over, a block at most, less what the kernel took for itself meanwhile.
        memmap = size // 4096 * h0["StructPageBytes"]
        avail0 = h0["FreeBytes"] - h0["ReserveBytes"]
        avail1 = h1["FreeBytes"] - h1["ReserveBytes"]
        ctx.note(f"predicted {size // MiB} MiB, added {size // MiB} MiB: free less reserve {avail0 // MiB} MiB "
                 f"-> {avail1 // MiB} MiB (the memmap {memmap // MiB} MiB), headroom {size // MiB} MiB -> "
                 f"{h1['HeadroomBytes'] // MiB} MiB")
        ctx.check(avail1 <= avail0 - memmap * 9 // 10,
                  "free kernel memory fell by the DIMM's memmap at least", diag=f"{h0}\n{h1}")
        ctx.check(h1["HeadroomBytes"] <= size // 10,
                  "the headroom then shrinks to what was left over (at most a tenth of it)", diag=f"{h0}\n{h1}")
        try:
            ctx.check(vm.sh("echo alive").strip() == "alive", "the guest still answers")
        except VMError as e:
            ctx.check(False, "the guest still answers", diag=str(e))
        return size


def far_above(ctx, size, with_daemon):
    """A DIMM FAR times the headroom in a fresh guest: what the kernel makes of it."""
    what = "with the daemon" if with_daemon else "without the daemon (kernel auto-online)"
    big = FAR * size
    maxmem = f"{big // GiB + 8}G"
    kw = dict(memory=GUEST, maxmem=maxmem, slots=4, timeout=1200)
    vmctx = (daemon_vm(ctx, files=guest_policy(), **kw) if with_daemon
             else ctx.vm(auto_online="online_movable", **kw))
    with vmctx as vm:
        ctx.booted(vm)
        if with_daemon:
            start(ctx, vm)
            ctx.note(f"{what}, before: " + read_headroom(ctx, vm)["Reason"])
        before = vm.blocks()
        vm.run("dmesg -c >/dev/null", check=False)
        vm.hotplug_dimm(f"{big // MiB}M", reserve=False)

        # Settled: the ACPI add either made the blocks or said it failed; then the blocks stop
        # changing state. Polled, bounded; no figure depends on how long it took.
        def settled():
            log = vm.run("dmesg", check=False)[1]
            now = vm.blocks()
            new = {n: b for n, b in now.items() if n not in before}
            if len(new) < big // BLOCK and not re.search(r"add_memory failed|acpi_memory|-12|ENOMEM", log):
                return None
            return new, log
        try:
            new, log = vm.wait_until(settled, timeout=600, interval=2, what="the add to finish or fail")
            time.sleep(5)
            new = {n: b for n, b in vm.blocks().items() if n not in before}
            log = vm.run("dmesg", check=False)[1]
            answers = vm.sh("echo alive").strip() == "alive"
        except VMError:
            # The guest is gone (the console keeps what the kernel said last).
            new, log, answers = {}, vm.console_text(), False
        online = sum(1 for b in new.values() if b["state"] == "online")
        oom = [line for line in log.splitlines() if re.search(OOM, line)]
        kernel = [line for line in log.splitlines()
                  if re.search(r"add_memory|alloc failure|Killed process|Kernel panic", line)][:12]
        ctx.note(f"{what}: predicted {size // MiB} MiB safe, added {big // MiB} MiB: {len(new)} of "
                 f"{big // BLOCK} blocks appeared, {online} online, {len(oom)} OOM line(s), the guest "
                 f"{'answers' if answers else 'is gone'}")
        for line in kernel:
            ctx.note(f"{what}: dmesg: {line}")
        ctx.check(online < big // BLOCK, f"{what}: a DIMM {FAR}x the headroom does not all come online",
                  diag=log[-3000:])
        if with_daemon and answers:
            ctx.note(f"{what}, daemon: " + " | ".join(daemon_log(vm).splitlines()[-4:]))


def headroom(ctx):
    size = at_headroom(ctx)
    far_above(ctx, size, with_daemon=True)
    far_above(ctx, size, with_daemon=False)


SCENARIOS = {"headroom": headroom}
