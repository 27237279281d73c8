#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests of Online=auto-movable: the real daemon over a sysfs tree with boot memory
online in the kernel zone and offline DIMMs (ACPI PNP0C80 devices linked to their blocks) on two
nodes. Checks which zone every block was written to, that no DIMM is split across zones, and that
the journal line carries the arithmetic.

The last scenario runs the daemon on a private bus and reads the NodePlacement property,
memhotplugctl status (the per-node accounting and headroom), and memhotplugctl plan and --json
plan (the arithmetic of a DIMM left offline).

Usage: test-placement.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]
Output is TAP. Needs Debian's /usr/bin/python3 (for gi) and gir1.2-umockdev-1.0.
"""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BUS_NAME, BusSetup, Client, PrivateBus, ctl  # noqa: E402
from harness import BASE_DAEMON, Bed, Block, check, scenario, tail, wait_until  # noqa: E402

busclient.init(__doc__)

# 256 MiB blocks (the harness's). Node 0: 2G of boot memory, node 1: 512M.
BOOT = [(i, 0) for i in range(8)] + [(8, 1), (9, 1)]
# ACPI memory devices: name -> (node, block indices)
DIMMS = {
    "PNP0C80:00": (0, range(10, 18)),  # 2G
    "PNP0C80:01": (0, range(18, 34)),  # 4G
    "PNP0C80:02": (1, range(34, 38)),  # 1G
    "PNP0C80:03": (1, range(38, 42)),  # 1G
}


def make_bed(dimms=DIMMS, plain=True, zones=None):
    """Boot memory and the DIMMs; zones: name -> valid_zones of that DIMM's offline blocks."""
    # Block 0 spans DMA and DMA32: an online block across two zones shows "none".
    blocks = [Block(i, node, state="online", zones=("none",) if i == 0 else ("Normal",)) for i, node in BOOT]
    for name, (node, indices) in dimms.items():
        blocks += [Block(i, node, zones=(zones or {}).get(name, ("Normal", "Movable"))) for i in indices]
    bed = Bed(blocks, plain=plain)
    for name, (node, indices) in dimms.items():
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
        # At info level once per reason (the arithmetic of the DIMM, then "has memory in a kernel
        # zone" for the rest of one that crossed), not once per block: the others at debug.
        for group in ("PNP0C80:02", "PNP0C80:03"):
            info = d.find(r"^info: memory\d+: Queued: .*group %s " % group)
            debug = d.find(r"^debug: memory\d+: Queued: .*group %s " % group)
            check(1 <= len(info) <= 2 and len(debug) >= 1, "%s: %d info and %d debug 'Queued' lines:\n%s"
                  % (group, len(info), len(debug), "\n".join(d.lines[k] for k in info + debug)))

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


def hot_add(bed, blocks):
    """One hot-add as the kernel makes it: every block announced, then all linked to their node;
    returns once the daemon onlined them, as the policy said (bed.emu.expect)."""
    for b in blocks:
        bed.add_block(b, link_node=False)
    for b in blocks:
        bed.link_node(b)
    bed.emu.wait_online([b.index for b in blocks])
    bed.emu.settle()
    check(not bed.emu.errors, "kernel emulator: %s" % bed.emu.errors)


BURST_CHECKS = ["hot-add burst: 16 blocks that no device groups, added in one burst, go to one zone: "
                "4G over 1G of boot memory crosses 301%, so all to the kernel zone, none split off to Movable",
                "hot-add burst: the journal names the burst's group and its arithmetic",
                "hot-add burst: a later burst of 2 blocks is a group of its own and fits: Movable"]


