# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhotplugd and 7.3's whole-device daxX.Y/state (docs/KERNELS.md), driven by test_vm.py.

daxstate-nvdimm    an NVDIMM devdax namespace converted by the daemon, [Dax] Online=movable
daxstate-cxl       a CXL RAM region the kernel bound to kmem (blocks offline), the same rule
daxstate-restart   devices found kmem-bound at start, as a daemon killed right after its kmem bind
                   (the file reads offline) and between its two writes (unplugged) leaves them
daxstate-kill      a real kill -9: the daemon stops itself (MEMHOTPLUGD_TEST_STOP_AFTER) after the
                   kmem bind, after unplugged, after the zone write; SIGKILL there, then a restart
daxstate-unplug    memhotplugctl unplug of the NVDIMM namespace: one `unplugged` write on 7.3

Every scenario runs on 6.12 and on 7.3 (tests/vm/meson.build). The daemon's writes are counted
in the guest by kprobes (tracefs), by the writing task's name: kmem's state_store (a write of
daxX.Y/state, with the value written) and lock_device_hotplug_sysfs, which drivers/base/memory.c's
state_store takes first (a write of memoryN/state; kmem's own onlining takes lock_device_hotplug
instead). On 7.3 the zone is reached with `unplugged` and one zone write and no memoryN/state
write; on 6.12 (no file) there is no state write and the blocks are written one by one.
"""

import os
import re
import time

from scenarios_cxl import CxlScenario, dax_blocks, kmem_region
from scenarios_cxl import start_daemon as cxl_start_daemon
from scenarios_daemon import (DAX_CONF, REPO, check_reverted, check_zone, config, daemon_log, daemon_vm,
                              dax_driver, online_or_fail, start_daemon, stop_daemon)
from vm import Cxl, Nvdimm, VMError

TRACING = "/sys/kernel/tracing"
PROBES = {
    # kmem.c: static ssize_t state_store(struct device *, struct device_attribute *, const char *buf, size_t)
    "daxst": "p:daxst kmem:state_store buf=+0($arg3):string",
    "memst": "p:memst lock_device_hotplug_sysfs",
}
DAEMON = "memhotplugd"


def arm(ctx, vm):
    """The probes that could be set (kmem's state_store exists on 7.3 only)."""
    vm.run("modprobe kmem", check=False)
    vm.sh(f"mount -t tracefs nodev {TRACING} 2>/dev/null; echo 4096 > {TRACING}/buffer_size_kb; true")
    armed = set()
    for name, spec in PROBES.items():
        rc, out = vm.run(f"echo '{spec}' >> {TRACING}/kprobe_events", check=False)
        if rc == 0:
            armed.add(name)
        else:
            ctx.note(f"kprobe {name} not set: {out.strip()}")
    vm.sh(f"echo 1 > {TRACING}/events/kprobes/enable; echo > {TRACING}/trace")
    return armed


def writes(vm):
    """[(probe, value)] of the daemon's tasks, in order: ("daxst", "unplugged"), ("memst", "")."""
    out = []
    for line in vm.sh(f"cat {TRACING}/trace").splitlines():
        if line.startswith("#") or ": " not in line:
            continue
        head, rest = line.split(": ", 1)
        comm = head.split()[0].rsplit("-", 1)[0]
        probe = rest.split(":", 1)[0]
        if not comm.startswith(DAEMON[:15]):
            continue
        value = ""
        if 'buf="' in rest:
            value = rest.split('buf="', 1)[1].rsplit('"', 1)[0].strip().replace("\\n", "")
        out.append((probe, value))
    return out


def has_state(vm, dev):
    return vm.run(f"test -e /sys/bus/dax/devices/{dev}/state", check=False)[0] == 0


def hotplug_state(vm, dev):
    return vm.run(f"cat /sys/bus/dax/devices/{dev}/state", check=False)[1].strip()


def daxctl_mode(vm, dev):
    out = vm.run(f"daxctl list -d {dev}", check=False)[1]
    return "system-ram" if '"mode":"system-ram"' in out.replace(" ", "") else out.strip()


def check_state_path(ctx, vm, armed, kernel73, zone_writes, what, ordered=True):
    """On 7.3: exactly zone_writes (the daxX.Y/state values, in order) and no memoryN/state write;
    on 6.12: no daxX.Y/state write and at least one memoryN/state write."""
    w = writes(vm)
    dax = [v for p, v in w if p == "daxst"]
    mem = [p for p, v in w if p == "memst"]
    if kernel73:
        ctx.check("daxst" in armed and (dax == zone_writes if ordered else sorted(dax) == sorted(zone_writes)),
                  f"{what}: the daemon wrote {zone_writes} to the state file ({dax})", diag=w)
        ctx.check("memst" in armed and not mem,
                  f"{what}: no memoryN/state write by the daemon ({len(mem)})", diag=daemon_log(vm))
    else:
        ctx.check(not dax, f"{what}: no dax state write on this kernel ({dax})")
        ctx.check("memst" not in armed or mem,
                  f"{what}: the blocks written one by one ({len(mem)} memoryN/state writes)")


def check_agree(ctx, vm, dev, blocks, kernel73, what):
    if kernel73:
        st = hotplug_state(vm, dev)
        ctx.check(st == "online_movable", f"{what}: {dev}/state reads online_movable ({st})",
                  diag=daemon_log(vm))
    check_zone(ctx, vm, blocks, "Movable", f"{what}: {dev}")
    mode = daxctl_mode(vm, dev)
    ctx.check(mode == "system-ram", f"{what}: daxctl list says {dev} is system-ram", diag=mode)
    # The daemon's own writes are not someone else's: no passing state between them is reported.
    told = [ln for ln in daemon_log(vm).splitlines() if re.search(r"state reads \S+ but|agree again", ln)]
    ctx.check(not told, f"{what}: no disagreement reported for the daemon's own writes ({len(told)})",
              diag="\n".join(told))


def check_journal_line(ctx, vm, dev, n, kernel73, what):
    log = daemon_log(vm)
    line = f"{dev}: Onlined {n} blocks into Movable with one write of {dev}/state"
    if kernel73:
        ctx.check(line in log, f"{what}: the log says '{line}'", diag=log)
    else:
        ctx.check(line not in log, f"{what}: no state-file line on this kernel", diag=log)


def nvdimm_vm(ctx):
    """A guest with a 1 GiB NVDIMM, the bus policy for memhotplugctl, the memmap on the device."""
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    return daemon_vm(ctx, nvdimms=[Nvdimm("1G")], cmdline=["memory_hotplug.memmap_on_memory=1"],
                     files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")])


def convert_at_start(ctx, vm):
    """Its namespace made devdax, the probes armed, the daemon started with [Dax] Online=movable,
    until kmem is bound: (probes armed, blocks before, start time, whether daxX.Y/state exists)."""
    ctx.booted(vm)
    if ctx.args.ctl:
        vm.start_dbus()
    vm.sh("ndctl create-namespace -f -e namespace0.0 -m devdax", timeout=60)
    armed = arm(ctx, vm)
    before = set(vm.blocks())
    t0 = time.monotonic()
    start_daemon(ctx, vm, config(extra=DAX_CONF))
    vm.wait_until(lambda: dax_driver(vm, "dax0.0") == "kmem", timeout=60, what="dax0.0 bound to kmem")
    return armed, before, t0, has_state(vm, "dax0.0")


def daxstate_nvdimm(ctx):
    """An NVDIMM devdax namespace converted at start; revert returns it to devdax."""
    with nvdimm_vm(ctx) as vm:
        armed, before, t0, kernel73 = convert_at_start(ctx, vm)
        ctx.note(f"daxX.Y/state {'present' if kernel73 else 'absent'}: "
                 f"{'whole-device' if kernel73 else 'block'} path")
        blocks = vm.wait_until(lambda: set(vm.blocks()) - before, timeout=30, what="dax0.0 blocks")
        online_or_fail(ctx, vm, blocks, "start scan", since=t0)
        time.sleep(1)  # a write after the last online would still count
        check_state_path(ctx, vm, armed, kernel73, ["unplugged", "online_movable"], "convert")
        check_agree(ctx, vm, "dax0.0", blocks, kernel73, "convert")
        check_journal_line(ctx, vm, "dax0.0", len(blocks), kernel73, "convert")
        if not ctx.args.ctl:
            ctx.tap.skip(f"{ctx.name}: revert", "no --ctl given")
            return
        vm.sh(f"echo > {TRACING}/trace")
        rc, out = vm.run("memhotplugctl revert dax0.0", check=False, timeout=180)
        ctx.check(rc == 0, f"memhotplugctl revert dax0.0 exits 0 (got {rc})", diag=f"{out}\n{daemon_log(vm)}",
                  fatal=True)
        check_reverted(ctx, vm, "dax0.0", blocks, "revert")
        dax = [v for p, v in writes(vm) if p == "daxst"]
        # The revert offlines block by block on the offline thread first: the probe that saw no
        # memoryN/state write above sees these.
        mem = [p for p, v in writes(vm) if p == "memst"]
        ctx.check("memst" in armed and len(mem) >= len(blocks),
                  f"revert: the memoryN/state probe counts the daemon's {len(mem)} offline writes")
        ctx.check(dax == (["unplugged"] if kernel73 else []),
                  f"revert: {dax} written to the state file before kmem let go", diag=daemon_log(vm))
        ctx.check(not has_state(vm, "dax0.0"), "revert: no state file under device_dax")
        left = set(vm.blocks()) & blocks
        ctx.check(not kernel73 or not left, f"revert: no block of dax0.0 left ({sorted(left)})")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))


