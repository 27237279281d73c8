# SPDX-License-Identifier: LGPL-2.1-or-later
"""Online=auto-movable in a real kernel (driven by test_vm.py).

placement-vs-kernel: one sequence of DIMM hot-adds on two nodes, a virtio-mem device and a dax
device, run once under the kernel's own memory_hotplug.online_policy=auto-movable and once under
memhotplugd with Online=auto-movable; every block must land in the same zone.
placement-virtio-mem: a virtio-mem device raised far past the ratio, under both: the same zones.
placement-small-guest: under the shipped default (no Online= in the config), a 1 GiB guest given
16 GiB, then a process allocates and touches most of it: no OOM kill, and the plan and the log say
why part of the memory went to the kernel zone.
"""

import json
import os
import re
import shutil
import time

from scenarios_daemon import REPO, config, daemon_log, daemon_vm, online_or_fail, start_daemon, wait_new_blocks
from scenarios_pressure import alive, build_hog, hog
from vm import Dimm, GiB, MiB, Nvdimm, VirtioMem, VMError

RATIO = 301

# (size, node) in order. With 512M of boot memory per node, 301% allows ~1.5G movable per node
# and ~3G in all: the third DIMM fills node 0 to 1.5G (4M under the kernel's limit: boot memory
# has holes), the fourth crosses node 1's limit, the fifth node 0's, the sixth fits on node 1.
SEQUENCE = [("1G", 0), ("1G", 1), ("512M", 0), ("1G", 1), ("256M", 0), ("256M", 1)]
EXPECTED = ["Movable", "Movable", "Movable", "Normal", "Normal", "Movable"]

# Then a virtio-mem device on node 1 raised to 512M (four blocks, one unit each, a dynamic memory
# group): 2.875G and 3G fit the system's 301% of 1G; the third crosses it; the fourth fits again,
# as the device's own 128M in the kernel zone counts for it (3.125G <= 301% of 1.125G).
VIRTIO_SIZE = "512M"
VIRTIO_EXPECTED = "MMKM"

# Then a 1 GiB NVDIMM on node 1 as a devdax namespace, converted to system RAM (7 blocks after the
# namespace's metadata): system-wide 2.75G + 0.875G (the virtio-mem device's movable memory is
# its own: its kernel memory backs it) over 1G of boot memory is over the ratio.
NVDIMM_EXPECTED = "Normal"

KERNEL_POLICY = ["memory_hotplug.online_policy=auto-movable",
                 f"memory_hotplug.auto_movable_ratio={RATIO}",
                 "memory_hotplug.auto_movable_numa_aware=1"]


def dimm_zone(vm, blocks):
    """The zone all of a DIMM's blocks are in, or a description of the split."""
    b = vm.blocks()
    zones = {" ".join(b[n]["zones"]) for n in blocks}
    return zones.pop() if len(zones) == 1 else "split: %s" % sorted(zones)