@scenario(BURST_CHECKS)
def test_hot_add_burst(case):
    # Boot: 1G on node 0 (block 0 spans DMA and DMA32). Then memory no ACPI device, dax device or
    # virtio-mem device owns (the probe interface, Hyper-V, Xen): 16 blocks of 256M announced one
    # after the other and linked to their node once all exist, as the kernel does. The kernel would
    # decide them one at a time: 12 movable (3G <= 301% of 1G), 4 in the kernel zone.
    boot = [Block(i, 0, state="online", zones=("none",) if i == 0 else ("Normal",)) for i in range(4)]
    bed = Bed(boot)
    d = None
    try:
        bed.write_config(BASE_DAEMON + "\n[Memory]\nOnline=auto-movable\n")
        d = bed.daemon()
        d.wait_line(r"Listening for memory uevents")
        burst = [Block(i, 0) for i in range(4, 20)]

        def one_zone():
            for b in burst:
                bed.emu.expect(b.index, "online_kernel")
            hot_add(bed, burst)
            zones = {b.index: bed.read_attr(b.index, "valid_zones") for b in burst}
            check(set(zones.values()) == {"Normal"}, "zones: %s\n%s" % (zones, tail(d)))

        def reason():
            check(d.find(r"memory4: Queued: \[Memory\] Online=auto-movable: group hot-add memory4-19 \(4G\): "
                         r"system: movable 4G / kernel 1G = 400% > 301% -> kernel zone"), tail(d))

        def second():
            later = [Block(i, 0) for i in (24, 25)]
            for b in later:
                bed.emu.expect(b.index, "online_movable")
            hot_add(bed, later)
            check(d.find(r"memory24: Queued: \[Memory\] Online=auto-movable: group hot-add memory24-25 \(512M\)"),
                  tail(d))

        case.run(BURST_CHECKS[0], one_zone)
        case.run(BURST_CHECKS[1], reason)
        case.run(BURST_CHECKS[2], second)
    finally:
        if d:
            d.kill()
        bed.cleanup()


PLAN_QUEUED_CHECKS = ["plan, while a group's blocks are queued: they show the decision they were queued with, "
                      "arithmetic included, not a dry run that counts the group's own queued blocks against it"]


@scenario(PLAN_QUEUED_CHECKS)
def test_plan_queued(case):
    # The burst above, under KernelAutoOnline=respect with the kernel's auto-online on: the daemon
    # gives the kernel RetrySec to online each block, so that the whole burst is queued in one job
    # before anything is onlined; then two blocks a minute.
    boot = [Block(i, 0, state="online", zones=("none",) if i == 0 else ("Normal",)) for i in range(4)]
    s = BusSetup()
    try:
        s.bus = PrivateBus()
        s.bed = bed = Bed(boot, auto_online="online")
        bed.bus_address = s.bus.address
        bed.write_config(BASE_DAEMON + "ChunkBlocks=2\nChunkPauseSec=60\nRetrySec=3s\n\n"
                         "[Memory]\nOnline=auto-movable\n")
        s.client = Client(s.bus.address)
        s.daemon = d = bed.daemon()
        case.daemon = d
        d.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
        burst = [Block(i, 0) for i in range(4, 20)]
        for b in burst:
            bed.emu.expect(b.index, "online_kernel")
        for b in burst:
            bed.add_block(b, link_node=False)
        for b in burst:
            bed.link_node(b)
        bed.emu.wait_online([4])
        time.sleep(0.5)
        reason = ("[Memory] Online=auto-movable: group hot-add memory4-19 (4G): system: movable 4G / kernel 1G = "
                  "400% > 301% -> kernel zone")

        def queued():
            check(busclient.CTL, "memhotplugctl is not built")
            first = min(b.index for b in burst if bed.read_attr(b.index, "state") != "online")
            out = ctl(s.bus.address, "--json=short", "plan")
            check(out.returncode == 0, out.stderr)
            rows = json.loads(out.stdout)
            case.note(out.stdout)
            check([(r["FirstBlock"], r["LastBlock"], r["Action"], r["Zone"], r["Reason"], r.get("Note"))
                   for r in rows] == [(first, 19, "online", "Normal", reason, "queued")],
                  "plan: %r\n%s" % (rows, tail(d)))
            # The journal's lines for the rest of the group say the same (at debug level: repeated).
            check(d.find(r"memory19: Queued: " + re.escape(reason)), tail(d))

        case.run(PLAN_QUEUED_CHECKS[0], queued)
    finally:
        s.close()


VIRTIO_STATUS_CHECK = ("virtio-mem: memhotplugctl status prints the ratio the kernel's rule compares (0% of 301%: "
                       "the device's movable memory is backed by its own kernel memory and boot memory), not "
                       "movable over boot memory (375%), next to the headroom that is its rest")
