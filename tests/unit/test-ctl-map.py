#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhotplugctl map against fixed fake sysfs trees, the daemon not running: the output must be
the golden file's, byte for byte (with and without colour, and merged to fit narrow terminals),
and a 4 TiB machine must fit 80 columns.

Usage: test-ctl-map.py MEMHOTPLUGCTL GOLDEN_DIR [--update]
The trees are made here, in a temporary directory: the same each run.
"""

import os
import pty
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import Tap  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40


class Tree:
    """A sysfs tree as the kernel lays it out, only the parts map reads (the 4 TiB one is some 6000
    files: a few seconds on a disk under load)."""

    def __init__(self, root, block_size):
        self.root = root = os.path.join(root, "sys")
        self.bs = block_size
        self.mem = os.path.join(root, "devices/system/memory")
        os.makedirs(self.mem)
        self.write(self.mem, "block_size_bytes", "%x\n" % block_size)

    @staticmethod
    def write(d, name, text):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)

    def blocks(self, first, last, node, state, zone=None):
        for i in range(first, last + 1):
            d = os.path.join(self.mem, "memory%d" % i)
            os.makedirs(d)
            self.write(d, "state", state + "\n")
            # An online block names its zone; an offline one the zones it could go to.
            self.write(d, "valid_zones", (zone if state == "online" else "Normal Movable") + "\n")
            os.symlink("../../node/node%d" % node, os.path.join(d, "node%d" % node))

    def dimm(self, name, first, last):
        real = os.path.join(self.root, "devices/LNXSYSTM:00/LNXSYBUS:00", name)
        os.makedirs(real)
        for k, i in enumerate(range(first, last + 1)):
            os.symlink("../../../system/memory/memory%d" % i,
                       os.path.join(real, "physical_node" + (str(k) if k else "")))
        link = os.path.join(self.root, "bus/acpi/devices")
        os.makedirs(link, exist_ok=True)
        os.symlink(os.path.relpath(real, link), os.path.join(link, name))

    def dax(self, name, parent, start, size, node, driver):
        real = os.path.join(self.root, "devices", parent, name)
        os.makedirs(real)
        self.write(real, "resource", "0x%x\n" % start)
        self.write(real, "size", "%d\n" % size)
        self.write(real, "target_node", "%d\n" % node)
        drv = os.path.join(self.root, "bus/dax/drivers", driver)
        os.makedirs(drv, exist_ok=True)
        os.symlink(os.path.relpath(drv, real), os.path.join(real, "driver"))
        link = os.path.join(self.root, "bus/dax/devices")
        os.makedirs(link, exist_ok=True)
        os.symlink(os.path.relpath(real, link), os.path.join(link, name))


def small_tree(root):
    """Three nodes, 128M blocks: boot memory, movable, offline, one block being offlined, two
    DIMMs (one movable, one in the kernel zone), a CXL region onlined movable and an HMEM range
    left a device-dax device."""
    t = Tree(root, 128 * MiB)
    t.blocks(0, 7, 0, "online", "DMA32")
    t.blocks(8, 15, 0, "online", "Normal")
    t.blocks(16, 23, 1, "online", "Normal")
    t.blocks(24, 27, 1, "online", "Movable")
    t.blocks(28, 29, 1, "offline")
    t.blocks(30, 30, 1, "going-offline")
    t.blocks(31, 31, 1, "online", "Movable")
    t.blocks(40, 47, 1, "online", "Movable")
    t.dimm("PNP0C80:00", 40, 47)
    t.blocks(48, 51, 0, "online", "Normal")
    t.dimm("PNP0C80:01", 48, 51)
    t.blocks(64, 71, 2, "online", "Movable")
    t.dax("dax0.0", "platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0", 64 * 128 * MiB, GiB, 2,
          "kmem")
    t.dax("dax1.0", "platform/hmem.0", 72 * 128 * MiB, GiB, 2, "device_dax")
    # An empty slot: no block linked, nothing drawn.
    os.makedirs(os.path.join(t.root, "devices/LNXSYSTM:00/PNP0C80:02"))
    os.symlink("../../../devices/LNXSYSTM:00/PNP0C80:02", os.path.join(t.root, "bus/acpi/devices/PNP0C80:02"))


def tib4_tree(root):
    """4 TiB in 2G blocks (x86's block size from 64G up): 2T of boot memory on node 0; 1T of boot
    memory and a 512G DIMM onlined movable on node 1; a 512G CXL region, movable, on node 2."""
    bs = 2 * GiB
    t = Tree(root, bs)
    n = lambda size: size // bs  # noqa: E731
    t.blocks(0, n(2 * TiB) - 1, 0, "online", "Normal")
    t.blocks(n(2 * TiB), n(3 * TiB) - 1, 1, "online", "Normal")
    t.blocks(n(3 * TiB), n(3 * TiB + 512 * GiB) - 1, 1, "online", "Movable")
    t.dimm("PNP0C80:00", n(3 * TiB), n(3 * TiB + 512 * GiB) - 1)
    t.blocks(n(3 * TiB + 512 * GiB), n(4 * TiB) - 1, 2, "online", "Movable")
    t.dax("dax0.0", "platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0", 3 * TiB + 512 * GiB,
          512 * GiB, 2, "kmem")


ESC = re.compile(r"\033\[[0-9;]*m")


def on_terminal(argv, env):
    """What argv prints with a pseudo-terminal as its standard output."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(argv, env=env, stdout=slave, stderr=subprocess.DEVNULL)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        p.wait()
        return b"".join(chunks).decode(errors="replace")
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def main():
    ctl, golden = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv[3:]
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="map-") as tmp:
        env = dict(os.environ)
        # No daemon: a bus address that nobody listens on, so the map comes from the tree.
        env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + os.path.join(tmp, "no-bus")
        env.pop("NO_COLOR", None)
        trees = {}
        for name, make in (("small", small_tree), ("4tib", tib4_tree)):
            trees[name] = os.path.join(tmp, name)
            make(trees[name])

        cases = [
            ("small.txt", "small", ["--no-color"], {"COLUMNS": "80"}),
            ("small-color.txt", "small", ["--color=always"], {"COLUMNS": "80"}),
            # Not a terminal: letters, without being told.
            ("small.txt", "small", [], {"COLUMNS": "80"}),
            # A narrow terminal: two blocks a cell, the mixed cells in lowercase.
            ("small-40.txt", "small", ["--no-color"], {"COLUMNS": "40"}),
            ("4tib.txt", "4tib", ["--no-color"], {"COLUMNS": "80"}),
            ("4tib-color.txt", "4tib", ["--color"], {"COLUMNS": "80"}),
        ]
        for gold, tree, opts, extra in cases:
            e = dict(env, **extra)
            p = subprocess.run([ctl, "map", "--root", trees[tree]] + opts, env=e,
                               capture_output=True, text=True)
            path = os.path.join(golden, gold)
            if update and p.returncode == 0:
                with open(path, "w") as f:
                    f.write(p.stdout)
            with open(path) as f:
                want = f.read()
            tap.ok(p.returncode == 0 and p.stdout == want,
                   "map %s %s (COLUMNS=%s) is %s" % (tree, " ".join(opts) or "(no option, a pipe)",
                                                     extra["COLUMNS"], gold),
                   "exit %d, stderr:\n%s\ngot:\n%s" % (p.returncode, p.stderr, p.stdout))
            if tree == "4tib":
                wide = [ln for ln in p.stdout.splitlines() if len(ESC.sub("", ln)) > 80]
                tap.ok(not wide and "merged to fit 80 columns" in p.stdout,
                       "4 TiB fits 80 columns, and says the cells are merged",
                       "lines wider than 80:\n" + "\n".join(wide))

        # On a terminal: colour by default, none with NO_COLOR set (https://no-color.org).
        for no_color, want in ((None, True), ("1", False), ("", True)):
            e = dict(env, COLUMNS="80", TERM="xterm")
            if no_color is not None:
                e["NO_COLOR"] = no_color
            out = on_terminal([ctl, "map", "--root", trees["small"]], e)
            tap.ok(("\033[44;97mB" in out) == want and "node 2" in out,
                   "on a terminal, NO_COLOR=%r: %s" % (no_color, "colour" if want else "letters only"), out)

        # Not root: the kernel shows a dax device's resource to root only (0400), so the devices
        # cannot be placed; the map says so instead of leaving them out silently.
        if os.geteuid() == 0:
            os.chmod(tmp, 0o755)
            for dev in ("dax0.0", "dax1.0"):
                os.chmod(os.path.join(trees["small"], "sys/bus/dax/devices", dev, "resource"), 0o400)
            p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ctl, "map",
                                "--root", trees["small"], "--no-color"],
                               env=dict(env, COLUMNS="80"), capture_output=True, text=True)
            tap.ok(p.returncode == 0 and "2 dax device(s) not drawn: only root may read their ranges." in p.stdout
                   and "dax0.0" not in p.stdout and "PNP0C80:00" in p.stdout,
                   "not root: the dax devices whose ranges root only may read are counted, not drawn",
                   p.stdout + p.stderr)
        else:
            tap.skip("not root: the dax devices are counted, not drawn", "needs root to run as nobody")

        # --root is an absolute path, its trailing slashes dropped.
        p = subprocess.run([ctl, "map", "--root", trees["small"] + "//", "--no-color"],
                           env=dict(env, COLUMNS="80"), capture_output=True, text=True)
        with open(os.path.join(golden, "small.txt")) as f:
            tap.ok(p.returncode == 0 and p.stdout == f.read(), "--root DIR// reads DIR/sys", p.stdout + p.stderr)
        p = subprocess.run([ctl, "map", "--root", "relative"], env=env, capture_output=True, text=True)
        tap.ok(p.returncode == 2 and "absolute path" in p.stderr, "--root relative: a usage error", p.stderr)

        # NO_COLOR wins over nothing, but not over --color=always.
        e = dict(env, COLUMNS="80", NO_COLOR="1")
        p = subprocess.run([ctl, "map", "--root", trees["small"], "--color=always"], env=e,
                           capture_output=True, text=True)
        tap.ok("\033[" in p.stdout, "--color=always colours even with NO_COLOR set")
        p = subprocess.run([ctl, "map", "--root", os.path.join(tmp, "nothing")], env=env,
                           capture_output=True, text=True)
        tap.ok(p.returncode == 1 and "memhotplugd is not running" in p.stderr,
               "no daemon and no tree: exit 1 and says why", p.stderr)
        p = subprocess.run([ctl, "map", "--color=sometimes"], env=env, capture_output=True, text=True)
        tap.ok(p.returncode == 2, "--color=sometimes is a usage error (exit 2)", p.stderr)
        p = subprocess.run([ctl, "list", "--no-color"], env=env, capture_output=True, text=True)
        tap.ok(p.returncode == 2 and "option of map" in p.stderr, "--no-color is refused for list",
               p.stderr)
    print("1..%d" % tap.n)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