def run_sequence(ctx, vm, what):
    """Hot-adds SEQUENCE one DIMM at a time, each onlined before the next; returns the zones."""
    zones = []
    for size, node in SEQUENCE:
        before = vm.blocks()
        vm.hotplug_dimm(size, node=node)
        added = wait_new_blocks(vm, before, (int(size[:-1]) * (GiB if size[-1] == "G" else MiB)) // (128 * MiB))
        online_or_fail(ctx, vm, added, f"{what}: {size} on node {node}", timeout=60)
        zones.append(dimm_zone(vm, added))
    return zones


def raise_virtio_mem(ctx, vm, what):
    """Raises the virtio-mem device to VIRTIO_SIZE; returns its blocks' zones in address order (M, K)."""
    before = vm.blocks()
    vm.set_virtio_mem(0, VIRTIO_SIZE)
    added = wait_new_blocks(vm, before, 4, timeout=120)
    online_or_fail(ctx, vm, added, f"{what}: virtio-mem {VIRTIO_SIZE} on node 1", timeout=60)
    b = vm.blocks()
    return "".join("M" if " ".join(b[n]["zones"]) == "Movable" else "K" for n in sorted(added))


def convert_nvdimm(ctx, vm, what, command):
    """devdax namespace on the NVDIMM, then command converts it; returns its blocks' zone."""
    vm.sh("ndctl create-namespace -f -e namespace0.0 -m devdax", timeout=60)
    before = vm.blocks()
    if command:
        vm.sh(command, timeout=60)
    try:
        added = wait_new_blocks(vm, before, 7, timeout=120)
    except VMError as e:
        ctx.check(False, f"{what}: NVDIMM dax0.0 becomes system RAM", fatal=True,
                  diag=f"{e}\n{vm.run('ls -l /sys/bus/dax/devices/dax0.0/ 2>&1', check=False)[1]}\n{daemon_log(vm)}")
    online_or_fail(ctx, vm, added, f"{what}: NVDIMM dax0.0 as system RAM", timeout=60)
    return dimm_zone(vm, added)


def placement_vs_kernel(ctx):
    """The kernel's online_policy=auto-movable and Online=auto-movable put every DIMM, virtio-mem block
    and the dax device in the same zone."""
    common = dict(numa_nodes=2, memory="1G", maxmem="16G", slots=8, nvdimms=[Nvdimm("1G", node=1)],
                  virtio_mem=[VirtioMem(size="1G", requested="0", node=1)])
    with ctx.vm(auto_online=True, cmdline=KERNEL_POLICY, name="placement-kernel", **common) as vm:
        ctx.booted(vm)
        policy = vm.sh("cat /sys/module/memory_hotplug/parameters/online_policy").strip()
        ctx.check(policy == "auto-movable", f"kernel online_policy is {policy}", fatal=True)
        kernel = run_sequence(ctx, vm, "kernel")
        kernel_virtio = raise_virtio_mem(ctx, vm, "kernel")
        # kmem bound by sysfs, so that the kernel's auto-online places the memory, not daxctl.
        kernel_dax = convert_nvdimm(ctx, vm, "kernel", "echo dax0.0 > /sys/bus/dax/drivers/device_dax/unbind && "
                                                       "echo dax0.0 > /sys/bus/dax/drivers/kmem/new_id")
    ctx.note(f"kernel auto-movable: {kernel}, virtio-mem {kernel_virtio}, NVDIMM {kernel_dax}")

    with daemon_vm(ctx, auto_online=False, name="placement-daemon", **common) as vm:
        ctx.booted(vm)
        start_daemon(ctx, vm, config(online="auto-movable", chunk=64,
                                     extra=f"MovableRatio={RATIO}\nNumaAware=yes\n\n[Dax]\nMode=system-ram\n"
                                           "Online=auto-movable\n"))
        daemon = run_sequence(ctx, vm, "memhotplugd")
        daemon_virtio = raise_virtio_mem(ctx, vm, "memhotplugd")
        daemon_dax = convert_nvdimm(ctx, vm, "memhotplugd", None)
        log = daemon_log(vm)
    ctx.note(f"memhotplugd auto-movable: {daemon}, virtio-mem {daemon_virtio}, NVDIMM {daemon_dax}")

    for i, ((size, node), k, d) in enumerate(zip(SEQUENCE, kernel, daemon)):
        ctx.check(k == d, f"DIMM {i + 1} ({size} on node {node}): kernel {k}, memhotplugd {d}",
                  diag=log if k != d else "")
    ctx.check(kernel_virtio == daemon_virtio,
              f"virtio-mem {VIRTIO_SIZE} on node 1: kernel {kernel_virtio}, memhotplugd {daemon_virtio}",
              diag=log if kernel_virtio != daemon_virtio else "")
    ctx.check(kernel_dax == daemon_dax, f"NVDIMM dax0.0 (1G on node 1): kernel {kernel_dax}, memhotplugd {daemon_dax}",
              diag=log if kernel_dax != daemon_dax else "")
    ctx.check(daemon == EXPECTED and daemon_virtio == VIRTIO_EXPECTED and daemon_dax == NVDIMM_EXPECTED,
              f"the zones are the ones worked out by hand: {EXPECTED}, virtio-mem {VIRTIO_EXPECTED}, "
              f"NVDIMM {NVDIMM_EXPECTED}", diag=log)
    crossed = [line for line in log.splitlines() if "Online=auto-movable" in line and "kernel zone" in line]
    ctx.check(crossed, "the log explains the DIMMs that went to the kernel zone",
              diag=log)
    for line in crossed[:2]:
        ctx.note(line)


SMALL_GUEST_DIMMS = 16  # of 1 GiB each, into a 1 GiB guest: 16:1


def placement_small_guest(ctx):
    """A 1 GiB guest given 16 GiB under the default policy stays usable: no OOM kill filling it."""
    tmpdir, hog_bin = build_hog()
    try:
        small_guest(ctx, hog_bin)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def small_guest(ctx, hog_bin):
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    n = SMALL_GUEST_DIMMS
    with daemon_vm(ctx, memory="1G", maxmem=f"{n + 1}G", slots=n, timeout=1200,
                   binaries=[(hog_bin, "/usr/bin/mem-hog")],
                   files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]) as vm:
        ctx.booted(vm)
        vm.start_dbus()
        # No Online=: the shipped default (platform: auto-movable in a KVM guest). Chunks of one
        # DIMM, 3 s apart, so that the plan can be read while most are still queued.
        start_daemon(ctx, vm, "[Daemon]\nChunkBlocks=8\nChunkPauseSec=3\nKernelAutoOnline=takeover\n")
        before = vm.blocks()
        for _ in range(n):
            vm.hotplug_dimm("1G")
        added = wait_new_blocks(vm, before, 8 * n)
        if ctx.args.ctl:
            time.sleep(2)
            rc, out = vm.run("memhotplugctl --json=short plan", check=False)
            rows = json.loads(out) if rc == 0 else []
            why = [r["Reason"] for r in rows if "-> kernel zone" in r["Reason"]]
            ctx.check(why, "memhotplugctl plan, while the DIMMs are queued, says why some go to the kernel zone",
                      diag=f"{out}\n{daemon_log(vm)}")
            # Every queued kernel-zone row with the arithmetic its group was decided with, not
            # "group has memory in a kernel zone".
            ctx.check(why and all(re.search(r"movable \S+ / kernel \S+ = \S+% > 301%", r) for r in why),
                      "every such row carries the arithmetic", diag=out)
            if why:
                ctx.note(f"plan: {why[0]}")
        online_or_fail(ctx, vm, added, f"{n} DIMMs of 1G", timeout=300)
        blocks = vm.blocks()
        movable = sum(1 for b in blocks.values() if b["zones"] == ["Movable"]) * 128 * MiB
        kernel = sum(1 for b in blocks.values() if b["state"] == "online" and b["zones"] != ["Movable"]) * 128 * MiB
        ctx.note(f"online: {movable // MiB} MiB movable, {kernel // MiB} MiB in kernel zones")
        ctx.check(0 < movable <= RATIO * GiB // 100, f"movable memory {movable // MiB} MiB, "
                  f"within {RATIO}% of the 1 GiB boot memory")
        log = daemon_log(vm)
        crossed = [line for line in log.splitlines() if "Online=auto-movable" in line and "-> kernel zone" in line]
        ctx.check(crossed, "the log says why DIMMs went to the kernel zone", diag=log)
        if crossed:
            ctx.note(crossed[0])
        # DIMMs come back to back: each must still be its ACPI device's group, none decided before
        # the device claimed its blocks (a hot-add burst group then spans several DIMMs).
        ctx.check(not re.search(r"group hot-add|block of no group", log),
                  "every DIMM is decided as its ACPI device's group", diag=log)
        if ctx.args.ctl:
            rc, out = vm.run("memhotplugctl status", check=False)
            ctx.check(rc == 0 and re.search(r"Placement: kernel \S+ \(boot \S+\), movable 3G", out),
                      "memhotplugctl status shows the placement accounting", diag=out)
            ctx.check(re.search(r"Platform default: Online=auto-movable: x86_64, kvm virtual machine", out),
                      "the default is auto-movable here, and status says why", diag=out)
            ctx.note(out)

        # A process allocates most of the new memory and writes every page of it (tests/vm/mem-hog.c),
        # then holds it while the guest is asked to answer.
        avail = vm.meminfo("MemAvailable")
        fill = avail * 8 // 10 // MiB
        t0 = time.monotonic()
        ok = hog(vm, fill, "fill", timeout=900)
        ctx.note(f"a process touched {fill} MiB of {avail // MiB} MiB available in {time.monotonic() - t0:.0f}s")
        ctx.check(ok and alive(vm, "fill"), f"a process allocated and touched {fill} MiB, and holds it",
                  diag=vm.sh("cat /tmp/hog-fill.out"))
        dmesg = vm.run("dmesg", check=False)[1]
        oom = [line for line in dmesg.splitlines() if re.search(r"Out of memory|oom-kill|invoked oom-killer", line)]
        ctx.check(not oom, "no OOM kill", diag="\n".join(oom))
        try:
            ctx.check(vm.sh("echo alive").strip() == "alive", "the guest still answers")
        except VMError as e:
            ctx.check(False, "the guest still answers", diag=str(e))