VIRTIO_CHECKS = ["virtio-mem: the blocks /proc/iomem (a fixture given with --iomem, read again from the same "
                 "open file when a block is not in it) says virtio5 added are its dynamic group, as in the kernel: "
                 "MMMMMMMMMMMMKMMM, each block it puts in the kernel zone carrying three more movable ones",
                 "virtio-mem: the journal names the device's unit and the arithmetic; no block drifts; the "
                 "headroom in NodePlacement leaves the device's share of boot memory out",
                 "virtio-mem, addresses hidden (as to a daemon started without CAP_SYS_ADMIN): said once in the "
                 "journal and in PlatformDefault, and the blocks are decided one at a time (no hot-add group)",
                 VIRTIO_STATUS_CHECK]

# virtio5's region from block 4 (256M blocks), as the kernel shows it to a reader with CAP_SYS_ADMIN.
IOMEM_HEAD = ("00000000-00000fff : Reserved\n"
              "00001000-3fffffff : System RAM\n"
              "40000000-23fffffff : PCI Bus 0000:00\n"
              "  40000000-23fffffff : virtio5\n")


def virtio_run(hidden):
    """Boot 1G, then 16 blocks of 256M hot-added in one burst; returns (daemon, bed, zones string)."""
    boot = [Block(i, 0, state="online", zones=("none",) if i == 0 else ("Normal",)) for i in range(4)]
    s = BusSetup()
    s.bus = PrivateBus()
    s.bed = bed = Bed(boot)
    bed.bus_address = s.bus.address
    with open(bed.iomem, "w") as f:
        f.write(re.sub(r"[0-9a-f]+-[0-9a-f]+ :", "00000000-00000000 :", IOMEM_HEAD) if hidden else IOMEM_HEAD)
    bed.write_config(BASE_DAEMON + "\n[Memory]\nOnline=auto-movable\n")
    s.client = Client(s.bus.address)
    s.daemon = d = bed.daemon()
    d.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
    burst = [Block(i, 0) for i in range(4, 20)]
    # The device adds its memory now: the kernel's resource first, then the blocks. Written into the
    # same file (not replaced), as the daemon keeps the one it opened.
    ram = "    40000000-13fffffff : System RAM (virtio_mem)\n"
    if hidden:
        ram = "    00000000-00000000 : System RAM (virtio_mem)\n"
    with open(bed.iomem, "a") as f:
        f.write(ram)
    hot_add(bed, burst)
    zones = "".join("M" if bed.read_attr(b.index, "valid_zones") == "Movable" else "K" for b in burst)
    return s, zones


