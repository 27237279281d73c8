#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""VM scenarios: a real kernel (Debian's 6.12, or --kernel 7.3) in QEMU, memory really hot-added.

Usage: test_vm.py [SCENARIO...] [--daemon PATH] [--ctl PATH] [--kernel VERSION]
                  [--log-dir DIR] [-v]
       test_vm.py --list

Output is TAP (one test point per check). Scenarios named kernel-* prove the
harness and the kernel's behaviour without the daemon; the others run
memhotplugd inside the guest and are skipped without --daemon.
Exit status: 0 unless a check failed (skips are TAP "# SKIP" lines, which is
how meson's TAP protocol wants them; a non-zero exit would read as ERROR).
"""

import argparse
import os
import sys
import time
import traceback

# Keep the source tree free of __pycache__.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from vm import VM, Dimm, GiB, MiB, Nvdimm, VirtioMem, VMError, select_kernel  # noqa: E402

import scenarios_cxl  # noqa: E402
import scenarios_daemon  # noqa: E402
import scenarios_daxreport  # noqa: E402
import scenarios_daxstate  # noqa: E402
import scenarios_doctor  # noqa: E402
import scenarios_headroom  # noqa: E402
import scenarios_jobs  # noqa: E402
import scenarios_map  # noqa: E402
import scenarios_kernels  # noqa: E402
import scenarios_placement  # noqa: E402
import scenarios_pressure  # noqa: E402
import scenarios_unplug  # noqa: E402
from tap import Tap  # noqa: E402


class Failed(Exception):
    pass


class Ctx:
    """What a scenario gets: TAP, options, and a check() that stops the
    scenario on the first failed assertion it marks as fatal."""

    def __init__(self, tap, name, args):
        self.tap, self.name, self.args = tap, name, args
        self.timings = {}

    def check(self, cond, desc, diag="", fatal=False):
        good = self.tap.ok(bool(cond), f"{self.name}: {desc}", diag)
        if not good and fatal:
            raise Failed(desc)
        return good

    def note(self, msg):
        self.tap.note(f"{self.name}: {msg}")

    def vm(self, **kw):
        kw.setdefault("name", self.name)
        kw.setdefault("log_dir", self.args.log_dir)
        kw.setdefault("verbose", self.args.verbose)
        return VM(**kw)

    def booted(self, vm):
        """Record boot time: total wall clock and kernel time to /init."""
        m = vm.wait_console(r"init: userspace up at ([0-9.]+)s", timeout=5)
        self.note(f"boot {vm.boot_seconds:.1f}s wall, kernel to /init {m.group(1)}s")
        self.timings["boot"] = vm.boot_seconds


# ------------------------------------------------------------ helpers

def new_blocks(before, after):
    return {n: b for n, b in after.items() if n not in before}


def states(blocks):
    return sorted({b["state"] for b in blocks.values()})


# ------------------------------------------------------------ kernel scenarios

def kernel_boot(ctx):
    """Coldplugged 2 GiB DIMM, memhp_default_state=offline: blocks stay offline."""
    with ctx.vm(dimms=[Dimm("2G")]) as vm:
        ctx.booted(vm)
        bs = vm.block_size()
        ctx.check(bs == 128 * MiB, f"block size is 128 MiB ({bs:#x})")
        aob = vm.sh("cat /sys/devices/system/memory/auto_online_blocks").strip()
        ctx.check(aob == "offline", f"auto_online_blocks is offline ({aob})")
        blocks = vm.blocks()
        offline = {n: b for n, b in blocks.items() if b["state"] == "offline"}
        ctx.check(len(offline) == 2 * GiB // bs, f"{len(offline)} offline blocks = 2 GiB DIMM",
                  diag=blocks)
        ctx.check(all("Movable" in b["zones"] for b in offline.values()),
                  "every offline block may go to ZONE_MOVABLE")
        total = vm.meminfo()
        ctx.check(total < 1 * GiB, f"MemTotal {total >> 20} MiB excludes the DIMM")


def kernel_hotplug(ctx):
    """Hot-add a pc-dimm through QMP at runtime: new blocks appear offline."""
    with ctx.vm() as vm:
        ctx.booted(vm)
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm("1G")
        bs = vm.block_size()
        added = vm.wait_until(lambda: len(new_blocks(before, vm.blocks())) == GiB // bs
                              and new_blocks(before, vm.blocks()),
                              timeout=30, what="hot-added blocks")
        ctx.timings["hotadd"] = time.monotonic() - t0
        ctx.note(f"hot-added 1 GiB visible in guest after {ctx.timings['hotadd']:.2f}s")
        ctx.check(states(added) == ["offline"], f"{len(added)} new blocks, all offline",
                  diag=added)
        # Sanity of what the daemon will rely on: the kernel accepts
        # online_movable and then reports a single zone.
        first = min(added)
        total0 = vm.meminfo()
        vm.sh(f"echo online_movable > /sys/devices/system/memory/memory{first}/state")
        b = vm.blocks()[first]
        ctx.check(b["state"] == "online" and b["zones"] == ["Movable"],
                  f"memory{first} onlined movable by hand", diag=b)
        ctx.check(vm.meminfo() - total0 == bs, "MemTotal grew by one block")


def kernel_virtio_mem(ctx):
    """virtio-mem: raising requested-size makes the driver add blocks."""
    with ctx.vm(virtio_mem=[VirtioMem(size="4G", requested="0")]) as vm:
        ctx.booted(vm)
        before = vm.blocks()
        t0 = time.monotonic()
        vm.set_virtio_mem(0, "512M")
        added = vm.wait_until(lambda: new_blocks(before, vm.blocks()), timeout=30,
                              what="virtio-mem blocks")
        ctx.note(f"first virtio-mem block after {time.monotonic() - t0:.2f}s")
        ctx.check(states(added) == ["offline"], f"{len(added)} virtio-mem block(s), offline",
                  diag=added)
        # virtio-mem plugs memory only as fast as its blocks get onlined;
        # online what appears and the device reaches the requested size.
        def online_all():
            vm.sh("cd /sys/devices/system/memory; for b in memory*; do "
                  "[ $(cat $b/state) = offline ] && echo online_movable > $b/state; done; true")
            return vm.virtio_mem_size(0) >= 512 * MiB
        vm.wait_until(online_all, timeout=60, what="virtio-mem plugged size")
        plugged = vm.virtio_mem_size(0)
        ctx.check(plugged == 512 * MiB, f"device reports {plugged >> 20} MiB plugged")


def kernel_numa(ctx):
    """Two nodes, a DIMM on each: blocks carry the right node link."""
    with ctx.vm(numa_nodes=2, dimms=[Dimm("1G", node=0), Dimm("1G", node=1)]) as vm:
        ctx.booted(vm)
        nodes = vm.sh("ls -d /sys/devices/system/node/node* | sed 's/.*node//'").split()
        ctx.check(nodes == ["0", "1"], f"guest sees nodes {nodes}")
        offline = {n: b for n, b in vm.blocks().items() if b["state"] == "offline"}
        per_node = {k: sum(1 for b in offline.values() if b["node"] == k) for k in (0, 1)}
        ctx.check(per_node == {0: 8, 1: 8}, f"offline blocks per node {per_node}")
        before = vm.blocks()
        vm.hotplug_dimm("256M", node=1)
        added = vm.wait_until(lambda: new_blocks(before, vm.blocks()), timeout=30,
                              what="hot-added blocks")
        ctx.check({b["node"] for b in added.values()} == {1},
                  "hot-added DIMM on node 1 gives node-1 blocks", diag=added)


def kernel_nvdimm(ctx):
    """NVDIMMs -> devdax namespaces -> daxX.Y; memmap_on_memory is writable; kmem works."""
    with ctx.vm(nvdimms=[Nvdimm("1G"), Nvdimm("1G")],
                cmdline=["memory_hotplug.memmap_on_memory=1"]) as vm:
        ctx.booted(vm)
        for region in (0, 1):
            dev = f"dax{region}.0"
            out = vm.sh(f"ndctl create-namespace -f -e namespace{region}.0 -m devdax 2>&1",
                        timeout=60)
            ctx.check(vm.run(f"test -d /sys/bus/dax/devices/{dev}", check=False)[0] == 0,
                      f"devdax namespace on region{region} gives {dev}", diag=out, fatal=True)
        drv = vm.sh("basename $(readlink /sys/bus/dax/devices/dax0.0/driver)").strip()
        ctx.check(drv == "device_dax", f"dax0.0 bound to {drv}")
        # The daemon must set this before kmem binds; prove the kernel lets it.
        mom = vm.run("echo 1 > /sys/bus/dax/devices/dax0.0/memmap_on_memory && "
                     "cat /sys/bus/dax/devices/dax0.0/memmap_on_memory", check=False)
        ctx.check(mom[0] == 0 and mom[1].strip() == "1",
                  "dax0.0 memmap_on_memory can be set to 1", diag=mom[1])
        before = vm.blocks()
        out = vm.sh("daxctl reconfigure-device -m system-ram --no-online dax0.0 2>&1",
                    timeout=60)
        added = new_blocks(before, vm.blocks())
        ctx.check(added and states(added) == ["offline"],
                  f"kmem hot-added {len(added)} offline blocks", diag=out)
        drv = vm.sh("basename $(readlink /sys/bus/dax/devices/dax0.0/driver)").strip()
        ctx.check(drv == "kmem", f"dax0.0 now bound to {drv}")


KERNEL = {
    "kernel-boot": kernel_boot,
    "kernel-hotplug": kernel_hotplug,
    "kernel-virtio-mem": kernel_virtio_mem,
    "kernel-numa": kernel_numa,
    "kernel-nvdimm": kernel_nvdimm,
    **scenarios_kernels.SCENARIOS,
}
SCENARIOS = {**KERNEL, **scenarios_daemon.SCENARIOS, **scenarios_placement.SCENARIOS,
             **scenarios_cxl.SCENARIOS, **scenarios_pressure.SCENARIOS, **scenarios_unplug.SCENARIOS,
             **scenarios_jobs.SCENARIOS, **scenarios_doctor.SCENARIOS, **scenarios_map.SCENARIOS,
             **scenarios_headroom.SCENARIOS, **scenarios_daxreport.SCENARIOS,
             **scenarios_daxstate.SCENARIOS}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", help="default: all")
    ap.add_argument("--daemon", help="memhotplugd binary to run in the guest")
    ap.add_argument("--ctl", help="memhotplugctl binary to put in the guest")
    ap.add_argument("--log-dir", help="keep each VM's console log here")
    ap.add_argument("--kernel", help="get-kernel --version every VM boots (default 6.12); the "
                    "scenarios that name their own kernel (dax-6.1, cxl-6.1) keep it")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo the console")
    args = ap.parse_args()
    select_kernel(args.kernel)
    if args.list:
        for name, fn in SCENARIOS.items():
            # Some scenarios are wrapped and carry no docstring.
            doc = (fn.__doc__ or "").strip()
            print(f"{name:24} {doc.splitlines()[0] if doc else ''}")
        return 0
    names = args.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s) {', '.join(unknown)}; see --list")

    tap = Tap()
    t_all = time.monotonic()
    for name in names:
        fn = SCENARIOS[name]
        ctx = Ctx(tap, name, args)
        if name not in KERNEL and not args.daemon:
            tap.skip(name, "no --daemon given")
            continue
        t0 = time.monotonic()
        try:
            fn(ctx)
        except Failed:
            pass
        except (VMError, OSError, AssertionError, ValueError) as e:
            tap.ok(False, f"{name}: ran to completion", diag=f"{e}\n{traceback.format_exc()}")
        tap.note(f"{name}: {time.monotonic() - t0:.1f}s")
    tap.note(f"total {time.monotonic() - t_all:.1f}s")
    tap.note(f"{tap.passed} passed, {tap.failed} failed, {tap.skipped} skipped")
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