def daxstate_cxl(ctx):
    """A CXL RAM region the kernel bound to kmem under auto_online_blocks=offline."""
    with CxlScenario(ctx, [Cxl("512M")]) as vm:
        _serial, _region, dev, blocks = kmem_region(ctx, vm)
        kernel73 = has_state(vm, dev)
        if kernel73:
            ctx.check(hotplug_state(vm, dev) == "offline", f"{dev}/state reads offline before the daemon")
        armed = arm(ctx, vm)
        t0 = time.monotonic()
        cxl_start_daemon(ctx, vm, config(extra="\n[Dax]\nMode=system-ram\nOnline=movable\n"))
        online_or_fail(ctx, vm, blocks, "start scan", since=t0)
        time.sleep(1)
        check_state_path(ctx, vm, armed, kernel73, ["unplugged", "online_movable"], "region")
        check_agree(ctx, vm, dev, blocks, kernel73, "region")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})")


def bind_kmem_offline(vm, dev):
    """What the daemon's conversion does up to the kmem bind (takeover: auto_online_blocks offline)."""
    vm.sh("echo offline > /sys/devices/system/memory/auto_online_blocks && "
          f"echo 1 > /sys/bus/dax/devices/{dev}/memmap_on_memory && "
          f"echo {dev} > /sys/bus/dax/drivers/device_dax/unbind && "
          f"echo {dev} > /sys/bus/dax/drivers/kmem/new_id")


