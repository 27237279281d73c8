#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhotplugctl map with the daemon running on a private bus: the blocks, their drift (Plan) and
the DIMMs of a fake tree drawn as the golden file says, the same picture with and without colour;
then the daemon stopped, the same tree read from sysfs.

Usage: test-map.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]
Output is TAP. Set MHP_UPDATE_GOLDEN=1 to write the golden files from what memhotplugctl prints.
"""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BUS_NAME, BusSetup, Client, PrivateBus, ctl  # noqa: E402
from harness import BASE_DAEMON, Bed, Block, check, scenario  # noqa: E402

busclient.init(__doc__)
# The golden pictures are 80 columns wide, and coloured only when asked.
os.environ["COLUMNS"] = "80"
os.environ.pop("NO_COLOR", None)

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "map")
ESC = re.compile(r"\033\[[0-9;]*m")


def golden(name, text):
    path = os.path.join(GOLDEN, name)
    if os.environ.get("MHP_UPDATE_GOLDEN") == "1":
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        want = f.read()
    check(text == want, "%s differs; got:\n%s" % (name, text))


def make_bed():
    """256M blocks. Node 0: 2G of boot memory (block 0 across DMA and DMA32), PNP0C80:00's 1G online
    in Movable. Node 1: 512M of boot memory, PNP0C80:01's 1G in the kernel zone, and two blocks
    left offline. Blocks 26-27 (node 1) belong to no device and are movable."""
    blocks = [Block(i, 0, state="online", zones=("none",) if i == 0 else ("Normal",)) for i in range(8)]
    blocks += [Block(i, 1, state="online", zones=("Normal",)) for i in (8, 9)]
    blocks += [Block(i, 0, state="online", zones=("Movable",)) for i in range(10, 14)]
    blocks += [Block(i, 1, state="online", zones=("Normal",)) for i in range(16, 20)]
    blocks += [Block(i, 1, state="offline") for i in (20, 21)]
    blocks += [Block(i, 1, state="online", zones=("Movable",)) for i in (26, 27)]
    bed = Bed(blocks, plain=True)
    for name, indices in (("PNP0C80:00", range(10, 14)), ("PNP0C80:01", range(16, 20))):
        d = os.path.join(bed.sys_dir, "bus/acpi/devices", name)
        os.makedirs(d)
        for k, i in enumerate(indices):
            os.symlink("../../../../devices/system/memory/memory%d" % i,
                       os.path.join(d, "physical_node%s" % (k or "")))
    return bed


CHECKS = ["map from the daemon: boot memory, the DIMMs under their ranges, drift from Plan, offline "
          "blocks: the golden picture, without colour (not a terminal)",
          "map from the daemon with --color=always: the same picture in colour (golden), and without "
          "its escape codes the same letters",
          "map with the daemon stopped: the same tree from sysfs, no drift (golden)"]


@scenario(CHECKS)
def test_map(case):
    s = BusSetup()
    try:
        s.bus = PrivateBus()
        s.bed = bed = make_bed()
        bed.bus_address = s.bus.address
        # Node 0 takes hot-added memory into the kernel zone: its movable DIMM has drifted. Node 1
        # leaves new memory offline; what is online stays where it is.
        bed.write_config(BASE_DAEMON + "\n[Node 0]\nOnline=kernel\n\n[Node 1]\nOnline=offline\n")
        for i in (20, 21):
            bed.emu.expect(i, None)
        s.client = Client(s.bus.address)
        s.daemon = d = bed.daemon()
        case.daemon = d
        d.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
        bed.emu.settle()
        check(busclient.CTL, "memhotplugctl is not built")
        env = ["--root", os.path.dirname(bed.sys_dir)]
        plain = {}

        def daemon_plain():
            out = ctl(s.bus.address, "map", *env)
            check(out.returncode == 0, out.stderr)
            case.note(out.stdout)
            plain["text"] = out.stdout
            golden("daemon.txt", out.stdout)

        def daemon_color():
            out = ctl(s.bus.address, "map", "--color=always", *env)
            check(out.returncode == 0, out.stderr)
            golden("daemon-color.txt", out.stdout)
            check(ESC.sub("", out.stdout) == plain.get("text"), "without colour codes:\n" + ESC.sub("", out.stdout))

        def sysfs():
            s.daemon.kill()
            s.daemon = None
            out = ctl(s.bus.address, "map", *env)
            check(out.returncode == 0, out.stderr)
            golden("sysfs.txt", out.stdout)

        case.run(CHECKS[0], daemon_plain)
        case.run(CHECKS[1], daemon_color)
        case.run(CHECKS[2], sysfs)
    finally:
        s.close()


def main():
    return harness.main([test_map])


if __name__ == "__main__":
    sys.exit(main())
