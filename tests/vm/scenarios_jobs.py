# SPDX-License-Identifier: LGPL-2.1-or-later
"""One job per hot-add (driven by test_vm.py): a 32 GiB DIMM (256 blocks of 128 MiB) hot-added to
node 1 of a two-node guest while memhotplugd runs is onlined as one job: one "Finished" line and
one JobFinished signal, for all 256 blocks, in address order. (The kernel links a new block to its
node only after all blocks of the DIMM exist; a daemon that handles each block once its link is
there makes a job per handful of blocks.)"""

import os
import re
import time

from scenarios_daemon import (REPO, config, daemon_log, daemon_vm, online_or_fail, start_daemon,
                              stop_daemon, wait_new_blocks)

DIMM_BLOCKS = 256


def one_job(ctx):
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    # The DIMM's backend is not reserved on the host, and its memmap lives on it
    # (memmap_on_memory): the guest touches only the memmap, 2 MiB per block.
    with daemon_vm(ctx, numa_nodes=2, maxmem="64G", cmdline=["memory_hotplug.memmap_on_memory=1"], binaries=[("/usr/bin/dbus-monitor", "/usr/bin/dbus-monitor")],
                   files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]) as vm:
        ctx.booted(vm)
        vm.start_dbus()
        start_daemon(ctx, vm, config(chunk=256))
        vm.sh("(setsid dbus-monitor --system \"type='signal',interface='org.memhotplug1.Manager',"
              "member='JobFinished'\" > /tmp/signals.txt 2>&1 &)")
        vm.wait_until(lambda: "Acquired the bus name" in daemon_log(vm), timeout=15,
                      what="the daemon on the bus")
        time.sleep(1)  # dbus-monitor subscribed
        mark = daemon_log(vm).count("Finished:")
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm(f"{DIMM_BLOCKS * 128}M", node=1, reserve=False)
        added = wait_new_blocks(vm, before, DIMM_BLOCKS, timeout=60)
        online_or_fail(ctx, vm, added, f"{DIMM_BLOCKS}-block DIMM", since=t0, timeout=120)
        time.sleep(1)
        log = daemon_log(vm)
        finished = [ln for ln in log.splitlines() if "Finished:" in ln][mark:]
        ctx.check(len(finished) == 1 and f"{DIMM_BLOCKS} of {DIMM_BLOCKS} blocks done" in finished[0],
                  f"one job for the hot-add: {finished}", diag=log[-4000:])
        signals = vm.sh("cat /tmp/signals.txt")
        jobs = re.findall(r"member=JobFinished", signals)
        ctx.check(len(jobs) == 1, f"one JobFinished signal ({len(jobs)})", diag=signals[-2000:])
        order = [int(m) for m in re.findall(r"memory(\d+): Onlined", log) if int(m) in added]
        ctx.check(order == sorted(added), "its blocks onlined in address order",
                  diag=f"{order[:16]} ...\n" + "\n".join(
                      ln for ln in log.splitlines() if "Chunk of" in ln or "Scanned" in ln))
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))


AOB = "/sys/devices/system/memory/auto_online_blocks"
PARAMS = "/sys/module/memory_hotplug/parameters"


def knobs(vm):
    return vm.sh(f"cat {AOB} {PARAMS}/online_policy {PARAMS}/auto_movable_ratio "
                 f"{PARAMS}/auto_movable_numa_aware").split()


def auto_online_delegate(ctx):
    """KernelAutoOnline=delegate: the kernel's own knobs carry the policy (movable, then
    auto-movable with its ratio), the kernel onlines a hot-added DIMM itself, the daemon writes
    none of its blocks, and every knob is the kernel's again after exit, also after a crash. A
    policy the knobs cannot say stays in takeover and says why."""
    with daemon_vm(ctx, numa_nodes=2) as vm:
        ctx.booted(vm)
        orig = knobs(vm)
        start_daemon(ctx, vm, config(auto="delegate"))
        now = knobs(vm)
        ctx.check(now[0] == "online_movable", f"Online=movable: auto_online_blocks={now[0]} while running",
                  diag=daemon_log(vm))
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm("512M", node=1)
        added = wait_new_blocks(vm, before, 4)
        online_or_fail(ctx, vm, added, "hot-added DIMM", since=t0)
        zones = {tuple(vm.blocks()[n]["zones"]) for n in added}
        ctx.check(zones == {("Movable",)}, f"the kernel put it in Movable ({zones})")
        time.sleep(1.5)  # the daemon's RetrySec look at what the kernel left offline
        wrote = [ln for ln in daemon_log(vm).splitlines() if "wrote online" in ln]
        ctx.check(not wrote, "the daemon wrote no block's state: the kernel onlined them", diag=wrote[:4])
        rc = stop_daemon(vm)
        ctx.check(rc == 0 and knobs(vm) == orig, f"restored on exit: {knobs(vm)} (was {orig})",
                  diag=daemon_log(vm))

        conf = config(online="auto-movable", auto="delegate").replace("[Memory]\n", "[Memory]\nMovableRatio=250\n")
        start_daemon(ctx, vm, conf)
        now = knobs(vm)
        ctx.check(now == ["online", "auto-movable", "250", "Y"],
                  f"Online=auto-movable MovableRatio=250: {now}", diag=daemon_log(vm))
        stop_daemon(vm, sig="KILL")
        start_daemon(ctx, vm, config(auto="takeover"))
        rc = stop_daemon(vm)
        ctx.check(rc == 0 and knobs(vm) == orig,
                  f"after kill -9, a takeover run restores every knob on exit: {knobs(vm)}", diag=daemon_log(vm))

        start_daemon(ctx, vm, config(auto="delegate", extra="[Node 1]\nOnline=kernel\n"))
        log = daemon_log(vm)
        ctx.check(knobs(vm)[0] == "offline" and
                  "KernelAutoOnline=delegate not possible, taking over instead: [Node 1] Online=kernel" in log,
                  f"[Node 1] Online=kernel: takeover, and the log says why ({knobs(vm)[0]})", diag=log[-2000:])
        stop_daemon(vm)


SCENARIOS = {"one-job": one_job, "auto-online-delegate": auto_online_delegate}
