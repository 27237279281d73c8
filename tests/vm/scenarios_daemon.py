# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scenarios that run memhotplugd inside the VM (driven by test_vm.py).

Each function gets a test_vm.Ctx; ctx.args.daemon is the host path of the
binary, which goes into the initramfs as /usr/sbin/memhotplugd.
"""

import os
import re
import time

from vm import HERE, GiB, Dimm, Nvdimm, VirtioMem, VMError

REPO = os.path.dirname(os.path.dirname(HERE))

CONF = "/etc/memhotplugd/memhotplugd.conf"
LOG = "/tmp/memhotplugd.log"


# ------------------------------------------------------------ daemon control

def daemon_vm(ctx, **kw):
    binaries = [(ctx.args.daemon, "/usr/sbin/memhotplugd")] + kw.pop("binaries", [])
    if ctx.args.ctl:
        binaries.append((ctx.args.ctl, "/usr/bin/memhotplugctl"))
    return ctx.vm(binaries=binaries, **kw)


def config(online="movable", auto="takeover", source="kernel", chunk=4, extra=""):
    return (f"[Daemon]\nChunkBlocks={chunk}\nKernelAutoOnline={auto}\n"
            f"UeventSource={source}\n\n[Memory]\nOnline={online}\n{extra}")


def start_daemon(ctx, vm, conf, ready_timeout=15):
    """Start memhotplugd in the background; wait until it listens.

    A wrapper shell records the exit status in /tmp/memhotplugd.rc so
    stop_daemon() can check it (busybox sh cannot wait for a non-child).
    """
    vm.write_file(CONF, conf)
    vm.sh("rm -f /tmp/memhotplugd.rc; "
          "setsid sh -c 'memhotplugd --config " + CONF + " --log-level debug "
          "--log-target stderr --runtime-dir /run/memhotplugd & "
          "echo $! > /tmp/memhotplugd.pid; wait $!; echo $? > /tmp/memhotplugd.rc' "
          f"</dev/null >{LOG} 2>&1 &")
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        log = daemon_log(vm)
        if re.search(r"Listening for memory uevents", log):
            return
        if vm.run("test -e /tmp/memhotplugd.rc", check=False)[0] == 0:
            raise VMError(f"memhotplugd exited at start:\n{log}")
        time.sleep(0.2)
    ctx.note("daemon never logged 'Listening for memory uevents'; going on")


def daemon_log(vm):
    return vm.run(f"cat {LOG} 2>/dev/null", check=False)[1]


def stop_daemon(vm, sig="TERM", timeout=20):
    """Signal the daemon; return its exit status (None if it did not exit)."""
    vm.sh(f"kill -{sig} $(cat /tmp/memhotplugd.pid)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc, out = vm.run("cat /tmp/memhotplugd.rc", check=False)
        if rc == 0 and out.strip():
            return int(out.strip())
        time.sleep(0.2)
    return None


def daemon_supports(vm, conf):
    """Does this daemon accept conf? (--check-config, run in the guest)."""
    vm.write_file("/tmp/probe.conf", conf)
    return vm.run("memhotplugd --check-config --config /tmp/probe.conf", check=False)[0] == 0


# ------------------------------------------------------------ block helpers

def offline_blocks(vm):
    return {n for n, b in vm.blocks().items() if b["state"] == "offline"}


def wait_online(vm, numbers, timeout=60):
    """Wait until every block in numbers is online; return seconds taken."""
    t0 = time.monotonic()
    numbers = set(numbers)

    def all_online():
        blocks = vm.blocks()
        return all(blocks[n]["state"] == "online" for n in numbers)
    vm.wait_until(all_online, timeout=timeout, interval=0.1, what=f"{len(numbers)} blocks online")
    return time.monotonic() - t0


def zones_of(vm, numbers):
    blocks = vm.blocks()
    return {n: blocks[n]["zones"] for n in numbers}


def check_zone(ctx, vm, numbers, zone, what):
    zones = zones_of(vm, numbers)
    bad = {n: z for n, z in zones.items() if z != [zone]}
    ctx.check(not bad, f"{what}: all {len(numbers)} blocks online in {zone}",
              diag=f"wrong zones: {bad}\n--- daemon log ---\n{daemon_log(vm)}")


def wait_new_blocks(vm, before, count, timeout=30):
    def new():
        now = vm.blocks()
        added = set(now) - set(before)
        return added if len(added) >= count else None
    return vm.wait_until(new, timeout=timeout, interval=0.25, what=f"{count} new blocks")


def online_or_fail(ctx, vm, numbers, what, timeout=60, since=None):
    """Wait for numbers to be online; report the time from `since`
    (a time.monotonic() taken before the triggering action) if given."""
    try:
        secs = wait_online(vm, numbers, timeout)
    except VMError as e:
        ctx.check(False, f"{what}: blocks onlined", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
    if since is not None:
        secs = time.monotonic() - since
    ctx.check(True, f"{what}: {len(numbers)} blocks onlined ({secs:.2f}s)")
    return secs


# ------------------------------------------------------------ scenarios

def boot(ctx):
    """Coldplugged 2 GiB DIMM at boot: the daemon's start scan onlines it movable."""
    with daemon_vm(ctx, dimms=[Dimm("2G")]) as vm:
        ctx.booted(vm)
        todo = offline_blocks(vm)
        ctx.check(len(todo) == 16, f"{len(todo)} blocks offline before the daemon", fatal=True)
        total0 = vm.meminfo()
        t0 = time.monotonic()
        start_daemon(ctx, vm, config())
        online_or_fail(ctx, vm, todo, "start scan", since=t0)
        check_zone(ctx, vm, todo, "Movable", "Online=movable")
        grown = vm.meminfo() - total0
        ctx.check(grown == 2 * GiB, f"MemTotal grew by {grown >> 20} MiB")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))