def placement_drift(ctx):
    """Memory the kernel onlined movable at boot, a policy that says kernel: drift reported, rezone moves it."""
    if not ctx.args.ctl:
        ctx.tap.skip(f"{ctx.name}: drift", "no --ctl given")
        return
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    with daemon_vm(ctx, dimms=[Dimm("1G")], auto_online="online_movable",
                   files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]) as vm:
        ctx.booted(vm)
        dimm = sorted(n for n, b in vm.blocks().items() if b["zones"] == ["Movable"])
        ctx.check(len(dimm) == 8, f"the kernel onlined the DIMM's 8 blocks movable at boot: {dimm}", fatal=True)
        vm.start_dbus()
        start_daemon(ctx, vm, config(online="kernel"))
        vm.wait_until(lambda: vm.run("memhotplugctl status", check=False)[0] == 0, timeout=15,
                      what="memhotplugctl status")
        rc, out = vm.run("memhotplugctl --json=short --all plan", check=False)
        rows = json.loads(out) if rc == 0 else []
        drift = {r["FirstBlock"]: r for r in rows if r["Action"] == "rezone"}
        ctx.check(sorted(drift) == dimm and all(r["Zone"] == "Normal" for r in drift.values()),
                  "plan: each of the DIMM's blocks to be rezoned into Normal", diag=out)
        if drift:
            ctx.note(f"plan: {drift[dimm[0]]['Reason']}")
        status = vm.run("memhotplugctl status", check=False)[1]
        ctx.check(re.search(r"Drift: 8 online block\(s\)", status), "status reports the drift", diag=status)
        time.sleep(2)
        ctx.check(all(vm.blocks()[n]["zones"] == ["Movable"] for n in dimm),
                  "the daemon leaves them where they are by itself", diag=daemon_log(vm))

        rc, out = vm.run(f"memhotplugctl rezone {dimm[0]}-{dimm[-1]}", check=False, timeout=120)
        ctx.check(rc == 0, f"memhotplugctl rezone {dimm[0]}-{dimm[-1]} exits 0 (got {rc})",
                  diag=f"{out}\n{daemon_log(vm)}")
        after = vm.blocks()
        ctx.check(all(after[n]["state"] == "online" and after[n]["zones"] == ["Normal"] for n in dimm),
                  "the blocks are online in Normal, as the plan said",
                  diag=str({n: after[n] for n in dimm}))
        rc, out = vm.run("memhotplugctl --json=short plan", check=False)
        ctx.check(rc == 0 and not [r for r in json.loads(out) if r["Action"] == "rezone"],
                  "no drift left in the plan", diag=out)