def daxstate_restart(ctx):
    """Found kmem-bound at start: killed right after the bind (file offline, blocks offline), and
    killed between the writes (file unplugged, no block): each taken to the rule's zone."""
    with daemon_vm(ctx, nvdimms=[Nvdimm("1G"), Nvdimm("1G")],
                   cmdline=["memory_hotplug.memmap_on_memory=1"]) as vm:
        ctx.booted(vm)
        for ns in ("namespace0.0", "namespace1.0"):
            vm.sh(f"ndctl create-namespace -f -e {ns} -m devdax", timeout=60)
        before = set(vm.blocks())
        bind_kmem_offline(vm, "dax0.0")
        bind_kmem_offline(vm, "dax1.0")
        kernel73 = has_state(vm, "dax0.0")
        added = vm.wait_until(lambda: set(vm.blocks()) - before, timeout=30, what="the devices' blocks")
        blocks0, blocks1 = dax_blocks(vm, "dax0.0"), dax_blocks(vm, "dax1.0")
        want = ["unplugged", "online_movable"]
        if kernel73:
            ctx.check(hotplug_state(vm, "dax0.0") == "offline", "dax0.0/state reads offline (as after the bind)")
            vm.sh("echo unplugged > /sys/bus/dax/devices/dax1.0/state")
            ctx.check(hotplug_state(vm, "dax1.0") == "unplugged" and not set(vm.blocks()) & blocks1,
                      "dax1.0/state reads unplugged, no block (as between the two writes)")
            want = ["unplugged", "online_movable", "online_movable"]
        ctx.note(f"{len(added)} blocks added before the daemon")
        armed = arm(ctx, vm)
        t0 = time.monotonic()
        start_daemon(ctx, vm, config(extra=DAX_CONF))
        try:
            vm.wait_until(lambda: len(set(vm.blocks()) & (blocks0 | blocks1)) >= len(added), timeout=60,
                          what="both devices' blocks")
        except VMError as e:
            ctx.check(False, "restart: both devices' blocks present", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
        # The span of a namespace may end in a block it does not fill: the blocks are those present.
        blocks0 &= set(vm.blocks())
        blocks1 &= set(vm.blocks())
        blocks = blocks0 | blocks1
        online_or_fail(ctx, vm, blocks, "restart", since=t0)
        time.sleep(1)
        # Two devices, one after the other: dax0.0's pair in order, dax1.0's zone before or after.
        check_state_path(ctx, vm, armed, kernel73, want, "restart", ordered=False)
        if kernel73:
            dax = [v for p, v in writes(vm) if p == "daxst"]
            first = dax.index("unplugged") if "unplugged" in dax else -1
            ctx.check(first >= 0 and "online_movable" in dax[first:],
                      f"restart: dax0.0's unplugged comes before a zone write ({dax})")
        check_agree(ctx, vm, "dax0.0", blocks0, kernel73, "restart, file offline")
        check_agree(ctx, vm, "dax1.0", blocks1, kernel73, "restart, file unplugged")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))