def once(ctx):
    """--once onlines what is offline and exits 0."""
    with daemon_vm(ctx, dimms=[Dimm("1G")]) as vm:
        ctx.booted(vm)
        todo = offline_blocks(vm)
        vm.write_file(CONF, config(online="kernel"))
        t0 = time.monotonic()
        rc, out = vm.run(f"memhotplugd --once --config {CONF} --log-target stderr", check=False,
                         timeout=120)
        ctx.check(rc == 0, f"--once exits 0 after {time.monotonic() - t0:.2f}s (got {rc})",
                  diag=out)
        ctx.check(not offline_blocks(vm) & todo, "no block left offline", diag=out)
        check_zone(ctx, vm, todo, "Normal", "Online=kernel")


def runtime(ctx):
    """pc-dimm hot-added through QMP while the daemon runs."""
    with daemon_vm(ctx) as vm:
        ctx.booted(vm)
        start_daemon(ctx, vm, config())
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm("1G")
        added = wait_new_blocks(vm, before, 8)
        online_or_fail(ctx, vm, added, "hot-added 1 GiB DIMM", since=t0)
        check_zone(ctx, vm, added, "Movable", "Online=movable")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))


def runtime_udev(ctx):
    """Same as runtime, with systemd-udevd in the guest and UeventSource=udev."""
    with daemon_vm(ctx) as vm:
        ctx.booted(vm)
        vm.start_udevd()
        start_daemon(ctx, vm, config(source="udev"))
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm("1G")
        added = wait_new_blocks(vm, before, 8)
        online_or_fail(ctx, vm, added, "hot-added 1 GiB DIMM via udevd", since=t0)
        check_zone(ctx, vm, added, "Movable", "Online=movable")


def virtio_mem(ctx):
    """virtio-mem requested-size raised: the driver adds blocks, the daemon onlines them."""
    with daemon_vm(ctx, virtio_mem=[VirtioMem(size="4G", requested="0")]) as vm:
        ctx.booted(vm)
        start_daemon(ctx, vm, config())
        before = vm.blocks()
        t0 = time.monotonic()
        vm.set_virtio_mem(0, "1G")
        try:
            vm.wait_until(lambda: vm.virtio_mem_size(0) == GiB, timeout=90, interval=0.5,
                          what="virtio-mem plugged size 1 GiB")
        except VMError as e:
            ctx.check(False, "virtio-mem reaches 1 GiB", diag=f"{e}\n{daemon_log(vm)}",
                      fatal=True)
        ctx.check(True, f"virtio-mem plugged 1 GiB in {time.monotonic() - t0:.2f}s")
        added = set(vm.blocks()) - set(before)
        online_or_fail(ctx, vm, added, "virtio-mem blocks", timeout=30)
        check_zone(ctx, vm, added, "Movable", "Online=movable")