@scenario(VIRTIO_CHECKS)
def test_virtio_mem(case):
    out = {}

    def grouped():
        out["s"], zones = virtio_run(False)
        case.daemon = out["s"].daemon
        check(zones == "MMMMMMMMMMMMKMMM", "zones %s\n%s" % (zones, tail(out["s"].daemon)))

    def reason():
        d = out["s"].daemon
        lines = "\n".join(line for line in d.lines if re.search(r"memory1[67]: Queued", line))
        # 13 blocks over 1G of boot memory; then the device's own 256M in the kernel zone counts.
        check(d.find(r"memory16: Queued: \[Memory\] Online=auto-movable: virtio5 unit \(256M\): system: movable "
                     r"\S+ / kernel 1G = 325% > 301% -> kernel zone"), lines)
        check(d.find(r"memory17: Queued: \[Memory\] Online=auto-movable: virtio5 unit \(256M\): system: movable "
                     r"\S+ / kernel \S+ = 260% <= 301%"), lines)
        check("not grouped" not in out["s"].client.prop("PlatformDefault"), out["s"].client.prop("PlatformDefault"))
        # Headroom as the kernel would count it for a new group: virtio5's 15 movable blocks need
        # 983040 * 100 / 301 pages of boot memory, less its own 65536 in the kernel zone; what is left
        # of 1G (1089 pages) allows 301% of it, 3277 pages.
        rows = {r[0]: tuple(r[1:]) for r in out["s"].client.prop("NodePlacement")}
        check(rows[-1][4] == 3277 * PAGE, "NodePlacement %r" % rows)
        # ... and the ratio it is the rest of: none of the movable memory is virtio5's alone to count,
        # against the 1089 pages of boot memory virtio5 leaves.
        check(rows[-1][7:] == (0, 1089 * PAGE), "NodePlacement %r" % rows)
        # Decided again one at a time, each block would go where it is: no drift.
        check(out["s"].client.prop("DriftBlocks") == 0, "DriftBlocks %r" % out["s"].client.prop("DriftBlocks"))

    def hidden():
        s, zones = virtio_run(True)
        try:
            case.daemon = s.daemon
            d = s.daemon
            check(len(d.find(r"hides its addresses from this daemon \(started without CAP_SYS_ADMIN\)")) == 1,
                  tail(d))
            check("virtio-mem devices are not grouped" in s.client.prop("PlatformDefault"),
                  s.client.prop("PlatformDefault"))
            # Alone, each block goes movable while 301% of 1G holds: 12 of them.
            check(zones == "MMMMMMMMMMMMKKKK", "zones %s\n%s" % (zones, tail(d)))
            check(not d.find(r"group hot-add"), tail(d))
        finally:
            s.close()

    def status():
        check(busclient.CTL, "memhotplugctl is not built")
        p = ctl(out["s"].bus.address, "status")
        case.note(p.stdout)
        check(p.returncode == 0, p.stderr)
        m = re.search(r"^\s*Placement: kernel \S+ \(boot 1G\), movable 3\.8G \(memmap on device 0B\): "
                      r"(\d+)% of 301%$", p.stdout, re.M)
        room = re.search(r"another (\S+) may go movable in the system", p.stdout)
        check(m and room, "status lacks the system's placement:\n%s" % p.stdout)
        # A ratio past the limit next to room for more would contradict itself.
        check(int(m.group(1)) <= 301 and room.group(1) != "0B",
              "status says %s%% of 301%% and another %s may go movable:\n%s" % (m.group(1), room.group(1), p.stdout))
        check(m.group(1) == "0", "ratio %s%%, want 0%%:\n%s" % (m.group(1), p.stdout))
        check(re.search(r"the kernel compares movable 0B / kernel 4\.3M: virtio-mem devices' movable memory is "
                        r"backed by their own kernel memory and 1019\.\dM of boot memory", p.stdout), p.stdout)
        out_json = ctl(out["s"].bus.address, "--json=short", "status")
        rows = {r["Node"]: r for r in json.loads(out_json.stdout)["NodePlacement"]}
        check((rows[None]["CountedMovableBytes"], rows[None]["CountedKernelBytes"]) == (0, 1089 * PAGE),
              "--json status: %r" % rows[None])

    try:
        case.run(VIRTIO_CHECKS[0], grouped)
        case.run(VIRTIO_CHECKS[1], reason)
        case.run(VIRTIO_STATUS_CHECK, status)
    finally:
        if "s" in out:
            out["s"].close()
    case.run(VIRTIO_CHECKS[2], hidden)


PAGE = 4096
G = 1 << 30
M = 1 << 20
BS = int(harness.FAKE_BLOCK_SIZE, 16)