AOB = "/sys/devices/system/memory/auto_online_blocks"


def daemon_stopped(vm):
    """The daemon's /proc/PID/stat state is T: it stopped itself at MEMHOTPLUGD_TEST_STOP_AFTER."""
    rc, out = vm.run("cat /proc/$(cat /tmp/memhotplugd.pid)/stat", check=False)
    return rc == 0 and out.rsplit(")", 1)[-1].split()[0] == "T"


def kmem_blocks(vm, dev):
    """The blocks kmem adds for dev: its range, start rounded up and end down to whole blocks."""
    res, size = vm.sh(f"cat /sys/bus/dax/devices/{dev}/resource /sys/bus/dax/devices/{dev}/size").split()
    res, size, bs = int(res, 16), int(size, 0), vm.block_size()
    return set(range((res + bs - 1) // bs, (res + size) // bs))


def kill_at(ctx, vm, point, dev, blocks, orig):
    """One life of the daemon stopped (SIGSTOP by itself) right after `point` of dev's conversion
    and killed there with SIGKILL; then a restart with the same config takes dev to the rule's
    zone, and its SIGTERM gives auto_online_blocks back. Returns whether dev has the state file."""
    what = f"killed after {point}"
    start_daemon(ctx, vm, config(extra=DAX_CONF), command=f"MEMHOTPLUGD_TEST_STOP_AFTER={point} memhotplugd")
    try:
        vm.wait_until(lambda: daemon_stopped(vm), timeout=120, what=f"the daemon stopped after {point}")
    except VMError as e:
        ctx.check(False, f"{what}: the daemon stops there", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
    kernel73 = has_state(vm, dev)  # kmem is bound at every stop point
    now = vm.blocks()
    present = {b for b in blocks if b in now}
    online = {b for b in present if now[b]["state"] == "online"}
    st = hotplug_state(vm, dev) if kernel73 else "(no file)"
    if point == "bind":
        ctx.check(dax_driver(vm, dev) == "kmem" and (not kernel73 or st == "offline"),
                  f"{what}: {dev} bound to kmem, state {st}", diag=daemon_log(vm))
        ctx.check(present == blocks and not online,
                  f"{what}: {len(present)} of its {len(blocks)} blocks there, {len(online)} online")
    elif point == "unplugged":
        ctx.check(st == "unplugged" and not present, f"{what}: {dev}/state reads {st}, {len(present)} blocks")
    else:
        ctx.check(st == "online_movable", f"{what}: {dev}/state reads {st}")
    aob = vm.sh(f"cat {AOB}").strip()
    ctx.check(aob == "offline", f"{what}: auto_online_blocks is {aob} (the takeover's)")
    rc = stop_daemon(vm, sig="KILL")
    ctx.check(rc == 137, f"{what}: the stopped daemon died of SIGKILL (status {rc})")

    t0 = time.monotonic()
    start_daemon(ctx, vm, config(extra=DAX_CONF))
    try:
        vm.wait_until(lambda: blocks <= set(vm.blocks()), timeout=60, interval=0.2, what=f"{dev}'s blocks")
    except VMError as e:
        ctx.check(False, f"{what}: restart: {dev}'s blocks present", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
    online_or_fail(ctx, vm, blocks, f"{what}: restart", since=t0)
    check_agree(ctx, vm, dev, blocks, kernel73, f"{what}, restart")
    rc = stop_daemon(vm)
    ctx.check(rc == 0, f"{what}: restart exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))
    aob = vm.sh(f"cat {AOB}").strip()
    ctx.check(aob == orig, f"{what}: auto_online_blocks back to {aob} (was {orig})", diag=daemon_log(vm))
    return kernel73


def daxstate_kill(ctx):
    """kill -9 of the daemon in the middle of a conversion, then a restart: a consistent device.

    The daemon stops itself (MEMHOTPLUGD_TEST_STOP_AFTER, test only) right after the kmem bind
    (the file reads offline), after `unplugged` (no block) and after the zone write (before it
    looked at the blocks), one NVDIMM namespace each, and is killed there; 6.12 has the first
    point only (no file). The restart with the same config ends with the file reading the rule's
    zone, every block online in Movable, daxctl's system-ram, and at its exit auto_online_blocks
    back to the kernel's own value, which the killed life had switched off (saved-settings.c)."""
    points = ("bind", "unplugged", "zone")
    with daemon_vm(ctx, nvdimms=[Nvdimm("1G") for _ in points], auto_online=True,
                   cmdline=["memory_hotplug.memmap_on_memory=1"]) as vm:
        ctx.booted(vm)
        vm.run("modprobe kmem", check=False)
        orig = vm.sh(f"cat {AOB}").strip()
        ctx.check(orig != "offline", f"the kernel's auto_online_blocks is {orig}", fatal=True)
        kernel73 = True
        for i, point in enumerate(points):
            if not kernel73:
                ctx.tap.skip(f"{ctx.name}: killed after {point}", "no daxX.Y/state on this kernel")
                continue
            vm.sh(f"ndctl create-namespace -f -e namespace{i}.0 -m devdax", timeout=60)
            dev = f"dax{i}.0"
            kernel73 = kill_at(ctx, vm, point, dev, kmem_blocks(vm, dev), orig)
            ctx.note(f"{dev}: daxX.Y/state {'present' if kernel73 else 'absent'}")


SCENARIOS = {
    "daxstate-nvdimm": daxstate_nvdimm,
    "daxstate-cxl": daxstate_cxl,
    "daxstate-restart": daxstate_restart,
    "daxstate-kill": daxstate_kill,
}


def daxstate_unplug(ctx):
    """memhotplugctl unplug of an NVDIMM devdax namespace the daemon converted: on 7.3 one write of
    `unplugged` (on the offline thread), no memoryN/state write, the device left kmem-bound and
    unplugged with no block; on 6.12 the blocks offlined one by one, as before."""
    if not ctx.args.ctl:
        ctx.tap.skip(ctx.name, "no --ctl given")
        return
    with nvdimm_vm(ctx) as vm:
        armed, before, t0, kernel73 = convert_at_start(ctx, vm)
        blocks = vm.wait_until(lambda: set(vm.blocks()) - before, timeout=30, what="dax0.0 blocks")
        online_or_fail(ctx, vm, blocks, "start scan", since=t0)
        check_zone(ctx, vm, blocks, "Movable", "convert: dax0.0")
        vm.sh(f"echo > {TRACING}/trace")
        rc, out = vm.run("memhotplugctl unplug dax0.0", check=False, timeout=180)
        ctx.check(rc == 0, f"memhotplugctl unplug dax0.0 exits 0 (got {rc})", diag=f"{out}\n{daemon_log(vm)}",
                  fatal=True)
        time.sleep(1)  # a write after the reply would still count
        w = writes(vm)
        dax = [v for p, v in w if p == "daxst"]
        mem = [p for p, v in w if p == "memst"]
        left = set(vm.blocks()) & blocks
        if kernel73:
            ctx.check("daxst" in armed and dax == ["unplugged"],
                      f"unplug: one write of unplugged to dax0.0/state ({dax})", diag=w)
            ctx.check("memst" in armed and not mem, f"unplug: no memoryN/state write by the daemon ({len(mem)})",
                      diag=daemon_log(vm))
            st = hotplug_state(vm, "dax0.0")
            ctx.check(st == "unplugged", f"unplug: dax0.0/state reads unplugged ({st})", diag=daemon_log(vm))
            ctx.check(not left, f"unplug: no block of dax0.0 left ({sorted(left)})")
            ctx.check(dax_driver(vm, "dax0.0") == "kmem", "unplug: dax0.0 stays bound to kmem")
        else:
            ctx.check(not dax, f"unplug: no dax state write on this kernel ({dax})")
            ctx.check("memst" not in armed or len(mem) >= len(blocks),
                      f"unplug: the blocks offlined one by one ({len(mem)} memoryN/state writes)")
            off = [b for b in sorted(blocks) if vm.run(f"cat /sys/devices/system/memory/memory{b}/state",
                                                       check=False)[1].strip() != "offline"]
            ctx.check(not off, f"unplug: every block of dax0.0 offline ({off} not)")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))


SCENARIOS["daxstate-unplug"] = daxstate_unplug
