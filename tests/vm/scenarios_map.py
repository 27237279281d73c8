# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhotplugctl map in the VM (driven by test_vm.py): after a DIMM hot-added on node 1, the
picture shows its range as movable, online memory on node 1, marked as that DIMM."""

import os
import re
import time

from scenarios_daemon import (REPO, check_zone, config, daemon_log, daemon_vm, online_or_fail,
                              start_daemon, wait_new_blocks)
from vm import VMError

ESC = re.compile(r"\033\[[0-9;]*m")


def parse_map(text):
    """{'scale': blocks a cell, 'rows': {node: (low, cells, marks, {mark: (name, source, range)})}}"""
    m = re.search(r"^Scale: 1 cell = \S+ \((\d+) blocks?\b", text, re.M)
    rows = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        h = re.match(r"node (\d+)  0x([0-9a-f]+)-0x[0-9a-f]+  ", line)
        if not h:
            continue
        cells = lines[i + 1][2:]
        marks, devices = "", {}
        for extra in lines[i + 2:]:
            d = re.match(r"  (\S) (\S+)\s+(\S+)\s+\S+  0x([0-9a-f]+)-0x([0-9a-f]+)", extra)
            if d:
                devices[d.group(1)] = (d.group(2), d.group(3), int(d.group(4), 16), int(d.group(5), 16))
            elif extra.startswith("  ") and not devices:
                marks = extra[2:]
            else:
                break
        rows[int(h.group(1))] = (int(h.group(2), 16), cells, marks, devices)
    return {"scale": int(m.group(1)) if m else None, "rows": rows}


def map_hotadd(ctx):
    """Two nodes; a 512 MiB DIMM hot-added on node 1 and onlined movable: memhotplugctl map shows
    its cells M on node 1's row, marked as the DIMM whose range is the new blocks'."""
    if not ctx.args.ctl:
        ctx.tap.skip(f"{ctx.name}: memhotplugctl", "no --ctl given")
        return
    policy = os.path.join(REPO, "units", "org.memhotplug1.conf")
    with daemon_vm(ctx, numa_nodes=2,
                   files=[(policy, "/usr/share/dbus-1/system.d/org.memhotplug1.conf")]) as vm:
        ctx.booted(vm)
        vm.start_dbus()
        start_daemon(ctx, vm, config())
        try:
            vm.wait_until(lambda: vm.run("memhotplugctl status", check=False)[0] == 0,
                          timeout=30, what="memhotplugctl status")
        except VMError as e:
            ctx.check(False, "memhotplugctl status answers", diag=f"{e}\n{daemon_log(vm)}", fatal=True)
        bs = vm.block_size()
        before = vm.blocks()
        t0 = time.monotonic()
        vm.hotplug_dimm("512M", node=1)
        added = sorted(wait_new_blocks(vm, before, 512 * 2**20 // bs))
        online_or_fail(ctx, vm, added, "hot-added node-1 DIMM", since=t0)
        check_zone(ctx, vm, added, "Movable", "Online=movable")
        dimm = vm.acpi_memory_device(added)

        rc, text = vm.run("COLUMNS=80 memhotplugctl map", check=False, timeout=60)
        ctx.note("memhotplugctl map:\n" + text)
        ctx.check(rc == 0 and text.startswith("Memory map by NUMA node, from memhotplugd."),
                  "map answers from the daemon", diag=text, fatal=True)
        rc, color = vm.run("COLUMNS=80 memhotplugctl map --color=always", check=False, timeout=60)
        ctx.note("memhotplugctl map --color=always (escape codes as \\033):\n" + color.replace("\033", "\\033"))
        ctx.check(rc == 0 and "\033[42;30m" in color and ESC.sub("", color) == text,
                  "--color=always: the same picture, movable cells in green", diag=color)
        if ctx.args.log_dir:
            with open(os.path.join(ctx.args.log_dir, f"{ctx.name}-color.txt"), "w") as f:
                f.write(color)

        parsed = parse_map(text)
        row = parsed["rows"].get(1)
        ctx.check(row and parsed["scale"], "map has a row for node 1 and a scale", diag=text, fatal=True)
        low, cells, marks, devices = row
        cell = parsed["scale"] * bs
        mark = [k for k, d in devices.items() if d[0] == dimm]
        ctx.check(len(mark) == 1 and devices[mark[0]][1:] == ("DIMM", added[0] * bs, (added[-1] + 1) * bs - 1),
                  f"node 1 lists {dimm} as a DIMM over the new blocks' range", diag=f"{devices}\n{text}",
                  fatal=True)
        idx = sorted({b * bs // cell - low // cell for b in added})
        bad = [i for i in idx if i >= len(cells) or cells[i] != "M" or i >= len(marks) or marks[i] != mark[0]]
        ctx.check(not bad, f"node 1's cells {idx[0]}-{idx[-1]}: M (movable, online), marked {mark[0]}",
                  diag=f"cells {bad} wrong\n{text}")
        # The DIMM is on node 1 only: no other row marks it.
        others = [n for n, r in parsed["rows"].items() if n != 1 and any(d[0] == dimm for d in r[3].values())]
        ctx.check(not others, f"{dimm} is on no other node's row", diag=text)
        ctx.check(re.search(r"^node 1 .*, \S+ online$", text, re.M), "node 1's totals line", diag=text)
        ctx.note(daemon_log(vm)[-2000:])


SCENARIOS = {
    "map": map_hotadd,
}
