# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unplug scenarios: memory taken away from a running guest while memhotplugd runs
(driven by test_vm.py).

A DIMM is removed with QMP device_del, which the guest's kernel carries out as an ACPI eject
(it offlines the DIMM's blocks itself, then removes them); virtio-mem shrinks when its
requested-size is lowered (its driver offlines and removes what it unplugs). memhotplugctl
unplug (PrepareUnplug) offlines a DIMM ahead of the eject.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from scenarios_daemon import REPO, config, daemon_log, daemon_vm, start_daemon, stop_daemon
from vm import HERE, GiB, MiB, VirtioMem, VMError

POLICY = os.path.join(REPO, "units", "org.memhotplug1.conf")


def unplug_vm(ctx, **kw):
    """A guest with the daemon, memhotplugctl and a system bus with the project's policy."""
    return daemon_vm(ctx, files=[(POLICY, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")], **kw)


def start(ctx, vm, conf):
    vm.start_dbus()
    start_daemon(ctx, vm, conf)
    try:
        vm.wait_until(lambda: vm.run("memhotplugctl status", check=False)[0] == 0, timeout=20,
                      what="memhotplugctl status")
    except VMError as e:
        ctx.check(False, "the daemon answers on the bus", diag=f"{e}\n{daemon_log(vm)}", fatal=True)


def add_dimm(ctx, vm, size, zone):
    """Hot-adds a DIMM, waits for the daemon to online it into zone; returns (QEMU id, blocks)."""
    before = set(vm.blocks())
    dev = vm.hotplug_dimm(size)
    want = parse_size_mib(size) * MiB // vm.block_size()

    def online():
        now = vm.blocks()
        new = {n: b for n, b in now.items() if n not in before}
        return new if len(new) == want and all(b["state"] == "online" for b in new.values()) else None
    try:
        new = vm.wait_until(online, timeout=60, interval=0.25, what=f"{want} new blocks online")
    except VMError as e:
        ctx.check(False, f"hot-added {size} DIMM onlined", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
    zones = {n: b["zones"] for n, b in new.items()}
    ctx.check(all(z == [zone] for z in zones.values()), f"hot-added {size} DIMM onlined into {zone}",
              diag=zones, fatal=True)
    return dev, sorted(new)


def parse_size_mib(size):
    return int(size[:-1]) * (1024 if size.endswith("G") else 1)


def listed_blocks(vm):
    rc, out = vm.run("memhotplugctl --json=short list --all --output=BLOCK", check=False)
    if rc != 0:
        raise VMError(f"memhotplugctl list exited {rc}: {out}")
    return {int(row["block"]) for row in json.loads(out)["memory"]}


def device_del(vm, dev, blocks, timeout=90):
    """device_del, then wait until the guest has removed the blocks; returns seconds."""
    t0 = time.monotonic()
    vm.qmp.execute("device_del", id=dev)
    vm.wait_until(lambda: not set(blocks) & set(vm.blocks()), timeout=timeout, interval=0.5,
                  what=f"blocks {blocks[0]}-{blocks[-1]} removed")
    return time.monotonic() - t0


def onlined_after(log, mark, blocks):
    """Lines of the daemon log after mark that online one of blocks."""
    return [line for line in log[mark:].splitlines()
            if re.search(r"memory(\d+): Onlined", line) and
            int(re.search(r"memory(\d+)", line).group(1)) in blocks]


def unplug_dimm_movable(ctx):
    """A DIMM the daemon onlined movable is removed by device_del: released, objects gone."""
    with unplug_vm(ctx) as vm:
        ctx.booted(vm)
        start(ctx, vm, config())
        total0 = vm.meminfo()
        dev, blocks = add_dimm(ctx, vm, "512M", "Movable")
        ctx.check(set(blocks) <= listed_blocks(vm), "memhotplugctl list shows the DIMM's blocks")
        mark = len(daemon_log(vm))
        try:
            secs = device_del(vm, dev, blocks)
        except VMError as e:
            ctx.check(False, "device_del: the guest releases the DIMM", diag=f"{e}\n{daemon_log(vm)}",
                      fatal=True)
        ctx.check(True, f"device_del: the guest released the movable DIMM in {secs:.1f}s")
        log = daemon_log(vm)
        listed = listed_blocks(vm)
        ctx.check(not set(blocks) & listed, "the daemon's objects for the blocks are gone",
                  diag=f"listed {sorted(listed)}")
        ctx.check(not onlined_after(log, mark, set(blocks)), "nothing re-onlined",
                  diag=log[mark:])
        seen = {int(n) for n in re.findall(r"memory(\d+): removed", log[mark:])}
        ctx.check(seen == set(blocks), "the daemon saw each block's remove uevent", diag=log[mark:])
        total = vm.meminfo()
        ctx.check(total == total0, f"MemTotal back to {total0 >> 20} MiB (is {total >> 20})")
        ctx.check(vm.run("memhotplugctl status", check=False)[0] == 0, "the daemon still answers")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))


def unplug_dimm_kernel(ctx):
    """The same DIMM onlined to the kernel zone: PrepareUnplug says it cannot go, and why."""
    with unplug_vm(ctx) as vm:
        ctx.booted(vm)
        start(ctx, vm, config(online="kernel"))
        dev, blocks = add_dimm(ctx, vm, "512M", "Normal")
        name = vm.acpi_memory_device(blocks)
        rc, out = vm.run(f"memhotplugctl unplug {name}", check=False, timeout=120)
        ctx.check(rc == 1 and "NotRemovable" in out and "zone Normal" in out and "not removable" in out,
                  f"memhotplugctl unplug {name}: refused, names the zone (rc {rc})", diag=out)
        states = {n: vm.blocks()[n]["state"] for n in blocks}
        ctx.check(set(states.values()) == {"online"}, "nothing was offlined", diag=states)


def unplug_ctl(ctx):
    """memhotplugctl unplug of a movable DIMM, then device_del: it goes at once."""
    with unplug_vm(ctx) as vm:
        ctx.booted(vm)
        start(ctx, vm, config())
        total0 = vm.meminfo()
        dev, blocks = add_dimm(ctx, vm, "512M", "Movable")
        name = vm.acpi_memory_device(blocks)
        t0 = time.monotonic()
        rc, out = vm.run(f"memhotplugctl unplug {name}", check=False, timeout=180)
        ctx.check(rc == 0 and "can be removed now" in out,
                  f"memhotplugctl unplug {name} exits 0 in {time.monotonic() - t0:.1f}s", diag=out)
        states = {n: vm.blocks()[n]["state"] for n in blocks}
        ctx.check(set(states.values()) == {"offline"}, "every block of the DIMM is offline", diag=states)
        log = daemon_log(vm)
        order = [int(m) for m in re.findall(r"memory(\d+): Offlined on request", log)]
        ctx.check(order == sorted(blocks, reverse=True), "offlined from the top down", diag=order)
        try:
            secs = device_del(vm, dev, blocks)
        except VMError as e:
            ctx.check(False, "device_del after unplug", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
        ctx.check(True, f"device_del after memhotplugctl unplug: gone in {secs:.1f}s")
        ctx.check(vm.meminfo() == total0, "MemTotal back where it was")
        ctx.check(not set(blocks) & listed_blocks(vm), "the daemon's objects for the blocks are gone")


def unplug_virtio_mem(ctx):
    """virtio-mem shrunk with requested-size: the kernel unplugs, the daemon does not fight it."""
    with unplug_vm(ctx, virtio_mem=[VirtioMem(size="2G", requested="0")]) as vm:
        ctx.booted(vm)
        start(ctx, vm, config())
        total0 = vm.meminfo()
        vm_boot = vm.blocks()
        vm.set_virtio_mem(0, "1G")
        try:
            vm.wait_until(lambda: vm.virtio_mem_size(0) == GiB, timeout=120, what="1 GiB plugged")
        except VMError as e:
            ctx.check(False, "virtio-mem grows to 1 GiB", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
        grown = vm.meminfo() - total0
        ctx.check(grown == GiB, f"grown by {grown >> 20} MiB")
        mark = len(daemon_log(vm))
        before = vm.blocks()
        t0 = time.monotonic()
        vm.set_virtio_mem(0, "512M")
        try:
            vm.wait_until(lambda: vm.virtio_mem_size(0) == 512 * MiB, timeout=120, what="512 MiB plugged")
        except VMError as e:
            ctx.check(False, "virtio-mem shrinks to 512 MiB", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
        ctx.check(True, f"virtio-mem shrank to 512 MiB in {time.monotonic() - t0:.1f}s")
        time.sleep(2)  # room for a daemon that would fight back
        after = vm.blocks()
        gone = set(before) - set(after)
        log = daemon_log(vm)
        size = vm.virtio_mem_size(0)
        ctx.check(size == 512 * MiB, f"the device stays at {size >> 20} MiB")
        grown = vm.meminfo() - total0
        ctx.check(grown == 512 * MiB, f"the guest's memory matches the request (+{grown >> 20} MiB)")
        ctx.check(not onlined_after(log, mark, set(before)), "the daemon onlined nothing during the shrink",
                  diag=log[mark:])
        ctx.check(not gone & listed_blocks(vm), f"the {len(gone)} removed block(s) left the daemon's list")
        ctx.check(vm.run("memhotplugctl status", check=False)[0] == 0, "the daemon still answers")

        # Prepared by the daemon, the rest goes at once: the daemon finds the device's region in
        # the /proc/iomem it opened at start with CAP_SYS_ADMIN (memhotplugctl no longer has to
        # resolve it) and PrepareUnplug offlines what of it is online.
        name = vm.sh("ls /sys/bus/virtio/drivers/virtio_mem | grep '^virtio' | head -n 1").strip()
        rc, out = vm.run(f"memhotplugctl unplug {name}", check=False, timeout=180)
        ctx.check(rc == 0 and f"{name} is 0x" not in out and "can be removed now" in out,
                  f"memhotplugctl unplug {name}: resolved by the daemon, exits 0 (rc {rc})",
                  diag=f"{out}\n{daemon_log(vm)}")
        left = {n: b["state"] for n, b in vm.blocks().items() if n not in vm_boot}
        ctx.check(left and set(left.values()) == {"offline"}, f"the device's {len(left)} block(s) are offline",
                  diag=left)
        vm.set_virtio_mem(0, "0")
        try:
            vm.wait_until(lambda: vm.virtio_mem_size(0) == 0, timeout=120, what="0 plugged")
        except VMError as e:
            ctx.check(False, "virtio-mem shrinks to 0 after the unplug", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
        ctx.check(vm.meminfo() == total0, "after unplug and requested-size 0, MemTotal is back where it was")


def build_pin_pages(tmpdir):
    """tests/vm/pin-pages.c, static, for the guest."""
    out = os.path.join(tmpdir, "pin-pages")
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-O2", "-Wall", "-static", "-o", out, os.path.join(HERE, "pin-pages.c")], check=True)
    return out


def unplug_pinned(ctx):
    """memhotplugctl unplug of a block whose pages a process holds: timed out, the daemon answers."""
    tmpdir = tempfile.mkdtemp(prefix="mhp-pin.")
    try:
        pin = build_pin_pages(tmpdir)
        with unplug_vm(ctx, binaries=[(pin, "/usr/bin/pin-pages")]) as vm:
            ctx.booted(vm)
            start(ctx, vm, config().replace("[Daemon]\n", "[Daemon]\nOfflineTimeoutSec=3\nMaxAttempts=1\n"))
            dev, blocks = add_dimm(ctx, vm, "512M", "Movable")
            bs = vm.block_size()
            vm.sh(f"(pin-pages 256 {bs:x} > /tmp/pin.out 2>&1 &)")
            try:
                vm.wait_until(lambda: "ready" in vm.run("cat /tmp/pin.out", check=False)[1], timeout=60,
                              what="pin-pages ready")
            except VMError as e:
                ctx.check(False, "pin-pages holds pages", diag=f"{e}\n{vm.run('cat /tmp/pin.out', check=False)[1]}",
                          fatal=True)
            pinned = [(int(m.group(1)), int(m.group(2))) for m in
                      re.finditer(r"memory(\d+) (\d+)", vm.sh("cat /tmp/pin.out"))]
            target = next((n for n, count in pinned if n in blocks), None)
            ctx.check(target is not None, f"pages pinned in the DIMM's blocks ({pinned[:4]})", fatal=True)
            t0 = time.monotonic()
            vm.sh(f"(memhotplugctl unplug {target} > /tmp/u.out 2>&1; echo $? > /tmp/u.rc) &")
            latencies = []
            while vm.run("test -e /tmp/u.rc", check=False)[0] != 0 and time.monotonic() - t0 < 60:
                t = time.monotonic()
                rc, _ = vm.run("memhotplugctl status", check=False)
                latencies.append((time.monotonic() - t, rc))
            ctx.note("memhotplugctl status during the pinned offline, host-measured round trips "
                     "(guest agent and TCG included): "
                     + ", ".join(f"{x:.2f}s" for x, _ in latencies))
            ctx.check(latencies and all(rc == 0 for _, rc in latencies),
                      f"the daemon answered all {len(latencies)} status calls during the offline")
            rc = int(vm.sh("cat /tmp/u.rc").strip() or -1)
            out = vm.sh("cat /tmp/u.out")
            ctx.note(f"memhotplugctl unplug {target} said: {out.strip()}")
            ctx.check(rc == 1 and re.search(rf"memory{target} holds it up: (timed out after 3\.0s|refused)", out),
                      f"memhotplugctl unplug {target}: exit 1, timed out or refused, after "
                      f"{time.monotonic() - t0:.1f}s", diag=f"rc {rc}\n{out}\n{daemon_log(vm)}")
            ctx.check(vm.blocks()[target]["state"] == "online", f"memory{target} stays online")
            vm.sh("kill $(pidof pin-pages)")
            time.sleep(1)
            rc, out = vm.run(f"memhotplugctl unplug {target}", check=False, timeout=120)
            ctx.check(rc == 0, f"once the process is gone, unplug {target} succeeds (rc {rc})", diag=out)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


SCENARIOS = {
    "unplug-dimm-movable": unplug_dimm_movable,
    "unplug-dimm-kernel": unplug_dimm_kernel,
    "unplug-ctl": unplug_ctl,
    "unplug-virtio-mem": unplug_virtio_mem,
    "unplug-pinned": unplug_pinned,
}