def headroom(ratio, boot, movable):
    """What the daemon computes, in pages as the kernel does."""
    limit = ratio * (boot // PAGE) // 100 * PAGE
    return max(limit - movable, 0)


def fake_platform(bed, vendor, balloon_driver, bus="virtio", device="virtio3"):
    """A DMI vendor and a balloon driver with a device bound, in the bed's sysfs."""
    dmi = os.path.join(bed.sys_dir, "class/dmi/id")
    os.makedirs(dmi, exist_ok=True)
    with open(os.path.join(dmi, "sys_vendor"), "w") as f:
        f.write(vendor + "\n")
    with open(os.path.join(dmi, "product_name"), "w") as f:
        f.write("Virtual Machine\n")
    drv = os.path.join(bed.sys_dir, "bus", bus, "drivers", balloon_driver)
    os.makedirs(os.path.join(drv, device), exist_ok=True)
    open(os.path.join(drv, "bind"), "w").close()


@scenario(["platform default: a Hyper-V guest with hv_balloon onlines hot-added memory into the kernel's "
           "zone (Online=online) when the config does not say, and logs why"])
def test_platform_hyperv(case):
    def default():
        bed = make_bed()
        try:
            fake_platform(bed, "Microsoft Corporation", "hv_balloon", bus="vmbus",
                          device="1eccfd72-4b41-45ef-b73a-4a6e44c12924")
            for node, indices in DIMMS.values():
                for i in indices:
                    bed.emu.expect(i, "online")
            bed.write_config(BASE_DAEMON)
            d = bed.daemon("--once")
            rc = d.wait_exit()
            check(rc == 0, "exit status %d\n%s" % (rc, tail(d)))
            bed.emu.settle()
            check(not bed.emu.errors, "kernel emulator: %s" % bed.emu.errors)
            check(d.find(r"Online=platform means Online=online here: \S+, hyperv virtual machine with hv_balloon "
                         r"\(its pages do not migrate\): the kernel's zone"), tail(d))
        finally:
            bed.cleanup()

    case.run("platform default: a Hyper-V guest with hv_balloon onlines hot-added memory into the kernel's "
             "zone (Online=online) when the config does not say, and logs why", default)


def start_settled(case, s):
    """The daemon on s's bus and bed, once it has onlined the DIMMs and its job is over."""
    s.client = Client(s.bus.address)
    s.daemon = s.bed.daemon()
    case.daemon = s.daemon
    s.daemon.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
    s.bed.emu.wait_online([i for name, (n, ix) in DIMMS.items() for i in ix])
    s.bed.emu.settle()
    wait_until(lambda: tuple(s.client.prop("JobProgress")) == (0, 0, 0), what="JobProgress (0, 0, 0)")


def status_has(case, s, patterns):
    """memhotplugctl status succeeds and has a line matching each of patterns."""
    check(busclient.CTL, "memhotplugctl is not built")
    out = ctl(s.bus.address, "status")
    case.note(out.stdout)
    check(out.returncode == 0, out.stderr)
    for pat in patterns:
        check(re.search(pat, out.stdout, re.M), "status lacks /%s/:\n%s" % (pat, out.stdout))


STATUS_CHECKS = ["NodePlacement: boot kernel, kernel, movable and headroom per node and system-wide, "
                 "as the zones the DIMMs went to",
                 "memhotplugctl status: a Placement line per node with the ratio and 'another X may go movable'",
                 "memhotplugctl plan and --json plan: the DIMM that valid_zones keeps out, with the arithmetic; "
                 "PlatformDefault and status's 'Platform default' line in a KVM guest, no Online= in the config"]


@scenario(STATUS_CHECKS)
def test_status_and_plan(case):
    # A fifth DIMM on node 1 that the policy would put in Movable but whose blocks only offer Normal.
    dimms = dict(DIMMS, **{"PNP0C80:04": (1, range(42, 44))})
    s = BusSetup()
    try:
        s.bus = PrivateBus()
        s.bed = make_bed(dimms, plain=False, zones={"PNP0C80:04": ("Normal",)})
        s.bed.bus_address = s.bus.address
        for i in range(42, 44):
            s.bed.emu.expect(i, None)
        # No Online=: the platform default, auto-movable in a KVM guest with virtio-balloon.
        fake_platform(s.bed, "QEMU", "virtio_balloon")
        s.bed.write_config(BASE_DAEMON)
        start_settled(case, s)

        def prop():
            rows = {r[0]: tuple(r[1:]) for r in s.client.prop("NodePlacement")}
            case.note("NodePlacement: %r" % rows)
            # No virtio-mem device: the kernel's rule compares movable and boot kernel memory as they are.
            want = {
                -1: (2560 * M, 3584 * M, 7 * G, 0, headroom(301, 2560 * M, 7 * G), 301, True, 7 * G, 2560 * M),
                0: (2 * G, 2 * G, 6 * G, 0, min(headroom(301, 2 * G, 6 * G), headroom(301, 2560 * M, 7 * G)), 301,
                    True, 6 * G, 2 * G),
                1: (512 * M, 1536 * M, 1 * G, 0, min(headroom(301, 512 * M, G), headroom(301, 2560 * M, 7 * G)), 301,
                    True, 1 * G, 512 * M),
            }
            check(rows == want, "NodePlacement %r, want %r" % (rows, want))

        def status():
            status_has(case, s, (r"Placement: kernel 3\.5G \(boot 2\.5G\), movable 7G \(memmap on device 0B\): "
                                 r"280% of 301%",
                                 r"another 537\.6M may go movable in the system",
                                 r"Placement node 1: kernel 1\.5G \(boot 512M\), movable 1G \(memmap on device 0B\): "
                                 r"200% of 301%",
                                 r"another 517\.1M may go movable on node 1",
                                 r"another 20\.5M may go movable on node 0"))

        def plan():
            check(busclient.CTL, "memhotplugctl is not built")
            p = s.client.prop("PlatformDefault")
            check(re.fullmatch(r"auto-movable: \S+, kvm virtual machine with virtio_balloon: movable while the ratio "
                               r"holds", p), "PlatformDefault %r" % p)
            out = ctl(s.bus.address, "status")
            check(re.search(r"Platform default: Online=auto-movable: \S+, kvm virtual machine", out.stdout), out.stdout)
            reason = ("[Memory] Online=auto-movable: group PNP0C80:04 (512M): system: movable 7.5G / kernel 2.5G = "
                      "300% <= 301%, node 1: movable 1.5G / kernel 512M = 300% <= 301% -> Movable, "
                      "but valid_zones is \"Normal\"")
            out = ctl(s.bus.address, "plan")
            case.note(out.stdout)
            check(out.returncode == 0 and "42-43" in out.stdout and reason in out.stdout,
                  "plan lacks %r:\n%s%s" % (reason, out.stdout, out.stderr))
            out = ctl(s.bus.address, "--json=short", "plan")
            rows = json.loads(out.stdout)
            check([(r["FirstBlock"], r["LastBlock"], r["Action"], r["Reason"]) for r in rows] ==
                  [(42, 43, "skip", reason)], "--json plan: %r" % rows)

        case.run(STATUS_CHECKS[0], prop)
        case.run(STATUS_CHECKS[1], status)
        case.run(STATUS_CHECKS[2], plan)
    finally:
        s.close()


HEADROOM_CHECKS = ["HotAddHeadroom: per node and system-wide, free less the high watermark and protection of the "
                   "kernel zones (not ZONE_MOVABLE's), in whole 256M blocks at 4M of memmap each, and what of it "
                   "may go movable as NodePlacement says",
                   "HotAddHeadroom: read when asked: less free memory, less headroom; the struct page size from "
                   "/proc/vmstat's memmap counters (80 B: 5M a block)",
                   "memhotplugctl status: a Headroom line per node with the arithmetic in words, and --json",
                   "HotAddHeadroom: no rows, and status still works, where /proc/zoneinfo is missing"]


def zoneinfo(nodes):
    """A /proc/zoneinfo: nodes is {node: [(zone, free, high, protection), ...]} in zone order."""
    out = ""
    for node, zones in sorted(nodes.items()):
        for name, free, high, prot in zones:
            out += ("Node %d, zone %8s\n  pages free     %d\n        boost    0\n        min      %d\n"
                    "        low      %d\n        high     %d\n        spanned  0\n        present  0\n"
                    "        protection: (%s)\n  pagesets\n    cpu: 0\n              count:    5\n"
                    "              high:     99999\n              batch:    63\n"
                    % (node, name, free, high // 2, high * 3 // 4, high, ", ".join(map(str, prot))))
    return out


def expected_headroom(zones, node, struct_page):
    """The headroom in bytes as docs/PLACEMENT.md defines it, worked out here on its own."""
    free = reserve = 0
    for n, nz in zones.items():
        if node >= 0 and n != node:
            continue
        top = max(i for i, z in enumerate(nz) if z[0] not in ("Movable", "Device"))
        for name, f, high, prot in nz:
            if name in ("Movable", "Device"):
                continue
            free += f
            reserve += min(f, high + prot[top])
    per_block = -(-(BS // PAGE) * struct_page // PAGE) * PAGE
    return (free - reserve) * PAGE // per_block * BS


@scenario(HEADROOM_CHECKS)
def test_headroom(case):
    zones = {
        0: [("DMA", 3000, 10, (0, 100, 500, 500, 500)), ("DMA32", 200000, 2000, (0, 0, 1000, 1000, 1000)),
            ("Normal", 100000, 1500, (0, 0, 0, 0, 0)), ("Movable", 400000, 50, (0, 0, 0, 0, 0)),
            ("Device", 0, 0, (0, 0, 0, 0, 0))],
        1: [("DMA", 0, 0, (0, 0, 0, 0, 0)), ("DMA32", 0, 0, (0, 0, 0, 0, 0)),
            ("Normal", 60000, 600, (0, 0, 0, 0, 0)), ("Movable", 100000, 20, (0, 0, 0, 0, 0)),
            ("Device", 0, 0, (0, 0, 0, 0, 0))],
    }
    memmap_block = BS // PAGE * 64 // PAGE  # pages of memmap a block needs at 64 B a page
    s = BusSetup()
    try:
        s.bus = PrivateBus()
        s.bed = make_bed(plain=False)
        s.bed.bus_address = s.bus.address

        def put(name, text):
            with open(os.path.join(s.bed.proc_dir, name), "w") as f:
                f.write(text)

        put("zoneinfo", zoneinfo(zones))
        put("vmstat", "nr_free_pages 1\nnr_memmap_pages %d\nnr_memmap_boot_pages %d\n"
            % (32 * memmap_block, 10 * memmap_block))
        s.bed.write_config(BASE_DAEMON + "\n[Memory]\nOnline=auto-movable\n")
        start_settled(case, s)

        def rows():
            r = {row[0]: tuple(row[1:]) for row in s.client.prop("HotAddHeadroom")}
            case.note("HotAddHeadroom: %r" % r)
            return r

        def per_node():
            got = rows()
            movable = {r[0]: r[5] for r in s.client.prop("NodePlacement")}
            check(sorted(got) == [-1, 0, 1], "rows for %r, want the system, node 0 and node 1" % sorted(got))
            for node in (-1, 0, 1):
                free = sum(z[1] for n, nz in zones.items() for z in nz
                           if (node < 0 or n == node) and z[0] not in ("Movable", "Device")) * PAGE
                h = expected_headroom(zones, node, 64)
                want_movable = min(h, movable[node])
                check(got[node][0] == free, "node %d: free %d, want %d" % (node, got[node][0], free))
                # The testbed has no memory_hotplug parameters: memmap_on_memory is off.
                check(got[node][2:7] == (64, PAGE, h, want_movable, False),
                      "node %d: %r, want 64 B, %d, headroom %d, movable %d, no memmap_on_memory"
                      % (node, got[node][2:7], PAGE, h, want_movable))
            # The figures of the arithmetic above, by hand: node 0 keeps 510 + 3000 + 1500 pages back
            # and has 297990 pages (1.1G) for memmaps, 4M a block: 291 blocks.
            check(got[0][1] == 5010 * PAGE and got[0][4] == 291 * BS, "node 0: %r" % (got[0],))
            check(got[1][4] == 58 * BS and got[-1][4] == 349 * BS, "nodes 1, -1: %r" % (got,))

        def live():
            before = rows()[0][4]
            z = dict(zones)
            z[0] = [(n, f // 2 if n == "DMA32" else f, h, p) for n, f, h, p in zones[0]]
            try:
                put("zoneinfo", zoneinfo(z))
                after = rows()
                check(after[0][4] == expected_headroom(z, 0, 64) < before,
                      "node 0 after 100000 pages went: %d, before %d" % (after[0][4], before))
                put("vmstat", "nr_memmap_pages %d\nnr_memmap_boot_pages %d\n" % (32 * 1280, 10 * 1280))
                after = rows()
                check(after[0][2] == 80 and after[0][4] == expected_headroom(z, 0, 80),
                      "80 B a page: %r, want headroom %d" % (after[0], expected_headroom(z, 0, 80)))
            finally:
                put("zoneinfo", zoneinfo(zones))
                put("vmstat", "nr_memmap_pages %d\nnr_memmap_boot_pages %d\n"
                    % (32 * memmap_block, 10 * memmap_block))

        def status():
            status_has(case, s, (r"Headroom: a hot-add of up to 87\.3G is safe now \(537\.6M of it movable\)",
                                 r"system: free 1\.4G - reserve 21\.9M = 1\.4G for memmaps: 87\.3G at 64 B per 4K "
                                 r"page \(4M per 256M block\); of it 537\.6M may go movable$",
                                 r"Headroom node 0: a hot-add of up to 72\.8G is safe now",
                                 r"node 0: free 1\.2G - reserve 19\.6M = 1\.1G for memmaps: 72\.8G at 64 B",
                                 r"Headroom node 1: a hot-add of up to 14\.5G is safe now"))
            out = ctl(s.bus.address, "--json=short", "status")
            h = {r["Node"]: r for r in json.loads(out.stdout)["HotAddHeadroom"]}
            check(h[0]["HeadroomBytes"] == 291 * BS and h[None]["StructPageBytes"] == 64 and
                  h[1]["Reason"].startswith("node 1: free 234.4M - reserve 2.3M"), "--json status: %r" % h)

        def missing():
            os.unlink(os.path.join(s.bed.proc_dir, "zoneinfo"))
            check(s.client.prop("HotAddHeadroom") == [], "rows without zoneinfo: %r" % s.client.prop("HotAddHeadroom"))
            out = ctl(s.bus.address, "status")
            check(out.returncode == 0 and "Headroom" not in out.stdout, out.stdout + out.stderr)

        case.run(HEADROOM_CHECKS[0], per_node)
        case.run(HEADROOM_CHECKS[1], live)
        case.run(HEADROOM_CHECKS[2], status)
        case.run(HEADROOM_CHECKS[3], missing)
    finally:
        s.close()


DRIFT_CHECKS = ["drift: blocks found online in Movable under Online=kernel are reported by Plan (action rezone, "
                "with the reason), DriftBlocks and status, and left where they are",
                "drift: memhotplugctl rezone refuses a block without drift (boot memory) and writes nothing"]


@scenario(DRIFT_CHECKS)
def test_drift(case):
    s = BusSetup()
    try:
        s.bus = PrivateBus()
        blocks = [Block(i, node, state="online", zones=("Normal",)) for i, node in BOOT]
        blocks += [Block(i, 0, state="online", zones=("Movable",)) for i in range(10, 14)]
        s.bed = Bed(blocks)
        s.bed.bus_address = s.bus.address
        s.bed.write_config(BASE_DAEMON + "\n[Memory]\nOnline=kernel\n")
        s.client = Client(s.bus.address)
        s.daemon = s.bed.daemon()
        case.daemon = s.daemon
        s.daemon.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
        s.bed.emu.settle()

        def report():
            rows = [tuple(r) for r in s.client.call("Plan")[0]]
            drift = [r for r in rows if r[2] == "rezone"]
            check([r[0] for r in drift] == [10, 11, 12, 13], "Plan rows %r" % rows)
            check(all(r[3:6] == ("kernel", "Normal", "[Memory]") and
                      r[6] == "online in Movable, [Memory] Online=kernel" and
                      r[7] == "drift: memhotplugctl rezone %d" % r[0] for r in drift), "drift rows %r" % drift)
            check(s.client.prop("DriftBlocks") == 4, "DriftBlocks %r" % s.client.prop("DriftBlocks"))
            check(busclient.CTL, "memhotplugctl is not built")
            out = ctl(s.bus.address, "status")
            check(re.search(r"Drift: 4 online block\(s\) in a zone the policy would not choose", out.stdout), out.stdout)
            out = ctl(s.bus.address, "list", "-o", "BLOCK,ZONES,DRIFT")
            check(re.search(r"^\s*10-13\s+Movable\s+-> Normal\s*$", out.stdout, re.M), "list:\n" + out.stdout)
            out = ctl(s.bus.address, "--json=short", "list")
            drifted = [r for r in json.loads(out.stdout)["memory"] if r.get("drift")]
            check([(r["block"], r["drift"]) for r in drifted] == [("10-13", "Normal")], "list --json: %r" % drifted)
            check(not s.bed.emu.writes, "the daemon wrote by itself: %r" % s.bed.emu.writes)

        def refuse():
            # Moving the drifted blocks themselves needs a kernel that updates valid_zones as it
            # offlines (the emulator does it a moment later): the VM scenario placement-drift.
            out = ctl(s.bus.address, "rezone", "3")
            check(out.returncode == 1 and "memory3: not online in a zone the policy would not choose" in out.stderr,
                  "rezone of a boot block: %d %r" % (out.returncode, out.stderr))
            s.bed.emu.settle()
            check(not s.bed.emu.writes, "rezone wrote: %r" % s.bed.emu.writes)

        case.run(DRIFT_CHECKS[0], report)
        case.run(DRIFT_CHECKS[1], refuse)
    finally:
        s.close()


def main():
    return harness.main([test_numa_aware, test_node_ratio, test_not_numa_aware, test_platform_hyperv,
                         test_hot_add_burst, test_plan_queued, test_virtio_mem, test_status_and_plan, test_headroom,
                         test_drift])


if __name__ == "__main__":
    sys.exit(main())
