#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's files include one another only down the stage order (issue 20), the way policy/
and ctl/ are held by their include paths.

Stages, top to bottom: bus, outcome, onliner, decide, intake, then the kernel-facing modules
(kernel), then base (shared utilities: log, event-util, fileio, the time constants, the message
ids). A daemon/ file may include the headers of its own stage and of the stages below it;
what must go up (intake handing a ready block to decide, decide queueing it, the onliner reporting
an outcome) goes through the stage's hook struct (IntakeHooks, DecideHooks, OnlinerHooks) that
manager.c wires. There is no allowance: every include up the order fails. main.c and manager.c are "top": they hold and wire every stage and may include
anything, and nothing includes them.

manager.h is "top" too, but includable: every stage still takes a Manager today, so any daemon/
file but a base one may include it, and manager.h itself may include anything. That is a hole:
a kernel file reaches the onliner's queue.h through it. It closes as the stages take their state
out of the Manager. Only direct includes count; headers outside daemon/ (common/, policy/, the
system's) are held by the include paths and are not looked at here.

Fails with "file:line: includes X (stage S) from stage T" on an include up the order, on a daemon/
file that STAGES does not place (a new file must be placed), and on a file STAGES names that is
gone. Comments are not code: a commented-out include does not count.

--report prints the stage graph (which stage includes which, and how often) for the docs."""

import importlib.util
import os
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from tap import Tap  # noqa: E402

# The include scanner of the bus-boundary check, so that both read an include the same way.
_path = os.path.join(HERE, "test-bus-boundary.py")
_spec = importlib.util.spec_from_file_location("bus_boundary", _path)
bus_boundary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bus_boundary)

# Top to bottom. "top" is above every stage; "base" below every stage.
ORDER = ["top", "bus", "outcome", "onliner", "decide", "intake", "kernel", "base"]
RANK = {stage: i for i, stage in enumerate(ORDER)}

# The headers every stage but base may include although they are above it (see the docstring).
INCLUDABLE = {"manager.h"}

STAGES = {
    # Holds and wires every stage.
    "main.c": "top",
    "manager.c": "top",
    "manager.h": "top",
    # D-Bus: validates, authorises, asks the core; hears outcomes as outcome.c's subscriber.
    "bus.c": "bus",
    "bus.h": "bus",
    "bus-internal.h": "bus",
    "bus-block.c": "bus",
    "bus-budget.c": "bus",
    "bus-device.c": "bus",
    "bus-introspect.c": "bus",
    "bus-log-control.c": "bus",
    "bus-manager.c": "bus",
    "bus-objects.c": "bus",
    "bus-placement.c": "bus",
    "bus-request.c": "bus",
    "bus-signal.c": "bus",
    "bus-tiering.c": "bus",
    "bus-unplug.c": "bus",
    # The one place every block outcome goes through.
    "outcome.c": "outcome",
    "outcome.h": "outcome",
    # Counters fed by outcome.c, and the metrics text and file made of them and the core's state.
    "metrics.c": "outcome",
    "metrics.h": "outcome",
    # The online memory a capacity-changed event announces, and its runtime file.
    "capacity.c": "outcome",
    "capacity.h": "outcome",
    # What an outcome is: the onliner makes them and hands them up (OnlinerHooks).
    "outcome-types.h": "onliner",
    # The queue, the chunks, the job, the offline thread.
    "onliner.c": "onliner",
    "onliner.h": "onliner",
    "queue.c": "onliner",
    "queue.h": "onliner",
    "state-writer.c": "onliner",
    "state-writer.h": "onliner",
    # The record of the blocks held offline (Block.hold) across restarts.
    "offline-marks.c": "onliner",
    "offline-marks.h": "onliner",
    # Refresh -> decide -> act; queues and reports through DecideHooks.
    "blocks.c": "decide",
    "blocks.h": "decide",
    # Whether an unplug target's memory can go: a verdict from the block and device tables, for
    # the bus; the offlining itself is the onliner's.
    "unplug.c": "decide",
    "unplug.h": "decide",
    "unplug-target.c": "decide",
    "unplug-target.h": "decide",
    # Uevents and scans in, blocks out "ready" (planned: issue 20's intake module).
    "intake.c": "intake",
    "intake.h": "intake",
    # Dax devices: their uevents and scans, the wait for their driver (a pending device holds its
    # blocks back), their conversion to system RAM; their blocks then arrive as memory uevents.
    # Decide reads a block's device (devices_owner_of_block()), so devices sit below it.
    "devices.c": "intake",
    "devices.h": "intake",
    "devices-act.c": "intake",
    "devices-report.c": "intake",
    "devices-hotplug.c": "intake",
    "devices-internal.h": "intake",
    "device-log.c": "intake",
    "device-log.h": "intake",
    # The facts decide reads (zones per node, groups, the ACPI and virtio-mem maps, drift) and
    # the ACPI-binding wait that intake applies: below decide, so that both may read them.
    "placement-facts.c": "intake",
    "placement-facts.h": "intake",
    # The headroom's facts: zoneinfo and vmstat, and the placement's counts for what may go movable.
    "headroom-facts.c": "intake",
    "headroom-facts.h": "intake",
    # Kernel-facing: sysfs, the kernel's knobs and the process's own settings; no stage.
    "sysfs.c": "kernel",
    "sysfs.h": "kernel",
    "memblock.c": "kernel",
    "memblock.h": "kernel",
    "dax.c": "kernel",
    "dax.h": "kernel",
    "dax-convert.c": "kernel",
    "dax-convert.h": "kernel",
    "dlopen-dax.c": "kernel",
    "dlopen-dax.h": "kernel",
    "cxl.c": "kernel",
    "cxl.h": "kernel",
    "acpi-memory.c": "kernel",
    "acpi-memory.h": "kernel",
    "virtio-mem.c": "kernel",
    "virtio-mem.h": "kernel",
    "monitor.c": "kernel",
    "monitor.h": "kernel",
    "uevent-parse.c": "kernel",
    "uevent-parse.h": "kernel",
    "platform-facts.c": "kernel",
    "platform-facts.h": "kernel",
    "kernel-info.c": "kernel",
    "kernel-info.h": "kernel",
    "zoneinfo.c": "kernel",
    "zoneinfo.h": "kernel",
    "kernel-auto.c": "kernel",
    "kernel-auto.h": "kernel",
    "kernel-delegate.c": "kernel",
    "kernel-delegate.h": "kernel",
    "saved-settings.c": "kernel",
    "saved-settings.h": "kernel",
    "tiers.c": "kernel",
    "tiers.h": "kernel",
    "tiering.c": "kernel",
    "tiering.h": "kernel",
    "caps.c": "kernel",
    "caps.h": "kernel",
    "memlock.c": "kernel",
    "memlock.h": "kernel",
    # Shared utilities any stage may include.
    # A block's life and hold, and every move of them: what the table holds, for every stage.
    "block.c": "base",
    "block.h": "base",
    "log.c": "base",
    "log.h": "base",
    "event-util.c": "base",
    "event-util.h": "base",
    "fileio.c": "base",
    "fileio.h": "base",
    "time-constants.h": "base",
    "message-ids.h": "base",
}

# Files STAGES places before they exist: other work of issue 20 adds them.
PLANNED = {"intake.c", "intake.h"}

def includes(text):
    """The quoted includes ("x.h") of one file's text as (line, header), comments left out."""
    code = bus_boundary.without_comments(text)
    return [
        (bus_boundary.line_of(code, mo.start()), mo.group(1))
        for mo in bus_boundary.INCLUDE.finditer(code)
    ]


def upward(name, header, stages):
    """Whether name's include of header goes up the order. Headers stages does not place are not
    daemon/ headers (common/, policy/): the include paths hold those."""
    stage, target = stages.get(name), stages.get(header)
    if stage is None or target is None or header == name:
        return False
    if header in INCLUDABLE and stage != "base":
        return False
    return RANK[target] < RANK[stage]


def violations(name, text, stages=STAGES):
    """The includes of one daemon/ file up the order, as "file:line: what" strings; a file stages
    does not place is one violation."""
    if name not in stages:
        return ["%s: not placed in a stage: add it to STAGES" % name]
    return [
        "%s:%d: includes %s (stage %s) from stage %s"
        % (name, line, header, stages[header], stages[name])
        for line, header in includes(text)
        if upward(name, header, stages)
    ]


def stage_graph(sources, stages=STAGES):
    """{(from stage, to stage or includable header): number of includes} over sources (name ->
    text)."""
    graph = {}
    for name, text in sources.items():
        for _, header in includes(text):
            if name in stages and header in stages and header != name:
                # The includable headers apart: they are what the stages still share.
                shared = header in INCLUDABLE and stages[name] != "top"
                edge = (stages[name], header if shared else stages[header])
                graph[edge] = graph.get(edge, 0) + 1
    return graph


def report(sources):
    """The stage graph, top to bottom."""
    graph = stage_graph(sources)
    lines = ["Stages, top to bottom: a stage's files, then -> what it includes (how many times)."]
    for stage in ORDER:
        files = sorted(n for n, s in STAGES.items() if s == stage and n in sources)
        lines.append("")
        text = "%s (%d files): %s" % (stage, len(files), " ".join(files))
        lines.extend(textwrap.wrap(text, 100, subsequent_indent="    ", break_on_hyphens=False))
        targets = sorted((t for f, t in graph if f == stage), key=lambda t: RANK.get(t, -1))
        edges = ", ".join("%s (%d)" % (t, graph[(stage, t)]) for t in targets)
        lines.append("  -> " + (edges or "nothing"))
    lines.append("")
    lines.append("Includable from every stage but base: %s" % ", ".join(sorted(INCLUDABLE)))
    return "\n".join(lines)


# What the check must find, and must let pass: (text, file name) by what it is.
BAD = {
    "an include of onliner.h from decide": ('#include "onliner.h"\n', "unplug.c"),
    "blocks.h from the kernel": ('#include "log.h"\n#include "blocks.h"', "memblock.c"),
    "an include of bus.h from outcome": ('  #  include "bus.h"\n', "outcome.c"),
    "an include of manager.h from base": ('#include "manager.h"\n', "log.h"),
    "an include of intake.h from the kernel": ('#include "intake.h"\n', "dax.c"),
    "an include of devices.h from the kernel": ('#include "devices.h"\n', "tiering.c"),
    "a file no stage holds": ("int x;\n", "newfile.c"),
    # The edges the hooks replaced: each would fail again.
    "an include of outcome.h from the onliner": ('#include "outcome.h"\n', "onliner.c"),
    "an include of onliner.h from decide (blocks.c)": ('#include "onliner.h"\n', "blocks.c"),
    "an include of outcome.h from decide": ('#include "outcome.h"\n', "blocks.c"),
    "an include of blocks.h from devices": ('#include "blocks.h"\n', "devices.c"),
    "an include of blocks.h from placement-facts": ('#include "blocks.h"\n', "placement-facts.c"),
}
GOOD = {
    "an include of its own stage": ('#include "onliner.h"\n#include "queue.h"\n', "onliner.c"),
    "includes down the order": ('#include "blocks.h"\n#include "sysfs.h"\n', "bus-manager.c"),
    "manager.h from the kernel": ('#include "manager.h"\n', "tiering.h"),
    "a commented-out include": ('/* #include "bus.h" */\n// #include "outcome.h"\n', "sysfs.c"),
    "common/ and policy/ headers": ('#include "strv.h"\n#include "policy.h"\n', "log.c"),
    "a system header": ("#include <onliner.h>\n", "dax.c"),
    "the outcome's types from the onliner": ('#include "outcome-types.h"\n', "onliner.c"),
    "top including every stage": ('#include "bus.h"\n#include "intake.h"\n', "manager.c"),
}


def self_check(tap):
    """The check itself can fail: each of BAD must be found, and none of GOOD; the line and the
    stages are named."""
    bus_boundary.self_check(tap, violations, BAD, GOOD)
    found = violations("memblock.c", BAD["blocks.h from the kernel"][0])
    want = ["memblock.c:2: includes blocks.h (stage decide) from stage kernel"]
    tap.ok(found == want, "self-check: names the line and the stages", "\n".join(found))


def read_sources(daemon_dir):
    sources = {}
    for name in sorted(os.listdir(daemon_dir)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(daemon_dir, name), encoding="utf-8") as f:
                sources[name] = f.read()
    return sources


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--report":
        print(report(read_sources(args[1])))
        return 0
    if len(args) != 1:
        print("usage: %s [--report] DAEMON-DIR" % sys.argv[0], file=sys.stderr)
        return 2
    sources = read_sources(args[0])
    tap = Tap()
    self_check(tap)
    tap.ok(
        "onliner.c" in sources and "manager.c" in sources,
        "%s holds the daemon's sources" % args[0],
    )
    gone = sorted(n for n in STAGES if n not in sources and n not in PLANNED)
    tap.ok(not gone, "every file STAGES places is in daemon/", "\n".join(gone))
    for name, text in sources.items():
        found = violations(name, text)
        tap.ok(not found, "daemon/%s includes only down the stage order" % name, "\n".join(found))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
