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


SCENARIOS = {"one-job": one_job}