def numa(ctx):
    """Two nodes: [Node 1] Online=kernel overrides the movable default."""
    with daemon_vm(ctx, numa_nodes=2, dimms=[Dimm("1G", node=0), Dimm("1G", node=1)]) as vm:
        ctx.booted(vm)
        blocks = vm.blocks()
        on = {k: {n for n, b in blocks.items() if b["state"] == "offline" and b["node"] == k}
              for k in (0, 1)}
        ctx.check(len(on[0]) == 8 and len(on[1]) == 8, "8 offline blocks on each node",
                  fatal=True)
        t0 = time.monotonic()
        start_daemon(ctx, vm, config(extra="\n[Node 1]\nOnline=kernel\n"))
        online_or_fail(ctx, vm, on[0] | on[1], "start scan", since=t0)
        check_zone(ctx, vm, on[0], "Movable", "node 0 default")
        check_zone(ctx, vm, on[1], "Normal", "node 1 [Node 1] Online=kernel")
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm("256M", node=1)
        added = wait_new_blocks(vm, before, 2)
        online_or_fail(ctx, vm, added, "hot-added node-1 DIMM", since=t0)
        check_zone(ctx, vm, added, "Normal", "hot-added on node 1")


def auto_online_takeover(ctx):
    """Kernel auto-online on; KernelAutoOnline=takeover switches it off and restores it."""
    with daemon_vm(ctx, auto_online=True) as vm:
        ctx.booted(vm)
        aob = "/sys/devices/system/memory/auto_online_blocks"
        orig = vm.sh(f"cat {aob}").strip()
        ctx.check(orig != "offline", f"kernel auto-online is on ({orig})", fatal=True)
        start_daemon(ctx, vm, config(auto="takeover"))
        now = vm.sh(f"cat {aob}").strip()
        ctx.check(now == "offline", f"auto_online_blocks is offline while running ({now})",
                  diag=daemon_log(vm))
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm("512M")
        added = wait_new_blocks(vm, before, 4)
        online_or_fail(ctx, vm, added, "hot-added DIMM", since=t0)
        # The kernel would have picked ZONE_NORMAL; Movable proves the daemon did it.
        check_zone(ctx, vm, added, "Movable", "onlined by the daemon")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))
        after = vm.sh(f"cat {aob}").strip()
        ctx.check(after == orig, f"auto_online_blocks restored to {after}", diag=daemon_log(vm))
        # After a crash (SIGKILL) the kernel is left at offline; the next
        # run must restore the original value from its runtime directory,
        # not the "offline" it finds.
        start_daemon(ctx, vm, config(auto="takeover"))
        stop_daemon(vm, sig="KILL")
        left = vm.sh(f"cat {aob}").strip()
        ctx.check(left == "offline", f"after SIGKILL auto_online_blocks is {left}")
        start_daemon(ctx, vm, config(auto="takeover"))
        rc = stop_daemon(vm)
        after = vm.sh(f"cat {aob}").strip()
        ctx.check(rc == 0 and after == orig,
                  f"restarted daemon restores {after} on SIGTERM (rc {rc})", diag=daemon_log(vm))


def auto_online_respect(ctx):
    """Kernel auto-online on; KernelAutoOnline=respect leaves it and the kernel's zones alone."""
    with daemon_vm(ctx, auto_online=True) as vm:
        ctx.booted(vm)
        aob = "/sys/devices/system/memory/auto_online_blocks"
        orig = vm.sh(f"cat {aob}").strip()
        ctx.check(orig != "offline", f"kernel auto-online is on ({orig})", fatal=True)
        start_daemon(ctx, vm, config(auto="respect"))
        now = vm.sh(f"cat {aob}").strip()
        ctx.check(now == orig, f"auto_online_blocks left at {now}", diag=daemon_log(vm))
        before = vm.blocks()
        vm.hotplug_dimm("512M")
        added = wait_new_blocks(vm, before, 4)
        online_or_fail(ctx, vm, added, "hot-added DIMM (kernel onlines)")
        time.sleep(1)  # give a misbehaving daemon time to offline/re-online
        check_zone(ctx, vm, added, "Normal", "kernel's choice kept")
        rc = stop_daemon(vm)
        ctx.check(rc == 0, f"exits 0 on SIGTERM (got {rc})", diag=daemon_log(vm))
        after = vm.sh(f"cat {aob}").strip()
        ctx.check(after == orig, f"auto_online_blocks still {after}")


DAX_CONF = "\n[Dax]\nMode=system-ram\nMemmapOnMemory=yes\nOnline=movable\n"


