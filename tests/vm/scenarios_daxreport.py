# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's report of a dax device's whole-device hotplug state (daxX.Y/state, Linux 7.3).

dax-report   an NVDIMM namespace converted and left offline by its rule; its blocks then onlined
             by hand one by one. On 7.3 (the file reads offline, the blocks are online) the daemon
             names the disagreement once, with the writes that would fix it, and memhotplugctl
             devices shows it; on 6.12 (no file) the state is "none" and nothing is reported.
"""

import os
import re
import time

from scenarios_daemon import (REPO, config, ctl_devices, daemon_log, daemon_vm, dax_driver,
                              start_daemon)
from scenarios_kernels import DAX, device_blocks
from vm import Nvdimm, VMError

DISAGREES = r"warning: dax0\.0: state reads offline but (\d+) of (\d+) blocks are online"
JUDGED = r"dax0\.0: state (\S+), \d+ of \d+ blocks online: (agree|disagree)"
# Converted, and its blocks left offline: the file (on 7.3) and the blocks agree until someone
# writes the blocks.
CONF = config(extra="\n[Dax]\nMode=system-ram\nOnline=offline\n")


def judged(vm):
    """The daemon's judgements of dax0.0 so far: [(state, agree|disagree)]."""
    return re.findall(JUDGED, daemon_log(vm))


def dax_report(ctx):
    """NVDIMM left offline by its rule, its blocks onlined by hand: reported once on 7.3."""
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    with daemon_vm(ctx, nvdimms=[Nvdimm("1G")], cmdline=["memory_hotplug.memmap_on_memory=1"],
                   files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]) as vm:
        ctx.booted(vm)
        if not ctx.args.ctl:
            ctx.tap.skip(ctx.name, "no --ctl given")
            return
        vm.start_dbus()
        vm.sh("ndctl create-namespace -f -e namespace0.0 -m devdax", timeout=60)
        start_daemon(ctx, vm, CONF)
        try:
            vm.wait_until(lambda: dax_driver(vm, "dax0.0") == "kmem" and device_blocks(vm),
                          timeout=60, what="dax0.0 bound to kmem, its blocks added")
        except VMError as e:
            ctx.check(False, "dax0.0 converted", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
        try:
            vm.wait_until(lambda: judged(vm), timeout=60, what="the daemon's first judgement")
        except VMError as e:
            ctx.check(False, "dax0.0's state judged against its blocks", diag=str(e))
        has_file = vm.run(f"test -e {DAX}/state", check=False)[0] == 0
        ctx.note(f"guest runs Linux {vm.sh('uname -r').strip()}; {DAX}/state "
                 f"{'exists' if has_file else 'does not exist'}")
        blocks = device_blocks(vm)
        n = len(blocks)
        ctx.check(n > 0 and all(b["state"] == "offline" for b in blocks.values()),
                  f"converted, its {n} blocks left offline by Online=offline", diag=blocks)
        want = "offline" if has_file else "none"
        row = ctl_devices(vm).get("dax0.0", {})
        ctx.check(row.get("HotplugState") == want and row.get("HotplugConsistent") is True,
                  f"memhotplugctl devices --json: HotplugState {want}, consistent", diag=row)

        # Someone onlines the blocks one by one, as a udev rule or a script would.
        seen = len(judged(vm))
        vm.sh("for b in " + " ".join(f"memory{i}" for i in sorted(blocks)) +
              "; do echo online_movable > /sys/devices/system/memory/$b/state; done")
        blocks = device_blocks(vm)
        ctx.check(all(b["state"] == "online" and b["zones"] == ["Movable"] for b in blocks.values()),
                  "every block online in Movable, by hand", diag=blocks)
        if has_file:
            ctx.check(vm.sh(f"cat {DAX}/state").strip() == "offline",
                      "the file still reads offline (the kernel does not follow block writes)")
        # Judged once the daemon is idle after the last block: a judgement that saw every block.
        try:
            all_online = r"dax0\.0: state \S+, %d of %d blocks online" % (n, n)
            vm.wait_until(lambda: len(judged(vm)) > seen and re.search(all_online, daemon_log(vm)),
                          timeout=60, what="the daemon's judgement after the last block")
        except VMError as e:
            ctx.check(False, "the daemon judged dax0.0 again", diag=str(e))

        # Two refreshes more (a reload, a rescan): still one line.
        for verb in ("reload", "rescan"):
            count = len(judged(vm))
            rc, out = vm.run(f"memhotplugctl {verb}", check=False, timeout=60)
            ctx.check(rc == 0, f"memhotplugctl {verb} exits 0", diag=out)
            if verb == "reload":
                try:
                    vm.wait_until(lambda: len(judged(vm)) > count, timeout=60,
                                  what=f"a judgement after {verb}")
                except VMError as e:
                    ctx.check(False, f"judged again after {verb}", diag=str(e))
        time.sleep(1)
        log = daemon_log(vm)
        lines = [ln for ln in log.splitlines() if re.search(DISAGREES, ln)]
        row = ctl_devices(vm).get("dax0.0", {})
        rc, table = vm.run("memhotplugctl devices", check=False)
        line = next((ln for ln in table.splitlines() if ln.startswith("dax0.0 ")), "")
        if has_file:
            ctx.check(len(lines) == 1, f"reported once after a reload and a rescan ({len(lines)})",
                      diag="\n".join(lines) or log[-3000:])
            text = lines[0] if lines else ""
            fix = ("`echo unplugged > /sys/bus/dax/devices/dax0.0/state` then "
                   "`echo online_movable > /sys/bus/dax/devices/dax0.0/state` "
                   "(this takes the memory away first)")
            ctx.check(fix in text and "(onlined block by block)" in text,
                      "the line names the disagreement and the command that fixes it", diag=text)
            ctx.check(row.get("HotplugState") == "offline" and row.get("HotplugConsistent") is False,
                      "memhotplugctl devices --json: HotplugState offline, not consistent", diag=row)
            ctx.check("offline (blocks disagree)" in line,
                      "memhotplugctl devices: HOTPLUG 'offline (blocks disagree)'", diag=table)
        else:
            ctx.check(not lines and "state reads" not in log, "no file: nothing reported",
                      diag="\n".join(lines))
            ctx.check(row.get("HotplugState") == "none" and row.get("HotplugConsistent") is True,
                      "memhotplugctl devices --json: HotplugState none, consistent", diag=row)
            ctx.check(re.search(r"\snone\s", line), "memhotplugctl devices: HOTPLUG 'none'",
                      diag=table)


SCENARIOS = {
    "dax-report": dax_report,
}
