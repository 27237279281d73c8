#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests of Online=auto-movable: the real daemon over a sysfs tree with boot memory
online in the kernel zone and offline DIMMs (ACPI PNP0C80 devices linked to their blocks) on two
nodes. Checks which zone every block was written to, that no DIMM is split across zones, and that
the journal line carries the arithmetic.

Usage: test-placement.py MEMHOTPLUGD FAULT_PRELOAD_SO
Output is TAP. Needs Debian's /usr/bin/python3 (for gi) and gir1.2-umockdev-1.0.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import BASE_DAEMON, Bed, Block, check, scenario, tail  # noqa: E402

if len(sys.argv) != 3:
    sys.stderr.write(__doc__)
    sys.exit(2)
harness.init(sys.argv[1], sys.argv[2])

# 256 MiB blocks (the harness's). Node 0: 2G of boot memory, node 1: 512M.
BOOT = [(i, 0) for i in range(8)] + [(8, 1), (9, 1)]
# ACPI memory devices: name -> (node, block indices)
DIMMS = {
    "PNP0C80:00": (0, range(10, 18)),  # 2G
    "PNP0C80:01": (0, range(18, 34)),  # 4G
    "PNP0C80:02": (1, range(34, 38)),  # 1G
    "PNP0C80:03": (1, range(38, 42)),  # 1G
}


def make_bed():
    blocks = [Block(i, node, state="online", zones=("Normal",)) for i, node in BOOT]
    for node, indices in DIMMS.values():
        blocks += [Block(i, node) for i in indices]
    bed = Bed(blocks, plain=True)
    for name, (node, indices) in DIMMS.items():
        d = os.path.join(bed.sys_dir, "bus/acpi/devices", name)
        os.makedirs(d)
        for k, i in enumerate(indices):
            link = "physical_node" if k == 0 else "physical_node%d" % k
            os.symlink("../../../../devices/system/memory/memory%d" % i, os.path.join(d, link))
    return bed


def run(config, expect_zone):
    """Runs the daemon once over the bed; returns (daemon, bed) after checking every DIMM block was
    written as expect_zone[name] says."""
    bed = make_bed()
    for name, (node, indices) in DIMMS.items():
        for i in indices:
            bed.emu.expect(i, "online_movable" if expect_zone[name] == "Movable" else "online_kernel")
    bed.write_config(BASE_DAEMON + config)
    d = bed.daemon("--once")
    rc = d.wait_exit()
    check(rc == 0, "exit status %d\n%s" % (rc, tail(d)))
    bed.emu.settle()
    check(not bed.emu.errors, "kernel emulator: %s" % bed.emu.errors)
    for name, (node, indices) in DIMMS.items():
        zones = {bed.read_attr(i, "valid_zones") for i in indices}
        check(zones == {expect_zone[name]}, "%s: blocks in %s, want all in %s\n%s" % (
            name, sorted(zones), expect_zone[name], tail(d)))
    return d, bed


@scenario(["auto-movable, NUMA-aware: both node-0 DIMMs fit (6G <= 301% of node 0's 2G), "
           "node 1's second DIMM crosses the system ratio and goes to the kernel zone, whole",
           "auto-movable: the journal line carries the arithmetic of the DIMM that crossed"])
def test_numa_aware(case):
    want = {"PNP0C80:00": "Movable", "PNP0C80:01": "Movable", "PNP0C80:02": "Movable", "PNP0C80:03": "Normal"}
    out = {}

    def zones():
        out["d"], out["bed"] = run("\n[Memory]\nOnline=auto-movable\n", want)

    def reason():
        d = out["d"]
        # System: 6G on node 0 and 1G of PNP0C80:02 already decided movable, plus this 1G, over
        # 2.5G of boot memory.
        check(d.find(r"memory38: Queued: \[Memory\] Online=auto-movable: group PNP0C80:03 \(1G\): "
                     r"system: movable 8G / kernel 2.5G = 320% > 301% -> kernel zone"), tail(d))
        check(d.find(r"memory34: Queued: \[Memory\] Online=auto-movable: group PNP0C80:02 \(1G\): "
                     r"system: movable 7G / kernel 2.5G = 280% <= 301%, "
                     r"node 1: movable 1G / kernel 512M = 200% <= 301% -> Movable"), tail(d))

    try:
        case.run("auto-movable, NUMA-aware: both node-0 DIMMs fit (6G <= 301% of node 0's 2G), "
                 "node 1's second DIMM crosses the system ratio and goes to the kernel zone, whole", zones)
        case.run("auto-movable: the journal line carries the arithmetic of the DIMM that crossed", reason)
    finally:
        if "bed" in out:
            out["bed"].cleanup()


@scenario(["auto-movable with a node's own ratio: [Node 1] MovableRatio=100 keeps its second DIMM in the "
           "kernel zone, [Memory] MovableRatio=400 lets node 0 take both"])
def test_node_ratio(case):
    # System: 400% of 2.5G = 10G. Node 0: 400% of 2G = 8G: both DIMMs (6G). Node 1: 100% of 512M:
    # not even the first 1G DIMM.
    want = {"PNP0C80:00": "Movable", "PNP0C80:01": "Movable", "PNP0C80:02": "Normal", "PNP0C80:03": "Normal"}

    def zones():
        d, bed = run("\n[Memory]\nOnline=auto-movable\nMovableRatio=400\n\n[Node 1]\nMovableRatio=100\n", want)
        bed.cleanup()

    case.run("auto-movable with a node's own ratio: [Node 1] MovableRatio=100 keeps its second DIMM in the "
             "kernel zone, [Memory] MovableRatio=400 lets node 0 take both", zones)


@scenario(["auto-movable, NumaAware=no: the same config as above but for NumaAware=no puts node 1's "
           "DIMMs in ZONE_MOVABLE too: only the system's 400% of 2.5G (8G of 10G) is checked"])
def test_not_numa_aware(case):
    want = {name: "Movable" for name in DIMMS}

    def zones():
        d, bed = run("\n[Memory]\nOnline=auto-movable\nMovableRatio=400\nNumaAware=no\n\n"
                     "[Node 1]\nMovableRatio=100\n", want)
        check(d.find(r"group PNP0C80:03 \(1G\): system: movable 8G / kernel 2.5G = 320% <= 400% -> Movable"),
              tail(d))
        bed.cleanup()

    case.run("auto-movable, NumaAware=no: the same config as above but for NumaAware=no puts node 1's "
             "DIMMs in ZONE_MOVABLE too: only the system's 400% of 2.5G (8G of 10G) is checked", zones)


def main():
    return harness.main([test_numa_aware, test_node_ratio, test_not_numa_aware])


if __name__ == "__main__":
    sys.exit(main())