def dax_driver(vm, dev):
    return vm.sh(f"basename $(readlink /sys/bus/dax/devices/{dev}/driver) 2>/dev/null; true").strip()


def check_dax_converted(ctx, vm, dev, before, what):
    try:
        vm.wait_until(lambda: dax_driver(vm, dev) == "kmem", timeout=30,
                      what=f"{dev} bound to kmem")
    except VMError as e:
        ctx.check(False, f"{what}: {dev} converted to system-ram",
                  diag=f"{e}\n{daemon_log(vm)}", fatal=True)
    ctx.check(True, f"{what}: {dev} converted to system-ram")
    mom = vm.sh(f"cat /sys/bus/dax/devices/{dev}/memmap_on_memory").strip()
    ctx.check(mom == "1", f"{what}: memmap_on_memory set before kmem bound ({mom})")
    added = vm.wait_until(lambda: set(vm.blocks()) - set(before), timeout=10,
                          what=f"{dev} blocks")
    online_or_fail(ctx, vm, added, f"{what}: {dev} blocks")
    check_zone(ctx, vm, added, "Movable", f"{what}: [Dax] Online=movable")


def dax(ctx):
    """NVDIMM devdax at start and at runtime: converted to system-ram, onlined movable."""
    with daemon_vm(ctx, nvdimms=[Nvdimm("1G"), Nvdimm("1G")],
                   cmdline=["memory_hotplug.memmap_on_memory=1"]) as vm:
        ctx.booted(vm)
        if not daemon_supports(vm, config(extra=DAX_CONF)):
            ctx.tap.skip(f"{ctx.name}: dax conversion", "daemon does not accept [Dax] yet")
            return
        # region0 before the daemon starts (its start scan), region1 after
        # (a dax uevent while running).
        vm.sh("ndctl create-namespace -f -e namespace0.0 -m devdax", timeout=60)
        before = vm.blocks()
        start_daemon(ctx, vm, config(extra=DAX_CONF))
        check_dax_converted(ctx, vm, "dax0.0", before, "start scan")
        before = vm.blocks()
        vm.sh("ndctl create-namespace -f -e namespace1.0 -m devdax", timeout=60)
        check_dax_converted(ctx, vm, "dax1.0", before, "runtime")


def dbus(ctx):
    """memhotplugctl over a real system bus: reads for all, onlining for root only."""
    if not ctx.args.ctl:
        ctx.tap.skip(f"{ctx.name}: memhotplugctl", "no --ctl given")
        return
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    with daemon_vm(ctx, dimms=[Dimm("1G")],
                   files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]) as vm:
        ctx.booted(vm)
        vm.start_dbus()
        todo = sorted(offline_blocks(vm))
        start_daemon(ctx, vm, config(online="offline"))
        try:
            vm.wait_until(lambda: vm.run("memhotplugctl status", check=False)[0] == 0,
                          timeout=15, what="memhotplugctl status")
        except VMError as e:
            ctx.check(False, "memhotplugctl status answers",
                      diag=f"{e}\n{vm.run('memhotplugctl status', check=False)[1]}\n"
                           f"{daemon_log(vm)}", fatal=True)
        ctx.check(True, "memhotplugctl status answers as root")
        rc, out = vm.run("su nobody -s /bin/sh -c 'memhotplugctl list'", check=False)
        ctx.check(rc == 0 and f"{todo[0]}" in out, "memhotplugctl list works unprivileged",
                  diag=out)
        n = todo[0]
        rc, out = vm.run(f"su nobody -s /bin/sh -c 'memhotplugctl online --zone movable {n}'",
                         check=False)
        state = vm.blocks()[n]["state"]
        ctx.check(rc != 0 and state == "offline", f"unprivileged online refused (rc {rc})",
                  diag=out)
        rc, out = vm.run(f"memhotplugctl online --zone movable {n}", check=False, timeout=30)
        b = vm.blocks()[n]
        ctx.check(rc == 0 and b["state"] == "online" and b["zones"] == ["Movable"],
                  f"root onlines memory{n} movable through the bus", diag=f"{out}\n{b}")


SCENARIOS = {
    "boot": boot,
    "once": once,
    "runtime": runtime,
    "runtime-udev": runtime_udev,
    "virtio-mem": virtio_mem,
    "numa": numa,
    "auto-online-takeover": auto_online_takeover,
    "auto-online-respect": auto_online_respect,
    "dax": dax,
    "dbus": dbus,
}