def plug_virtio_mem(ctx, vm, what, size):
    """Raises the device to size; returns {block: zone} of its blocks, in address order."""
    before = set(vm.blocks())
    vm.set_virtio_mem(0, size)
    try:
        vm.wait_until(lambda: vm.virtio_mem_size(0) >= 4 * GiB, timeout=240, interval=1,
                      what=f"{what}: virtio-mem plugged 4 GiB")
    except VMError as e:
        ctx.check(False, f"{what}: virtio-mem plugs 4 GiB", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
    time.sleep(3)
    blocks = vm.blocks()
    return {n: " ".join(b["zones"]) for n, b in sorted(blocks.items()) if n not in before and b["state"] == "online"}


def placement_virtio_mem(ctx):
    """virtio-mem under the kernel's auto-movable and under Online=auto-movable: the same zones."""
    common = dict(memory="1G", maxmem="16G", slots=8, virtio_mem=[VirtioMem(size="4G", requested="0")])
    with ctx.vm(auto_online=True, cmdline=KERNEL_POLICY, name="virtio-mem-kernel", **common) as vm:
        ctx.booted(vm)
        kernel = plug_virtio_mem(ctx, vm, "kernel", "4G")
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    with daemon_vm(ctx, auto_online=False, name="virtio-mem-daemon",
                   files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")], **common) as vm:
        ctx.booted(vm)
        vm.start_dbus()
        start_daemon(ctx, vm, config(online="auto-movable", chunk=64))
        daemon = plug_virtio_mem(ctx, vm, "memhotplugd", "4G")
        log = daemon_log(vm)
        rc, status = vm.run("memhotplugctl status", check=False)
        pid = vm.sh("cat /tmp/memhotplugd.pid 2>/dev/null || pidof memhotplugd").split()[0]
        capeff = vm.sh(f"grep CapEff /proc/{pid}/status").split()[1]

    def summary(zones):
        return "".join("M" if z == "Movable" else "K" for z in zones.values())

    ctx.note(f"kernel:      {summary(kernel)} ({sum(z == 'Movable' for z in kernel.values())} movable of {len(kernel)})")
    ctx.note(f"memhotplugd: {summary(daemon)} ({sum(z == 'Movable' for z in daemon.values())} movable of {len(daemon)})")
    ctx.check(len(kernel) == len(daemon) == 32, f"32 blocks each ({len(kernel)}, {len(daemon)})")
    # The device is a dynamic memory group for both: past 301% of the boot memory, each block the
    # device puts in the kernel zone lets three more of its blocks go movable (docs/PLACEMENT.md).
    ctx.check(summary(kernel) == summary(daemon), "the same zone for every block", diag=log)
    units = [line for line in log.splitlines() if re.search(r"virtio\d+ unit", line)]
    ctx.check(any("kernel zone" in line for line in units) and any("Movable" in line for line in units),
              "the log names the device's group in its decisions", diag=log)
    for line in [u for u in units if "kernel zone" in u][:1]:
        ctx.note(line)
    ctx.check(rc == 0 and "not grouped" not in status, "memhotplugctl status: nothing about virtio-mem not grouped",
              diag=status)
    ctx.check(not int(capeff, 16) & (1 << 21), f"CAP_SYS_ADMIN dropped after start (CapEff {capeff})")


SCENARIOS = {
    "placement-vs-kernel": placement_vs_kernel,
    "placement-small-guest": placement_small_guest,
    "placement-drift": placement_drift,
    "placement-virtio-mem": placement_virtio_mem,
}
