#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests of the D-Bus API org.memhotplug1 and of memhotplugctl.

Usage: test-dbus.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]

Each scenario starts a private dbus-daemon configured like a Debian system bus (default-deny for
method calls, no one may own names) that includes the project's own bus policy
(units/org.memhotplug1.conf), and the real daemon under umockdev against a testbed of fake memory
blocks (harness.py: the kernel emulator plays the kernel), connected to that bus through
DBUS_SYSTEM_BUS_ADDRESS. The daemon never sees the machine's system bus nor its /sys.

The test talks to the daemon with GDBus (python3-gi); calls as an unprivileged user run in a
child (setpriv to nobody), which prints what it got as JSON. A second private bus, whose
policy lets anyone call anything, shows that the daemon refuses unprivileged callers itself.

Output is TAP. MHP_TEST_ONLY=<substring of a scenario function's name> runs only those.
"""

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
from gi.repository import GLib  # noqa: E402
import harness  # noqa: E402
from busclient import Gio, GLib  # noqa: E402
from busclient import (  # noqa: E402
    BUS_NAME, MANAGER, PATH, PROPS, UNPRIVILEGED, BusSetup, Client, PrivateBus, as_user, unprivileged_env)
from harness import (  # noqa: E402
    FAKE_BLOCK_SIZE, SCANNED, TAP, TIMEOUT, Bed, Block, Daemon, check, scenario, wait_until)

busclient.init(__doc__)
CTL = busclient.CTL

BLOCK = "org.memhotplug1.Block"
BS = int(FAKE_BLOCK_SIZE, 16)
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
NOT_PERMITTED = "org.memhotplug1.Error.NotPermitted"
BASE = "[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\n"


# ---------------------------------------------------------------------------------------------
# Setup


class Setup(BusSetup):
    """A private bus, a testbed, the daemon connected to both, and a client."""

    def __init__(self, case, blocks, config, project_policy=True, auto_online="offline", params=None):
        self.bus = self.bed = self.daemon = self.client = None
        try:
            self.bus = PrivateBus(project_policy)
            self.bed = Bed(blocks, auto_online=auto_online)
            self.bed.bus_address = self.bus.address
            for name, value in (params or {}).items():
                d = self.bed.sys_dir + "/module/memory_hotplug/parameters"
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, name), "w") as f:
                    f.write(value + "\n")
            self.bed.write_config(config)
            self.client = Client(self.bus.address)
        except BaseException:
            self.close()
            raise
        self.case = case

    def start(self, *args, log_level="debug"):
        self.daemon = self.bed.daemon(*args, log_level=log_level)
        self.case.daemon = self.daemon
        if log_level == "debug":
            self.daemon.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
        else:
            wait_until(self._named, what="the daemon to own " + BUS_NAME)
        return self.daemon

    def _named(self):
        try:
            self.client.call("GetNameOwner", (BUS_NAME,), "(s)", path="/org/freedesktop/DBus",
                             iface="org.freedesktop.DBus", dest="org.freedesktop.DBus")
            return True
        except busclient.BusError:
            return False

    def wait_idle(self):
        """Until the daemon's job is over and the emulator has handled every write."""
        self.bed.emu.settle()
        wait_until(lambda: tuple(self.client.prop("JobProgress")) == (0, 0, 0), what="JobProgress (0, 0, 0)")
        self.bed.emu.settle()


# ---------------------------------------------------------------------------------------------
# Scenarios

def testbed_rows(bed, rule_of):
    """ListBlocks as the testbed says it should be: (index, node, state, zone, phys start, size,
    removable, rule), by index."""
    rows = []
    for i in sorted(bed.blocks):
        b = bed.blocks[i]
        state = bed.read_attr(i, "state")
        zone = bed.read_attr(i, "valid_zones").split()[0] if state == "online" else ""
        rows.append((i, b.node, state, zone, i * BS, BS, b.removable, rule_of(b.node)))
    return rows


def diff_rows(got, want):
    got, want = {r[0]: tuple(r) for r in got}, {r[0]: tuple(r) for r in want}
    lines = ["block %s: got %s, want %s" % (i, got.get(i), want.get(i))
             for i in sorted(set(got) | set(want)) if got.get(i) != want.get(i)]
    return "; ".join(lines[:8]) + (" (+%d more)" % (len(lines) - 8) if len(lines) > 8 else "")


def check_rows(client, bed, rule_of):
    rows = client.call("ListBlocks")[0]
    d = diff_rows(rows, testbed_rows(bed, rule_of))
    check(not d, "ListBlocks differs from the testbed: " + d)
    check([r[0] for r in rows] == sorted(r[0] for r in rows), "ListBlocks is not in block order")
    return rows


def values(bed, index):
    return [w.value for w in bed.emu.writes_to(index)]


def check_quiet(bed, indices, since, what):
    """No block in indices was written after write number since."""
    bed.emu.settle()
    with bed.emu.cond:
        late = [w for w in bed.emu.writes[since:] if w.index in indices]
    check(not late, "%s: written %s" % (what, late))


def n_writes(bed):
    bed.emu.settle()
    with bed.emu.cond:
        return len(bed.emu.writes)


def rule_node1(node):
    return "[Node 1]" if node == 1 else "[Memory]"


# 0-7 on node 0 (odd ones online in Normal from the start, the even ones onlined movable by the
# start job); 8-27 on node 1, all offline but 9 and 11, which [Node 1] Online=offline leaves so;
# 28 (node 0) can only go to Normal, so the movable policy skips it; 29 (node 0) is not removable.
API_CONFIG = BASE + "ChunkBlocks=2\nChunkPauseSec=300ms\nMaxAttempts=2\nRetrySec=100ms\n\n[Memory]\nOnline=movable\n\n[Node 1]\nOnline=offline\n"
API_PARAMS = {"online_policy": "contig-zones", "memmap_on_memory": "Y"}


def api_blocks():
    blocks = []
    for i in range(28):
        node = 0 if i < 8 else 1
        online = (i < 8 and i % 2 == 1) or i in (9, 11)
        blocks.append(Block(i, node, state="online", zones=("Normal",)) if online else Block(i, node))
    blocks.append(Block(28, 0, zones=("Normal",)))
    blocks.append(Block(29, 0, removable=False))
    return blocks


def start_api(case, config=API_CONFIG):
    s = Setup(case, api_blocks(), config, params=API_PARAMS)
    try:
        for i, b in s.bed.blocks.items():
            s.bed.emu.expect(i, None if b.state == "online" or b.node == 1 or i == 28 else "online_movable")
        s.start()
        s.bed.emu.wait_online([i for i, b in s.bed.blocks.items() if b.node == 0 and i != 28])
        s.wait_idle()
    except BaseException:
        s.close()
        raise
    return s


@scenario(["Manager properties: BlockSize, Version, ChunkBlocks, OnlinePolicy, KernelAutoOnline(Mode), "
           "KernelOnlinePolicy, MemmapOnMemory, MemmapPages/MemmapBootPages",
           "Manager properties: PresentBytes/OnlineBytes/OfflineBytes, NodeBytes, ZoneOnlineBytes match the "
           "testbed after the start job",
           "Manager properties: ConfigFiles, LastConfigError empty, JobProgress idle, BlocksOnlined/BlocksFailed "
           "count the start job",
           "ListBlocks matches the testbed (index, node, state, zone, phys start, size, removable, rule)",
           "Block objects: each /org/memhotplug1/block/N has the testbed's properties; GetManagedObjects and "
           "Introspect list every block; an unknown block (or block/008 for block 8) is UnknownObject",
           "Plan: blocks left offline by [Node 1] Online=offline (action offline) and by valid_zones (skip), "
           "with rule and reason"])
def test_properties(case):
    s = start_api(case)
    c, bed = s.client, s.bed
    try:
        props = c.props()
        case.note("properties: %r" % props)

        def static():
            check(props["BlockSize"] == BS, "BlockSize %r, want %d" % (props["BlockSize"], BS))
            v = Daemon([harness.DAEMON, "--version"], bed.env())
            v.wait_exit()
            check(re.search(r"\b%s\b" % re.escape(props["Version"]), " ".join(v.stdout + v.lines)) and
                  re.fullmatch(r"\d+(\.\d+)+\S*", props["Version"]),
                  "Version %r is not what memhotplugd --version says: %r" % (props["Version"], v.stdout))
            check(props["ChunkBlocks"] == 2, "ChunkBlocks %r" % props["ChunkBlocks"])
            check(props["OnlinePolicy"] == "movable", "OnlinePolicy %r" % props["OnlinePolicy"])
            check(props["KernelAutoOnline"] == "offline", "KernelAutoOnline %r" % props["KernelAutoOnline"])
            check(props["KernelAutoOnlineMode"] == "respect", "KernelAutoOnlineMode %r" % props["KernelAutoOnlineMode"])
            check(props["KernelOnlinePolicy"] == "contig-zones", "KernelOnlinePolicy %r" % props["KernelOnlinePolicy"])
            check(props["MemmapOnMemory"] == "yes", "MemmapOnMemory %r (the testbed says Y)" % props["MemmapOnMemory"])
            for k in ("MemmapPages", "MemmapBootPages"):
                check(isinstance(props[k], int) and (props[k] == -1 or props[k] >= 0), "%s %r" % (k, props[k]))
            # And with the module parameters absent, as on a kernel without them:
            shutil.rmtree(bed.sys_dir + "/module")
            check(c.prop("MemmapOnMemory") == "unsupported", "MemmapOnMemory %r without the parameter"
                  % c.prop("MemmapOnMemory"))
            check(c.prop("KernelOnlinePolicy") == "", "KernelOnlinePolicy %r without the parameter"
                  % c.prop("KernelOnlinePolicy"))

        case.run("Manager properties: BlockSize, Version, ChunkBlocks, OnlinePolicy, KernelAutoOnline(Mode), "
                 "KernelOnlinePolicy, MemmapOnMemory, MemmapPages/MemmapBootPages", static)

        def totals():
            rows = testbed_rows(bed, rule_node1)
            online = [r for r in rows if r[2] == "online"]
            check(props["PresentBytes"] == len(rows) * BS, "PresentBytes %d, want %d" % (props["PresentBytes"], len(rows) * BS))
            check(props["OnlineBytes"] == len(online) * BS, "OnlineBytes %d, want %d" % (props["OnlineBytes"], len(online) * BS))
            check(props["OfflineBytes"] == (len(rows) - len(online)) * BS, "OfflineBytes %d" % props["OfflineBytes"])
            want_nodes = []
            for node in sorted({r[1] for r in rows}):
                p = sum(BS for r in rows if r[1] == node)
                o = sum(BS for r in online if r[1] == node)
                want_nodes.append((node, p, o, p - o))
            check(sorted(tuple(n) for n in props["NodeBytes"]) == want_nodes,
                  "NodeBytes %r, want %r" % (props["NodeBytes"], want_nodes))
            want_zones = {}
            for r in online:
                want_zones[r[3]] = want_zones.get(r[3], 0) + BS
            check(dict(props["ZoneOnlineBytes"]) == want_zones and len(props["ZoneOnlineBytes"]) == len(want_zones),
                  "ZoneOnlineBytes %r, want %r" % (props["ZoneOnlineBytes"], want_zones))
            check(want_zones.get("Movable") == 5 * BS and want_zones.get("Normal") == 6 * BS,
                  "the testbed is not as planned: %r" % want_zones)

        case.run("Manager properties: PresentBytes/OnlineBytes/OfflineBytes, NodeBytes, ZoneOnlineBytes match the "
                 "testbed after the start job", totals)

        def config():
            check(props["ConfigFiles"] == [bed.config], "ConfigFiles %r, want [%r]" % (props["ConfigFiles"], bed.config))
            check(props["LastConfigError"] == "", "LastConfigError %r" % props["LastConfigError"])
            check(tuple(props["JobProgress"]) == (0, 0, 0), "JobProgress %r when idle" % (props["JobProgress"],))
            check(props["BlocksOnlined"] == 5, "BlocksOnlined %r, the start job onlined 5" % props["BlocksOnlined"])
            check(props["BlocksFailed"] == 0, "BlocksFailed %r" % props["BlocksFailed"])

        case.run("Manager properties: ConfigFiles, LastConfigError empty, JobProgress idle, BlocksOnlined/BlocksFailed "
                 "count the start job", config)

        def list_blocks():
            rows = check_rows(c, bed, rule_node1)
            check(len(rows) == 30, "%d rows" % len(rows))
            check(rows[29][6] is False and rows[0][6] is True, "Removable wrong: %r %r" % (rows[0], rows[29]))

        case.run("ListBlocks matches the testbed (index, node, state, zone, phys start, size, removable, rule)",
                 list_blocks)

        def objects():
            problems = []
            for row in testbed_rows(bed, rule_node1):
                i = row[0]
                path = "%s/block/%d" % (PATH, i)
                p = c.props(path=path, iface=BLOCK)
                # Index, PhysStart and Size are explicit: out of GetAll, there for Get.
                explicit = [k for k in ("Index", "PhysStart", "Size") if k in p]
                if explicit:
                    problems.append("block %d: GetAll has %s" % (i, explicit))
                p.update({k: c.prop(k, path=path, iface=BLOCK) for k in ("Index", "PhysStart", "Size")})
                got = (p["Index"], p["Node"], p["State"], p["Zone"], p["PhysStart"], p["Size"], p["Removable"], p["Rule"])
                if got != row:
                    problems.append("block %d: %r, want %r" % (i, got, row))
                if p["ValidZones"] != bed.read_attr(i, "valid_zones"):
                    problems.append("block %d: ValidZones %r, want %r" % (i, p["ValidZones"], bed.read_attr(i, "valid_zones")))
            check(not problems, "; ".join(problems[:6]))
            check(c.prop("State", path=PATH + "/block/8", iface=BLOCK) == "offline", "Get State of block 8")
            objs = c.call("GetManagedObjects", path=PATH, iface="org.freedesktop.DBus.ObjectManager")[0]
            want = {"%s/block/%d" % (PATH, i) for i in bed.blocks}
            got = {p for p, ifaces in objs.items() if BLOCK in ifaces}
            check(got == want, "GetManagedObjects lists %s, want %s" % (sorted(got), sorted(want)))
            check(objs[PATH + "/block/28"][BLOCK]["ValidZones"] == "Normal", "GetManagedObjects block 28: %r"
                  % objs[PATH + "/block/28"])
            # Each object with its own interface, the properties GetAll gives (no explicit ones).
            check(all(set(ifaces) == {BLOCK} for p, ifaces in objs.items() if p.startswith(PATH + "/block/")),
                  "GetManagedObjects interfaces: %r" % objs[PATH + "/block/28"])
            check(objs[PATH + "/block/28"][BLOCK] == c.props(path=PATH + "/block/28", iface=BLOCK),
                  "GetManagedObjects block 28 %r differs from its GetAll" % objs[PATH + "/block/28"])
            xml = c.call("Introspect", path=PATH + "/block", iface="org.freedesktop.DBus.Introspectable")[0]
            nodes = set(re.findall(r'<node name="(\d+)"/>', xml))
            check(nodes == {str(i) for i in bed.blocks}, "Introspect lists %s" % sorted(nodes, key=int))
            e = c.error_of("Get", (BLOCK, "State"), "(ss)", path=PATH + "/block/999", iface=PROPS)
            check(e.name == "org.freedesktop.DBus.Error.UnknownObject", "block 999: %s" % e)
            # A path names its block as the object was named: .../block/008 was answered as block 8.
            for p in ("008", "08", "8x", "4294967304"):
                e = c.error_of("Get", (BLOCK, "State"), "(ss)", path=PATH + "/block/" + p, iface=PROPS)
                check(e and e.name == "org.freedesktop.DBus.Error.UnknownObject", "block/%s: %s" % (p, e))

        case.run("Block objects: each /org/memhotplug1/block/N has the testbed's properties; GetManagedObjects and "
                 "Introspect list every block; an unknown block (or block/008 for block 8) is UnknownObject", objects)

        def plan():
            rows = {r[0]: r for r in c.call("Plan")[0]}
            want = {i for i, b in bed.blocks.items() if bed.read_attr(i, "state") == "offline"}
            check(set(rows) == want, "Plan lists %s, want the offline blocks %s" % (sorted(rows), sorted(want)))
            for i in want - {28}:
                r = rows[i]
                check(r[1:6] == (1, "offline", "", "", "[Node 1]") and "Online=offline" in r[6] and r[7] == "",
                      "Plan row for block %d: %r" % (i, r))
            r = rows[28]
            check(r[1:6] == (0, "skip", "", "", "[Memory]") and "valid_zones" in r[6] and "Normal" in r[6],
                  "Plan row for block 28: %r" % (r,))

        case.run("Plan: blocks left offline by [Node 1] Online=offline (action offline) and by valid_zones (skip), "
                 "with rule and reason", plan)
    finally:
        s.close()


def ubs(results):
    return [tuple(r) for r in results]


@scenario(["OnlineBlocks: movable/kernel/auto write online_movable/online_kernel/online; the a(ubs) reply comes "
           "after the writes and after the BlockStatesChanged carrying them, ListBlocks shows the zones",
           "OnlineBlocks across chunks (ChunkBlocks=2, 300ms pause): the reply waits for the last chunk",
           "OnlineBlocks: an online block is a success 'already in that state', a zone valid_zones lacks a failure",
           "OnlineBlocks/OfflineBlocks errors: NoSuchBlock, InvalidOnlineType, InvalidArgs for an empty list, "
           "TooManyBlocks; nothing written",
           "OnlineBlocks: a block the kernel refuses (EIO, MaxAttempts=2) is a failure with the errno's text, "
           "counted in BlocksFailed, noted in the Plan",
           "OfflineBlocks: written 'offline', BlockStatesChanged before the reply, the block stays offline across "
           "Rescan and Reload, Plan notes it; offline again is 'already in that state'; OnlineBlocks brings it back",
           "Reload with a bad config: ConfigInvalid naming file:line, LastConfigError set, the old policy kept",
           "Reload with a good config: success, LastConfigError empty, the new policy onlines what the old left "
           "offline and the failed block, the blocks offlined on request stay offline",
           "Rescan: a block that appeared without a uevent is found and onlined by policy"])
def test_methods(case):
    s = start_api(case)
    c, bed, emu = s.client, s.bed, s.bed.emu
    try:
        def types():
            for i, v in ((8, "online_movable"), (10, "online_movable"), (12, "online_kernel"), (13, "online")):
                emu.expect(i, v)
            c.record_wire()
            for blocks, kind in (([10, 8], "movable"), ([12], "kernel"), ([13], "auto")):
                wmark = c.wire_mark()
                res = c.call("OnlineBlocks", (blocks, kind), "(aus)")[0]
                t_reply = time.monotonic()
                check(ubs(res) == [(i, True, "") for i in sorted(blocks)], "OnlineBlocks(%s, %s) = %r" % (blocks, kind, res))
                wrong = busclient.states_before_reply(c.wire_since(wmark), "OnlineBlocks", [(i, "online") for i in blocks])
                check(not wrong, wrong)
                emu.settle()
                ws = [w for i in blocks for w in emu.writes_to(i)]
                check(len(ws) == len(blocks) and all(w.t_write <= t_reply for w in ws),
                      "writes %s, reply at %.3f" % (ws, t_reply))
            emu.wait_online([8, 10, 12, 13])
            for i, v in ((8, "online_movable"), (10, "online_movable"), (12, "online_kernel"), (13, "online")):
                check(values(bed, i) == [v], "memory%d got %s, want [%r]" % (i, values(bed, i), v))
            rows = {r[0]: r for r in c.call("ListBlocks")[0]}
            for i, zone in ((8, "Movable"), (10, "Movable"), (12, "Normal"), (13, "Normal")):
                check(rows[i][2:4] == ("online", zone), "ListBlocks row %r, want online in %s" % (rows[i], zone))

        case.run("OnlineBlocks: movable/kernel/auto write online_movable/online_kernel/online; the a(ubs) reply comes "
                 "after the writes and after the BlockStatesChanged carrying them, ListBlocks shows the zones", types)

        def chunks():
            blocks = [14, 15, 16, 17, 18]
            for i in blocks:
                emu.expect(i, "online_movable")
            t_call = time.monotonic()
            res = c.call("OnlineBlocks", (blocks, "movable"), "(aus)")[0]
            t_reply = time.monotonic()
            check(ubs(res) == [(i, True, "") for i in blocks], "reply %r" % res)
            emu.settle()
            ws = sorted((w for i in blocks for w in emu.writes_to(i)), key=lambda w: w.t_write)
            case.note("call %.3f, writes %s, reply %.3f" % (t_call, ws, t_reply))
            check(len(ws) == 5, "writes %s" % ws)
            check(ws[-1].t_write - ws[0].t_write >= 0.5, "3 chunks with 300ms pauses took %.3fs" % (ws[-1].t_write - ws[0].t_write))
            check(ws[-1].t_write <= t_reply, "the reply (%.3f) came before the last write (%.3f)" % (t_reply, ws[-1].t_write))
            emu.wait_online(blocks)

        case.run("OnlineBlocks across chunks (ChunkBlocks=2, 300ms pause): the reply waits for the last chunk", chunks)

        def mixed():
            emu.expect(19, "online_movable")
            n = n_writes(bed)
            res = c.call("OnlineBlocks", ([28, 19, 0, 19], "movable"), "(aus)")[0]
            check(ubs(res) == [(0, True, "already in that state"), (19, True, ""),
                               (28, False, "valid_zones does not offer that zone")], "reply %r" % res)
            emu.wait_online([19])
            check_quiet(bed, {0, 28}, n, "blocks 0 and 28")
            check(values(bed, 19) == ["online_movable"], "memory19 got %s" % values(bed, 19))
            check(bed.read_attr(28, "state") == "offline", "memory28 is not offline")

        case.run("OnlineBlocks: an online block is a success 'already in that state', a zone valid_zones lacks a failure",
                 mixed)

        def errors():
            n = n_writes(bed)
            cases = [
                ("OnlineBlocks", ([999], "movable"), "(aus)", "org.memhotplug1.Error.NoSuchBlock", r"999"),
                ("OnlineBlocks", ([21, 999], "movable"), "(aus)", "org.memhotplug1.Error.NoSuchBlock", r"999"),
                ("OfflineBlocks", ([1, 999],), "(au)", "org.memhotplug1.Error.NoSuchBlock", r"999"),
                ("OnlineBlocks", ([21], "sideways"), "(aus)", "org.memhotplug1.Error.InvalidOnlineType", r"sideways"),
                ("OnlineBlocks", ([21], "offline"), "(aus)", "org.memhotplug1.Error.InvalidOnlineType", r"offline"),
                ("OnlineBlocks", ([], "movable"), "(aus)", "org.freedesktop.DBus.Error.InvalidArgs", r"."),
                ("OfflineBlocks", ([],), "(au)", "org.freedesktop.DBus.Error.InvalidArgs", r"."),
                ("OnlineBlocks", (list(range(65537)), "movable"), "(aus)", "org.memhotplug1.Error.TooManyBlocks", r"65536"),
                ("OfflineBlocks", (list(range(65537)),), "(au)", "org.memhotplug1.Error.TooManyBlocks", r"65536"),
                # At the limit the list is accepted, and then its one unknown block is the error.
                ("OnlineBlocks", ([999] * 65536, "movable"), "(aus)", "org.memhotplug1.Error.NoSuchBlock", r"999"),
            ]
            for method, args, sig, name, msg in cases:
                e = c.error_of(method, args, sig)
                what = "%s(%s)" % (method, str(args)[:40])
                check(e.name == name, "%s: %s, want %s" % (what, e, name))
                check(re.search(msg, e.message), "%s: message %r lacks /%s/" % (what, e.message, msg))
            check_quiet(bed, set(bed.blocks), n, "after the refused calls")
            check(s.daemon.proc.poll() is None, "the daemon exited")

        case.run("OnlineBlocks/OfflineBlocks errors: NoSuchBlock, InvalidOnlineType, InvalidArgs for an empty list, "
                 "TooManyBlocks; nothing written", errors)

        def offline():
            emu.expect(2, "offline")
            wmark = c.wire_mark()
            res = c.call("OfflineBlocks", ([2],), "(au)")[0]
            t_reply = time.monotonic()
            check(ubs(res) == [(2, True, "")], "reply %r" % res)
            emu.wait_offline([2])
            emu.settle()
            ws = emu.writes_to(2)
            check([w.value for w in ws] == ["online_movable", "offline"], "memory2 got %s" % ws)
            check(ws[-1].t_write <= t_reply, "the reply came before the write")
            wrong = busclient.states_before_reply(c.wire_since(wmark), "OfflineBlocks", [(2, "offline")])
            check(not wrong, wrong)
            rows = [tuple(r) for w in c.wire_since(wmark) if w.member == "BlockStatesChanged" for r in w.args[0]
                    if r[0] == 2]
            check(rows == [(2, "offline", "")], "block 2's rows: %s" % rows)
            check(c.prop("State", path=PATH + "/block/2", iface=BLOCK) == "offline", "block 2 State")
            check(c.prop("ValidZones", path=PATH + "/block/2", iface=BLOCK) == "Normal Movable", "block 2 ValidZones")
            n = n_writes(bed)
            c.call("Rescan")
            c.call("Reload")
            time.sleep(0.5)
            s.wait_idle()
            check_quiet(bed, {2}, n, "memory2 after Rescan and Reload")
            check(bed.read_attr(2, "state") == "offline", "memory2 is %s" % bed.read_attr(2, "state"))
            plan = {r[0]: r for r in c.call("Plan")[0]}
            check(2 in plan, "Plan lacks block 2: %r" % sorted(plan))
            check(plan[2][2] == "none" and "offlined" in plan[2][7], "Plan row %r" % (plan[2],))
            res = c.call("OfflineBlocks", ([2],), "(au)")[0]
            check(ubs(res) == [(2, True, "already in that state")], "offline again: %r" % res)
            emu.expect(2, "online_movable")
            res = c.call("OnlineBlocks", ([2], "movable"), "(aus)")[0]
            check(ubs(res) == [(2, True, "")], "online again: %r" % res)
            emu.wait_online([2])
            check(values(bed, 2) == ["online_movable", "offline", "online_movable"], "memory2 got %s" % values(bed, 2))
            check(2 not in {r[0] for r in c.call("Plan")[0]}, "block 2 still in the Plan")
            # Offline it again for the reload below: a block offlined on request stays so.
            emu.expect(2, "offline")
            check(ubs(c.call("OfflineBlocks", ([2],), "(au)")[0]) == [(2, True, "")], "offline once more")
            emu.wait_offline([2])

        def failure():
            bed.set_fault(27, "EIO 2")  # both attempts; the reload below gets through
            emu.expect(27, "online_movable")
            failed = c.prop("BlocksFailed")
            res = c.call("OnlineBlocks", ([27], "movable"), "(aus)")[0]
            check(ubs(res) == [(27, False, os.strerror(errno.EIO))], "reply %r" % res)
            emu.settle()
            check([(w.value, w.result) for w in emu.writes_to(27)] == [("online_movable", "EIO")] * 2,
                  "memory27 got %s" % emu.writes_to(27))
            check(c.prop("BlocksFailed") == failed + 1, "BlocksFailed %r, was %r" % (c.prop("BlocksFailed"), failed))
            plan = {r[0]: r for r in c.call("Plan")[0]}
            check(27 in plan and "failed" in plan[27][7], "Plan row %r" % (plan.get(27),))
            check(bed.read_attr(27, "state") == "offline", "memory27 is not offline")

        case.run("OnlineBlocks: a block the kernel refuses (EIO, MaxAttempts=2) is a failure with the errno's text, "
                 "counted in BlocksFailed, noted in the Plan", failure)

        case.run("OfflineBlocks: written 'offline', BlockStatesChanged before the reply, the block stays offline across "
                 "Rescan and Reload, Plan notes it; offline again is 'already in that state'; OnlineBlocks brings it back",
                 offline)

        left = [i for i in range(20, 28)]  # node 1, left offline by the policy

        def bad_reload():
            n = n_writes(bed)
            text = API_CONFIG.replace("ChunkBlocks=2\n", "ChunkBlocks=3\n") + "\n[Node 1]\nOnline=kernel\nBogus=1\n"
            line = text.count("\n", 0, text.index("Bogus=1")) + 1
            bed.write_config(text)
            e = c.error_of("Reload")
            check(e.name == "org.memhotplug1.Error.ConfigInvalid", "Reload: %s" % e)
            where = "%s:%d:" % (bed.config, line)
            check(where in e.message, "the error %r does not name %s" % (e.message, where))
            err = c.prop("LastConfigError")
            check(where in err, "LastConfigError %r does not name %s" % (err, where))
            check(c.prop("ChunkBlocks") == 2, "ChunkBlocks %r: the bad config was applied" % c.prop("ChunkBlocks"))
            time.sleep(0.3)
            check_quiet(bed, set(left), n, "node 1 after the failed reload")

        case.run("Reload with a bad config: ConfigInvalid naming file:line, LastConfigError set, the old policy kept",
                 bad_reload)

        def good_reload():
            n = n_writes(bed)
            for i in left:
                emu.expect(i, "online_kernel")
            bed.write_config(API_CONFIG.replace("ChunkBlocks=2\nChunkPauseSec=300ms\n", "ChunkBlocks=4\n")
                             .replace("[Node 1]\nOnline=offline", "[Node 1]\nOnline=kernel"))
            c.call("Reload")
            check(c.prop("LastConfigError") == "", "LastConfigError %r after a good reload" % c.prop("LastConfigError"))
            check(c.prop("ChunkBlocks") == 4, "ChunkBlocks %r" % c.prop("ChunkBlocks"))
            emu.wait_online(left)
            s.wait_idle()
            for i in left:
                want = ["online_kernel"] if i != 27 else ["online_movable", "online_movable", "online_kernel"]
                check(values(bed, i) == want, "memory%d got %s, want %s" % (i, values(bed, i), want))
            check_quiet(bed, {2, 28}, n, "blocks 2 (offlined on request) and 28 (valid_zones)")
            check(bed.read_attr(2, "state") == "offline", "memory2 was onlined")
            check_rows(c, bed, rule_node1)

        case.run("Reload with a good config: success, LastConfigError empty, the new policy onlines what the old left "
                 "offline and the failed block, the blocks offlined on request stay offline", good_reload)

        def rescan():
            b = Block(40, 1, phys_index=0x40)
            emu.expect(40, "online_kernel")
            bed.add_block(b, announce=False)
            time.sleep(0.3)
            check(40 not in {r[0] for r in c.call("ListBlocks")[0]}, "the daemon knew block 40 before the rescan")
            check(not values(bed, 40), "block 40 written before the rescan")
            c.call("Rescan")
            emu.wait_online([40])
            s.wait_idle()
            check(values(bed, 40) == ["online_kernel"], "memory40 got %s" % values(bed, 40))
            check_rows(c, bed, rule_node1)

        case.run("Rescan: a block that appeared without a uevent is found and onlined by policy", rescan)
    finally:
        s.close()


@scenario(["signals: PropertiesChanged carries JobProgress as a chunked job advances (ChunkBlocks=4, 200ms "
           "pauses) and OnlineBytes as it grows",
           "signals: BlockStatesChanged batches carry (N, online, Movable) once for each of the 32 blocks added by "
           "uevent, in fewer signals than blocks (one per chunk)",
           "signals: one JobFinished(32, 32, 0), after the last BlockStatesChanged"])
def test_signals(case):
    # The 32 blocks come by "add" uevents and the daemon onlines them (auto_online_blocks=offline).
    # The first is announced before its node link, as the kernel does, and the others wait behind it
    # (blocks are decided in the order they came): its link makes all 32 ready at once, whatever the
    # timing, so they are one job of chunks of 4, each written in one loop iteration.
    config = (BASE + "ChunkBlocks=4\nChunkPauseSec=200ms\n\n[Memory]\nOnline=movable\n")
    s = Setup(case, [Block(i, 0, state="online", zones=("Normal",)) for i in range(4)], config)
    c, bed, emu = s.client, s.bed, s.bed.emu
    try:
        s.start()
        s.daemon.wait_line(SCANNED)
        s.wait_idle()
        before = c.prop("OnlineBytes")
        new = list(range(100, 132))
        mark = c.mark()
        first = Block(new[0], 0, phys_index=new[0])
        for i in new:
            emu.expect(i, "online_movable")
            bed.add_block(first if i == new[0] else Block(i, 0, phys_index=i), link_node=i != new[0])
        bed.link_node(first)
        emu.wait_online(new, timeout=TIMEOUT + 5)
        c.wait_signal(lambda sg: sg[3] == "JobFinished", "JobFinished", mark)
        s.wait_idle()
        time.sleep(0.3)  # the last PropertiesChanged
        sigs = c.signals_since(mark)
        case.note("signals: %s" % [(sg[3], sg[4]) for sg in sigs][:80])

        def props():
            changes = [sg[4][1] for sg in sigs if sg[3] == "PropertiesChanged" and sg[1] == PATH and sg[4][0] == MANAGER]
            progress = [tuple(ch["JobProgress"]) for ch in changes if "JobProgress" in ch]
            case.note("JobProgress: %s" % progress)
            # (done, failed, total): the total grows as the uevents queue blocks, done as chunks go by,
            # and the job's end resets it to (0, 0, 0).
            check(progress and progress[-1] == (0, 0, 0), "the last JobProgress is not idle: %s" % progress)
            running = progress[:-1]
            check(running and all(p[2] <= 32 and p[0] <= p[2] and p[1] == 0 for p in running),
                  "JobProgress out of bounds: %s" % progress)
            check(all(a[0] <= b[0] and a[2] <= b[2] for a, b in zip(running, running[1:])),
                  "JobProgress went backwards: %s" % progress)
            middle = sorted({p for p in running if p[2] == 32 and 0 < p[0] < 32})
            check(len(middle) >= 3, "JobProgress of the 32-block job seen only at %s" % progress)
            online = [ch["OnlineBytes"] for ch in changes if "OnlineBytes" in ch]
            case.note("OnlineBytes: %s" % online)
            # The totals go out together, so OnlineBytes also comes unchanged when a new block adds to
            # PresentBytes; it must only grow, through at least 3 values on the way.
            check(online == sorted(online) and online[0] >= before, "OnlineBytes %s (from %d)" % (online, before))
            check(len({v for v in online if v > before}) >= 3, "OnlineBytes seen only as %s" % online)
            check(online[-1] == before + 32 * BS, "OnlineBytes ends at %d, want %d" % (online[-1], before + 32 * BS))
            check(c.prop("OnlineBytes") == before + 32 * BS, "OnlineBytes property")

        case.run("signals: PropertiesChanged carries JobProgress as a chunked job advances (ChunkBlocks=4, 200ms "
                 "pauses) and OnlineBytes as it grows", props)

        def state():
            got = {}
            for _, i, st, zone in busclient.state_rows(sigs):
                got.setdefault(i, []).append((st, zone))
            want = {i: [("online", "Movable")] for i in new}
            check(got == want, "BlockStatesChanged: %s" % {i: v for i, v in got.items() if want.get(i) != v})
            batches = [len(sg[4][0]) for sg in sigs if sg[3] == "BlockStatesChanged"]
            case.note("BlockStatesChanged rows per signal: %s" % batches)
            check(0 < len(batches) < len(new), "%d BlockStatesChanged signals for %d blocks" % (len(batches), len(new)))
            check(not [sg for sg in sigs if sg[3] == "BlockStateChanged"], "the per-block BlockStateChanged is sent")

        case.run("signals: BlockStatesChanged batches carry (N, online, Movable) once for each of the 32 blocks added by "
                 "uevent, in fewer signals than blocks (one per chunk)", state)

        def finished():
            fins = [k for k, sg in enumerate(sigs) if sg[3] == "JobFinished"]
            check(len(fins) == 1, "%d JobFinished signals: %s" % (len(fins), [sigs[k][4] for k in fins]))
            check(tuple(sigs[fins[0]][4]) == (32, 32, 0), "JobFinished%r" % (tuple(sigs[fins[0]][4]),))
            last = max(k for k, _, _, _ in busclient.state_rows(sigs))
            check(fins[0] > last, "JobFinished came before the last BlockStatesChanged")

        case.run("signals: one JobFinished(32, 32, 0), after the last BlockStatesChanged", finished)
    finally:
        s.close()


@scenario(["node link race: a block whose node1 link appears 100ms (and one 300ms) after its add uevent gets "
           "[Node 1]'s online_kernel and shows node 1 over D-Bus"])
def test_node_link(case):
    config = BASE + "\n[Memory]\nOnline=movable\n\n[Node 1]\nOnline=kernel\n"
    s = Setup(case, [Block(0, 0, state="online", zones=("Normal",)), Block(1, 1, state="online", zones=("Normal",))],
              config)
    c, bed, emu = s.client, s.bed, s.bed.emu
    try:
        s.start()
        s.daemon.wait_line(SCANNED)

        def race():
            late = [Block(50, 1, phys_index=0x50), Block(51, 1, phys_index=0x51)]
            for b in late:
                emu.expect(b.index, "online_kernel")
                bed.add_block(b, link_node=False)  # sends "add"
            t0 = time.monotonic()
            time.sleep(0.1)
            bed.link_node(late[0])
            time.sleep(max(0, 0.3 - (time.monotonic() - t0)))
            bed.link_node(late[1])
            emu.wait_online([50, 51])
            s.wait_idle()
            for b in late:
                check(values(bed, b.index) == ["online_kernel"], "memory%d got %s" % (b.index, values(bed, b.index)))
            rows = {r[0]: r for r in c.call("ListBlocks")[0]}
            for b in late:
                check(rows[b.index][1] == 1 and rows[b.index][7] == "[Node 1]" and rows[b.index][2:4] == ("online", "Normal"),
                      "ListBlocks row %r" % (rows[b.index],))
                check(c.prop("Node", path="%s/block/%d" % (PATH, b.index), iface=BLOCK) == 1, "Node property")

        case.run("node link race: a block whose node1 link appears 100ms (and one 300ms) after its add uevent gets "
                 "[Node 1]'s online_kernel and shows node 1 over D-Bus", race)
    finally:
        s.close()


SEC_CONFIG = BASE + "\n[Memory]\nOnline=offline\n"


def sec_blocks():
    return [Block(0, 0, state="online", zones=("Normal",)), Block(1, 0, state="online", zones=("Movable",)),
            Block(2, 0), Block(3, 0)]


READS = [
    (PATH, PROPS, "GetAll", "(s)", [MANAGER]),
    (PATH, PROPS, "Get", "(ss)", [MANAGER, "OnlineBytes"]),
    (PATH, MANAGER, "ListBlocks", None, []),
    (PATH, MANAGER, "Plan", None, []),
    (PATH, "org.freedesktop.DBus.Introspectable", "Introspect", None, []),
    (PATH + "/block", "org.freedesktop.DBus.Introspectable", "Introspect", None, []),
    (PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", None, []),
    (PATH + "/block/2", PROPS, "GetAll", "(s)", [BLOCK]),
    (PATH + "/block/2", PROPS, "Get", "(ss)", [BLOCK, "State"]),
    (PATH, "org.freedesktop.DBus.Peer", "Ping", None, []),
]
WRITES = [
    (PATH, MANAGER, "OnlineBlocks", "(aus)", [[2], "movable"]),
    (PATH, MANAGER, "OfflineBlocks", "(au)", [[0]]),
    (PATH, MANAGER, "Reload", None, []),
    (PATH, MANAGER, "Rescan", None, []),
    (PATH, MANAGER, "RevertDevice", "(s)", ["dax0.0"]),
    (PATH, MANAGER, "PrepareUnplug", "(s)", ["2"]),
    (PATH, MANAGER, "CancelJob", None, []),
]


def call_name(call):
    return "%s.%s%s" % (call[1].rsplit(".", 1)[-1], call[2], " " + str(call[4]) if call[4] else "")


@scenario(["security: as nobody, every read (Get, GetAll, ListBlocks, Plan, Introspect, GetManagedObjects, "
           "Block properties, Ping) is allowed",
           "security: as nobody, OnlineBlocks, OfflineBlocks, Reload, Rescan, RevertDevice, PrepareUnplug, CancelJob "
           "and Properties.Set are refused by the bus policy (AccessDenied); nothing is written",
           "security: on a bus whose policy lets anyone call anything, the daemon itself refuses them as nobody "
           "(NotPermitted) and nothing is written; root still may"])
def test_security(case):
    s = Setup(case, sec_blocks(), SEC_CONFIG)
    try:
        for i in s.bed.blocks:
            s.bed.emu.expect(i, None)
        s.start()
        s.daemon.wait_line(SCANNED)

        def reads():
            res = as_user(s.bus.address, READS)
            bad = ["%s: %s %s" % (call_name(cl), r.get("error"), r.get("message")) for cl, r in zip(READS, res) if not r["ok"]]
            check(not bad, "refused: " + "; ".join(bad))
            check("'offline'" in res[-2]["value"], "Get State as nobody: %r" % res[-2]["value"])

        case.run("security: as nobody, every read (Get, GetAll, ListBlocks, Plan, Introspect, GetManagedObjects, "
                 "Block properties, Ping) is allowed", reads)

        def denied():
            calls = WRITES + [(PATH, PROPS, "Set", "text", "('%s', 'ChunkBlocks', <uint32 1>)" % MANAGER)]
            res = as_user(s.bus.address, calls)
            bad = ["%s: %s" % (call_name(cl), r.get("error") or "allowed") for cl, r in zip(calls, res)
                   if r.get("error") != ACCESS_DENIED]
            check(not bad, "not AccessDenied: " + "; ".join(bad))
            no_writes_since(s, 0)

        case.run("security: as nobody, OnlineBlocks, OfflineBlocks, Reload, Rescan, RevertDevice, PrepareUnplug, CancelJob "
                 "and Properties.Set are refused by the bus policy (AccessDenied); nothing is written", denied)
    finally:
        s.close()

    s = None
    try:
        s = Setup(case, sec_blocks(), SEC_CONFIG, project_policy=False)
        for i in s.bed.blocks:
            s.bed.emu.expect(i, None)
        s.start()
        s.daemon.wait_line(SCANNED)

        def handler():
            res = as_user(s.bus.address, WRITES + READS[:3])
            bad = ["%s: %s" % (call_name(cl), r.get("error") or "allowed") for cl, r in zip(WRITES, res)
                   if r.get("error") != NOT_PERMITTED]
            check(not bad, "not NotPermitted: " + "; ".join(bad))
            check(all(r["ok"] for r in res[len(WRITES):]), "reads refused: %r" % res[len(WRITES):])
            check(all(re.search(r"root", r["message"]) for r in res[:len(WRITES)]), "messages: %r" % res)
            no_writes_since(s, 0)
            s.bed.emu.expect(2, "online_movable")
            check(ubs(s.client.call("OnlineBlocks", ([2], "movable"), "(aus)")[0]) == [(2, True, "")], "root refused")
            s.bed.emu.wait_online([2])

        case.run("security: on a bus whose policy lets anyone call anything, the daemon itself refuses them as nobody "
                 "(NotPermitted) and nothing is written; root still may", handler)
    finally:
        if s:
            s.close()


def no_writes_since(s, n):
    time.sleep(0.3)
    s.bed.emu.settle()
    with s.bed.emu.cond:
        check(not s.bed.emu.writes[n:], "written: %s" % s.bed.emu.writes[n:])
    check([s.bed.read_attr(i, "state") for i in range(4)] == ["online", "online", "offline", "offline"],
          "block states changed")


CTL_CHECKS = ["memhotplugctl status: shows the version, block size, totals per node and zone, policy and config file",
              "memhotplugctl list and plan: the blocks, zones, nodes and rules; the plan's actions and reasons",
              "memhotplugctl --json status/list/plan: valid JSON that matches the Manager's properties, ListBlocks "
              "and Plan",
              "memhotplugctl online/offline as root: the blocks change state, exit 0",
              "memhotplugctl as nobody: online/offline/reload/rescan exit 1 with a permission message, reads work",
              "memhotplugctl usage errors exit 2 without touching the bus"]


def ctl(s, *args, user=None):
    return busclient.ctl(s.bus.address, *args, user=user)


def hfmt(n):
    """Bytes as lsmem and memhotplugctl print them: 256M, 2.3G (tenths rounded half up)."""
    units, exp, unit = "BKMGTPE", 0, 1
    while exp + 1 < len(units) and n // unit >= 1024:
        unit *= 1024
        exp += 1
    whole = n // unit
    tenths = 0 if exp == 0 else ((n % unit) * 10 + unit // 2) // unit
    if tenths == 10:
        whole, tenths = whole + 1, 0
    if whole == 1024 and exp + 1 < len(units):
        whole, exp = 1, exp + 1
    return re.escape("%d%s%s" % (whole, ".%d" % tenths if tenths else "", units[exp]))


def block_span(e):
    """(first, last) from an entry's "block" ("5" or "5-7", as lsmem -J writes it) or FirstBlock/LastBlock."""
    if "block" in e:
        first, _, last = e["block"].partition("-")
        return int(first), int(last or first)
    return e["FirstBlock"], e["LastBlock"]


def expand(entries):
    """Block -> entry, from JSON entries that each cover a range of blocks."""
    out = {}
    for e in entries:
        first, last = block_span(e)
        for i in range(first, last + 1):
            check(i not in out, "block %d listed twice" % i)
            out[i] = e
    return out


@scenario(CTL_CHECKS)
def test_ctl(case):
    s = start_api(case)
    c, bed, emu = s.client, s.bed, s.bed.emu
    try:
        def run_ok(*args):
            out = ctl(s, *args)
            case.note("$ memhotplugctl %s -> %d\n%s%s" % (" ".join(args), out.returncode, out.stdout, out.stderr))
            check(out.returncode == 0, "memhotplugctl %s exited %d: %s" % (" ".join(args), out.returncode, out.stderr))
            return out.stdout

        def status():
            text = run_ok("status")
            p = c.props()
            pats = [r"Version:\s+memhotplugd " + re.escape(p["Version"]), r"Block size:\s+256M",
                    r"Kernel auto-online:\s+offline \(KernelAutoOnline=respect\)",
                    r"Kernel online policy:\s+contig-zones", r"Memmap on memory:\s+yes",
                    r"Memory:\s+%s present, %s online, %s offline" % (
                        hfmt(p["PresentBytes"]), hfmt(p["OnlineBytes"]), hfmt(p["OfflineBytes"])),
                    r"Policy:\s+Online=movable, ChunkBlocks=2", re.escape(bed.config), r"Job:\s+idle",
                    r"5 blocks onlined, 0 failed"]
            pats += [r"Node %d:\s+%s present, %s online, %s offline" % (n, hfmt(a), hfmt(b), hfmt(c_))
                     for n, a, b, c_ in p["NodeBytes"]]
            pats += [r"%s\s+%s\b" % (z, hfmt(b)) for z, b in p["ZoneOnlineBytes"]]
            check(p["PresentBytes"] == 30 * BS, "PresentBytes %r" % p["PresentBytes"])
            for pat in pats:
                check(re.search(pat, text), "status lacks /%s/:\n%s" % (pat, text))

        case.run(CTL_CHECKS[0], status)

        def text_list():
            text = run_ok("list", "--all")
            for i, node, state, zone, start, size, removable, rule in c.call("ListBlocks")[0]:
                pat = r"^0x%016x-0x%016x\s+256M\s+%s\s+%s\s+%d\s+%d\s+%s\s+%s$" % (
                    start, start + size - 1, state, zone or "-", node, i, "yes" if removable else "no", re.escape(rule))
                check(re.search(pat, text, re.M), "list --all lacks block %d (/%s/):\n%s" % (i, pat, text))
            text = run_ok("plan")
            for i in range(20, 28):
                check(re.search(r"^\s*(%d|\d+-\d+)\s+1\s+offline\s.*\[Node 1\]\s+\[Node 1\] Online=offline" % i, text, re.M),
                      "plan lacks block %d:\n%s" % (i, text))
            check(re.search(r"^\s*28\s+0\s+skip\s.*\[Memory\].*valid_zones is \"Normal\"", text, re.M),
                  "plan lacks block 28:\n%s" % text)

        case.run(CTL_CHECKS[1], text_list)

        def as_json():
            st = json.loads(run_ok("--json=short", "status"))
            props = c.props()
            for k in ("Version", "BlockSize", "PresentBytes", "OnlineBytes", "OfflineBytes", "OnlinePolicy",
                      "ChunkBlocks", "ConfigFiles", "LastConfigError", "BlocksOnlined", "BlocksFailed",
                      "KernelAutoOnline", "KernelAutoOnlineMode", "MemmapOnMemory"):
                check(st.get(k) == props[k], "status --json %s = %r, the Manager says %r" % (k, st.get(k), props[k]))
            check(sorted((n["Node"], n["PresentBytes"], n["OnlineBytes"], n["OfflineBytes"]) for n in st["NodeBytes"])
                  == sorted(tuple(n) for n in props["NodeBytes"]), "NodeBytes %r" % st["NodeBytes"])
            check({z["Zone"]: z["OnlineBytes"] for z in st["ZoneOnlineBytes"]} == dict(props["ZoneOnlineBytes"]),
                  "ZoneOnlineBytes %r" % st["ZoneOnlineBytes"])
            for mode in ("--json=short", "--json=pretty"):
                # lsmem -J's shape: {"memory": [...]}, lowercase keys; --bytes makes "size" a number.
                doc = json.loads(run_ok(mode, "--bytes", "list"))
                check(list(doc) == ["memory"], "list %s: top-level keys %r" % (mode, list(doc)))
                blocks = expand(doc["memory"])
                rows = {r[0]: r for r in c.call("ListBlocks")[0]}
                check(set(blocks) == set(rows), "list %s covers %s" % (mode, sorted(blocks)))
                for i, r in rows.items():
                    e = blocks[i]
                    got = (e["node"], e["state"], e["zones"] or "", e["removable"], e["rule"], e["size"] % BS)
                    check(got == (r[1], r[2], r[3], r[6], r[7], 0), "list %s block %d: %r, ListBlocks %r" % (mode, i, e, r))
                    first, last = block_span(e)
                    start, _, end = e["range"].partition("-")
                    check(int(start, 16) == first * BS and e["size"] == (last - first + 1) * BS
                          and int(end, 16) == (last + 1) * BS - 1, "range of %r" % e)
            # Without --bytes, sizes are lsmem's text; --output picks columns and merges by them alone.
            doc = json.loads(run_ok("--json=short", "--output=RANGE,SIZE,STATE,BLOCK", "list"))
            check(all(set(e) == {"range", "size", "state", "block"} and re.fullmatch(r"\d+(\.\d)?[KMGTPE]?", e["size"])
                      for e in doc["memory"]), "list --output=RANGE,SIZE,STATE,BLOCK: %r" % doc)
            merged = expand(doc["memory"])
            check(len(doc["memory"]) <= len(json.loads(run_ok("--json=short", "list"))["memory"]) and
                  set(merged) == set(rows), "fewer columns merge at least as much: %r" % doc)
            plan = expand(json.loads(run_ok("--json=short", "plan")))
            prow = {r[0]: r for r in c.call("Plan")[0]}
            check(set(plan) == set(prow), "plan --json covers %s, Plan %s" % (sorted(plan), sorted(prow)))
            for i, r in prow.items():
                e = plan[i]
                got = (e["Node"], e["Action"], e["Type"] or "", e["Zone"] or "", e["Rule"], e["Reason"], e["Note"] or "")
                check(got == tuple(r[1:]), "plan --json block %d: %r, Plan %r" % (i, e, r))

        case.run(CTL_CHECKS[2], as_json)

        def control():
            for i in (8, 10):
                emu.expect(i, "online_kernel")
            run_ok("online", "--zone=kernel", "memory8", "10")
            emu.wait_online([8, 10])
            check(values(bed, 8) == ["online_kernel"] and values(bed, 10) == ["online_kernel"],
                  "writes %s %s" % (values(bed, 8), values(bed, 10)))
            emu.expect(12, "online_movable")
            emu.expect(13, "online_movable")
            run_ok("online", "12-13")
            emu.wait_online([12, 13])
            emu.expect(0, "offline")
            emu.expect(2, "offline")
            run_ok("offline", "0", "2")
            emu.wait_offline([0, 2])
            rows = {r[0]: r for r in c.call("ListBlocks")[0]}
            check([rows[i][2:4] for i in (0, 2, 8, 10, 12, 13)] ==
                  [("offline", ""), ("offline", ""), ("online", "Normal"), ("online", "Normal"),
                   ("online", "Movable"), ("online", "Movable")], "ListBlocks %r" % rows)

        case.run(CTL_CHECKS[3], control)

        def nobody():
            n = n_writes(bed)
            for args in (("online", "14"), ("offline", "4"), ("reload",), ("rescan",)):
                out = ctl(s, *args, user=UNPRIVILEGED)
                case.note("$ nobody memhotplugctl %s -> %d %s" % (" ".join(args), out.returncode, out.stderr))
                check(out.returncode == 1, "as nobody, %s exited %d" % (" ".join(args), out.returncode))
                check(re.search(r"[Pp]ermission|[Aa]ccess denied|root", out.stderr),
                      "as nobody, %s said %r" % (" ".join(args), out.stderr))
            for args in (("status",), ("list",), ("--json=short", "plan")):
                out = ctl(s, *args, user=UNPRIVILEGED)
                check(out.returncode == 0 and out.stdout, "as nobody, %s exited %d: %s" % (" ".join(args), out.returncode, out.stderr))
            check_quiet(bed, set(bed.blocks), n, "after the refused commands")

        case.run(CTL_CHECKS[4], nobody)

        def usage():
            for args in (("bogus",), ("online",), ("online", "x7"), ("status", "extra"), ("--json=short", "online", "5"),
                         ("--zone=kernel", "offline", "5"), ("--zone=sideways", "online", "5"), ("--no-such-option",)):
                out = subprocess.run([CTL] + list(args), env=unprivileged_env("unix:path=/nonexistent/bus"),
                                     capture_output=True, text=True, timeout=60)
                check(out.returncode == 2, "memhotplugctl %s exited %d: %s" % (" ".join(args), out.returncode, out.stderr))
                check(out.stderr.strip(), "memhotplugctl %s said nothing on stderr" % " ".join(args))
            # Before: a bad --output exited 1 after connecting, options were ignored where they do not
            # apply, and a block list of separators was reported as block "n/a". The bus address leads
            # nowhere: exit 2 shows the error was found before it was used.
            for args, said in ((("-o", "BAD", "list"), r'column in --output: "BAD"'),
                               (("-a", "status"), r"--all is an option of list and plan, not of status"),
                               (("--all", "devices"), r"--all is an option of list and plan, not of devices"),
                               (("-o", "RANGE", "plan"), r"--output is an option of list, not of plan"),
                               (("--output=SIZE", "status"), r"--output is an option of list, not of status"),
                               (("-b", "plan"), r"--bytes is an option of list, not of plan"),
                               (("--bytes", "online", "5"), r"--bytes is an option of list, not of online"),
                               (("-a", "offline", "5"), r"--all is an option of list and plan, not of offline"),
                               (("online", ",,,"), r'Invalid memory block ",,,"')):
                out = subprocess.run([CTL] + list(args), env=unprivileged_env("unix:path=/nonexistent/bus"),
                                     capture_output=True, text=True, timeout=60)
                check(out.returncode == 2 and re.search(said, out.stderr) and "n/a" not in out.stderr,
                      "memhotplugctl %s exited %d: %r" % (" ".join(args), out.returncode, out.stderr))
            for args in (("-a", "list"), ("-a", "plan"), ("-b", "-o", "SIZE,BLOCK", "list")):
                out = ctl(s, *args)
                check(out.returncode == 0, "memhotplugctl %s exited %d: %s" % (" ".join(args), out.returncode, out.stderr))

        case.run(CTL_CHECKS[5], usage)
    finally:
        s.close()


@scenario(["KernelAutoOnline=takeover, runtime directory unwritable: KernelAutoOnlineMode is respect, "
           "KernelAutoOnlineFallback says why, auto_online_blocks untouched",
           "KernelAutoOnline=takeover, runtime directory unwritable: memhotplugctl status says respect and why"])
def test_kernel_auto_fallback(case):
    s = Setup(case, [Block(0, 0)], BASE.replace("respect", "takeover") + "\n[Memory]\nOnline=movable\n",
              auto_online="online")
    try:
        with open(os.path.join(s.bed.tmp, "blocker"), "w") as f:
            f.write("in the runtime directory's way\n")
        s.bed.runtime_dir = os.path.join(s.bed.tmp, "blocker", "run")
        why = "cannot save the original auto_online_blocks=online to %s/kernel-auto-online: Not a directory" % (
            s.bed.runtime_dir)
        s.bed.emu.expect(0, "online_movable")
        s.start()
        s.bed.emu.wait_online([0])
        s.wait_idle()

        def props():
            p = s.client.props()
            check(p["KernelAutoOnlineMode"] == "respect", "KernelAutoOnlineMode %r" % p["KernelAutoOnlineMode"])
            check(p["KernelAutoOnlineFallback"] == why, "KernelAutoOnlineFallback %r, want %r"
                  % (p["KernelAutoOnlineFallback"], why))
            check(p["KernelAutoOnline"] == "online", "KernelAutoOnline %r" % p["KernelAutoOnline"])
            check(s.bed.auto_online() == "online", "auto_online_blocks is %r" % s.bed.auto_online())

        case.run("KernelAutoOnline=takeover, runtime directory unwritable: KernelAutoOnlineMode is respect, "
                 "KernelAutoOnlineFallback says why, auto_online_blocks untouched", props)

        def status():
            if not (CTL and os.path.exists(CTL)):
                raise harness.Failure("memhotplugctl is not built")
            out = ctl(s, "status")
            check(out.returncode == 0, "status exit %d: %s" % (out.returncode, out.stderr))
            check(re.search(r"Kernel auto-online: online \(KernelAutoOnline=respect\)\n\s+takeover not possible: "
                            + re.escape(why) + "\n", out.stdout), "status says:\n" + out.stdout)
            out = ctl(s, "status", "--json=short")
            j = json.loads(out.stdout)
            check(j.get("KernelAutoOnlineMode") == "respect" and j.get("KernelAutoOnlineFallback") == why,
                  "status --json: %r" % out.stdout)

        case.run("KernelAutoOnline=takeover, runtime directory unwritable: memhotplugctl status says respect "
                 "and why", status)
    finally:
        s.close()


LOG_PATH = "/org/freedesktop/LogControl1"
LOG_IFACE = "org.freedesktop.LogControl1"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"


def log_set(prop, value):
    """A Properties.Set of LogControl1, as a call spec for as_user()."""
    return (LOG_PATH, PROPS, "Set", "text", "('%s', '%s', <'%s'>)" % (LOG_IFACE, prop, value))


@scenario(["LogControl1: LogLevel, LogTarget and SyslogIdentifier are readable by anyone and say info, console, "
           "memhotplugd",
           "LogControl1: setting as nobody is refused by the bus policy (AccessDenied), and by the daemon itself "
           "on a bus that lets anyone through (NotPermitted); the level stays",
           "LogControl1: LogLevel=debug set by root: debug lines appear (a Rescan logs 'Scanned'), and a Reload "
           "keeps it",
           "LogControl1: LogTarget=null silences the daemon, console brings it back",
           "LogControl1: a bad level or target, or a wrong type, is InvalidArgs; kmsg is NotSupported; "
           "SyslogIdentifier is read-only"])
def test_log_control(case):
    config = BASE + "\n[Memory]\nOnline=movable\n"

    def setup(project_policy):
        s = Setup(case, [Block(0, 0)], config, project_policy=project_policy)
        s.bed.emu.expect(0, "online_movable")
        s.start(log_level="info")
        s.bed.emu.wait_online([0])
        s.wait_idle()
        return s

    def get(c, prop):
        return c.prop(prop, path=LOG_PATH, iface=LOG_IFACE)

    def set_(c, prop, value, sig="s"):
        return c.call("Set", (LOG_IFACE, prop, GLib.Variant(sig, value)), "(ssv)", path=LOG_PATH, iface=PROPS)

    def rescan_lines(c, d):
        """The lines a Rescan logs, given half a second to be read from the daemon's stderr: for
        checks that nothing is logged (a line that should be there is waited for instead)."""
        mark = d.mark()
        c.call("Rescan")
        time.sleep(0.5)
        return d.log(mark)

    def refused_as_nobody(s, error):
        res = as_user(s.bus.address, [log_set("LogLevel", "debug"), log_set("LogTarget", "null")])
        check([r.get("error") for r in res] == [error] * 2, "as nobody: %r" % res)
        check(get(s.client, "LogLevel") == "info", "LogLevel %r after a refused Set" % get(s.client, "LogLevel"))
        check(get(s.client, "LogTarget") == "console", "LogTarget %r" % get(s.client, "LogTarget"))
        check(not s.daemon.find(r"^debug:"), "debug lines at level info")

    s = setup(True)
    c, d = s.client, s.daemon
    try:
        def reads():
            res = as_user(s.bus.address, [(LOG_PATH, PROPS, "GetAll", "(s)", [LOG_IFACE])])
            check(res[0]["ok"], "GetAll as nobody: %r" % res)
            for prop, want in (("LogLevel", "info"), ("LogTarget", "console"), ("SyslogIdentifier", "memhotplugd")):
                check("'%s': '%s'" % (prop, want) in res[0]["value"], "%s as nobody: %s" % (prop, res[0]["value"]))

        case.run("LogControl1: LogLevel, LogTarget and SyslogIdentifier are readable by anyone and say info, "
                 "console, memhotplugd", reads)

        def denied():
            refused_as_nobody(s, ACCESS_DENIED)
            s_open = setup(False)
            try:
                refused_as_nobody(s_open, NOT_PERMITTED)
            finally:
                s_open.close()

        case.run("LogControl1: setting as nobody is refused by the bus policy (AccessDenied), and by the daemon "
                 "itself on a bus that lets anyone through (NotPermitted); the level stays", denied)

        def level():
            check(not re.search(r"^debug:", rescan_lines(c, d), re.M), "debug lines before LogLevel=debug")
            mark = d.mark()
            set_(c, "LogLevel", "debug")
            check(get(c, "LogLevel") == "debug", "LogLevel %r" % get(c, "LogLevel"))
            d.wait_line(r"^info: Log level set to debug$", mark)
            mark = d.mark()
            c.call("Rescan")
            d.wait_line(r"^debug: Scanned \d+ memory blocks", mark)
            c.call("Reload")
            check(get(c, "LogLevel") == "debug", "LogLevel %r after a Reload" % get(c, "LogLevel"))

        case.run("LogControl1: LogLevel=debug set by root: debug lines appear (a Rescan logs 'Scanned'), and a "
                 "Reload keeps it", level)

        def target():
            set_(c, "LogTarget", "null")
            check(get(c, "LogTarget") == "null", "LogTarget %r" % get(c, "LogTarget"))
            quiet = rescan_lines(c, d)
            check(quiet == "", "lines logged with LogTarget=null: %r" % quiet)
            mark = d.mark()
            set_(c, "LogTarget", "console")
            d.wait_line(r"^info: Logging to console$", mark)
            mark = d.mark()
            c.call("Rescan")
            d.wait_line(r"^debug: Scanned \d+ memory blocks", mark)

        case.run("LogControl1: LogTarget=null silences the daemon, console brings it back", target)

        def bad():
            for prop, value, sig, want in (("LogLevel", "loud", "s", INVALID_ARGS),
                                           ("LogLevel", 7, "u", INVALID_ARGS),
                                           ("LogTarget", "printer", "s", INVALID_ARGS),
                                           ("LogTarget", "kmsg", "s", "org.freedesktop.DBus.Error.NotSupported"),
                                           ("SyslogIdentifier", "x", "s",
                                            "org.freedesktop.DBus.Error.PropertyReadOnly")):
                e = c.error_of("Set", (LOG_IFACE, prop, GLib.Variant(sig, value)), "(ssv)", path=LOG_PATH,
                               iface=PROPS)
                check(e.name == want, "%s=%r: %s, want %s" % (prop, value, e, want))
            check(get(c, "LogLevel") == "debug" and get(c, "LogTarget") == "console", "changed by a refused Set")

        case.run("LogControl1: a bad level or target, or a wrong type, is InvalidArgs; kmsg is NotSupported; "
                 "SyslogIdentifier is read-only", bad)
    finally:
        s.close()


def plain_setup(case, s, blocks, policy):
    """Fills BusSetup s: a private bus, a plain tree of blocks with no kernel emulator (thousands of
    inotify watches would only slow the test: the fault preload leaves "online" in the state file
    the daemon writes), the daemon with [Memory] policy, on the bus, and a root client."""
    s.bus = PrivateBus()
    s.bed = Bed(blocks, plain=True, emulate=False)
    s.bed.bus_address = s.bus.address
    s.bed.write_config(BASE + "\n[Memory]\n" + policy + "\n")
    s.daemon = s.bed.daemon()
    case.daemon = s.daemon
    s.daemon.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
    s.client = Client(s.bus.address)


def half_online(n):
    return [Block(i, 0, state="online" if i % 2 else "offline", zones=("Normal",) if i % 2 else ("Normal", "Movable"))
            for i in range(n)]


SCALE_BLOCKS = 6000


@scenario(["GetManagedObjects at scale: a root OnlineBlocks sent after four GetManagedObjects of %d blocks is "
           "answered first (their replies are built a slice per loop iteration)" % SCALE_BLOCKS,
           "GetManagedObjects at scale: every reply lists every block, with the properties ListBlocks has"])
def test_scale(case):
    s = BusSetup()
    try:
        plain_setup(case, s, half_online(SCALE_BLOCKS), "Online=offline")

        # Five calls on one connection, in this order; the replies are recorded as they arrive.
        ctx = GLib.MainContext()
        ctx.push_thread_default()
        replies = []
        try:
            def done(conn, res, what):
                try:
                    replies.append((what, conn.call_finish(res).unpack()))
                except GLib.Error as e:
                    replies.append((what, e))

            for k in range(4):
                s.client.conn.call(BUS_NAME, PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", None,
                                   None, Gio.DBusCallFlags.NONE, 120000, None, done, "objects%d" % k)
            s.client.conn.call(BUS_NAME, PATH, MANAGER, "OnlineBlocks", GLib.Variant("(aus)", ([0], "movable")),
                               None, Gio.DBusCallFlags.NONE, 120000, None, done, "root")
            deadline = time.monotonic() + 120
            while len(replies) < 5 and time.monotonic() < deadline:
                ctx.iteration(True)
        finally:
            ctx.pop_thread_default()

        def order():
            check(len(replies) == 5, "%d replies: %s" % (len(replies), [r[0] for r in replies]))
            check(replies[0][0] == "root", "reply order %s: the root call waited for the readers (%s)"
                  % ([r[0] for r in replies], replies[0][1] if isinstance(replies[0][1], GLib.Error) else ""))
            check(not isinstance(replies[0][1], GLib.Error) and replies[0][1][0][0][1],
                  "OnlineBlocks: %r" % (replies[0][1],))

        case.run("GetManagedObjects at scale: a root OnlineBlocks sent after four GetManagedObjects of %d blocks is "
                 "answered first (their replies are built a slice per loop iteration)" % SCALE_BLOCKS, order)

        def complete():
            rows = {r[0]: r for r in s.client.call("ListBlocks")[0]}
            check(len(rows) == SCALE_BLOCKS, "ListBlocks has %d rows" % len(rows))
            for what, value in replies:
                if what == "root":
                    continue
                check(not isinstance(value, GLib.Error), "%s: %s" % (what, value))
                objs = value[0]
                paths = {p for p in objs if p.startswith(PATH + "/block/")}
                check(len(paths) == SCALE_BLOCKS, "%s lists %d blocks" % (what, len(paths)))
                for i in (1, 2, SCALE_BLOCKS - 1):
                    p = objs[PATH + "/block/%d" % i][BLOCK]
                    r = rows[i]
                    got = (p["Node"], p["State"], p["Zone"], p["Removable"], p["Rule"])
                    want = (r[1], r[2], r[3], r[6], r[7])
                    # Block 0 is being onlined meanwhile: the replies may show it either way.
                    check(got == want, "%s block %d: %r, ListBlocks %r" % (what, i, got, want))

        case.run("GetManagedObjects at scale: every reply lists every block, with the properties ListBlocks has",
                 complete)
    finally:
        s.close()


SLOW_BLOCKS = 4096
SLOW_CONNECTIONS, SLOW_CALLS = 5, 100
LIMITS_EXCEEDED = "org.memhotplug1.Error.LimitsExceeded"
# daemon/bus-budget.c: what a call is charged per block it lists, per call, and the unprivileged total.
BUDGET_BLOCK_BYTES, BUDGET_CALL_BYTES, BUDGET_TOTAL_BYTES = 512, 4096, 48 << 20
BUDGET_SENDER_CALLS = 64


def vm_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^%s:\s+(\d+) kB" % key, f.read(), re.M).group(1))


SLOW_CHECKS = [
    "slow reader: with %d connections of nobody holding %d unread GetManagedObjects of %d blocks each, root's "
    "OnlineBlocks and Get are answered (10 s timeout) and the daemon's RSS grows by less than 64 MiB"
    % (SLOW_CONNECTIONS, SLOW_CALLS, SLOW_BLOCKS),
    "slow reader: once it reads, each connection has had a full reply, the rest LimitsExceeded, and a new "
    "unprivileged GetManagedObjects is served",
    "slow reader: GetManagedObjects, ListBlocks, Plan and Introspect are within what the budget charges for them",
    "slow reader: of 200 unread ListDevices on each of 5 connections, at most 64 a connection are answered and "
    "at most 64 more refused (LimitsExceeded); root's Get is answered"]


@scenario(SLOW_CHECKS)
def test_slow_reader(case):
    """Five connections of user nobody send 100 GetManagedObjects each and read nothing; root's calls
    must still be answered, and the daemon must not keep what the client does not read."""
    s = BusSetup()
    slow = None
    try:
        plain_setup(case, s, half_online(SLOW_BLOCKS), "Online=offline")
        pid = s.daemon.proc.pid
        rss_start = vm_kib(pid, "VmRSS")

        slow, sent = busclient.start_slow_client(s.bus.address, SLOW_CONNECTIONS, SLOW_CALLS)
        rss = {}

        def root_calls():
            check(sent.get("sent") == SLOW_CONNECTIONS * SLOW_CALLS, "the slow client sent %r" % sent)
            # Whatever the daemon does with the 500 calls, it is done once its CPU time stands still.
            busclient.wait_quiet(pid)
            # The daemon has read all 500 calls once it answers a call sent after them.
            for k in range(3):
                got = s.client.call("OnlineBlocks", ([2 * k], "movable"), "(aus)", timeout=10)
                check(got[0][0][1], "OnlineBlocks([%d]): %r" % (2 * k, got))
                check(s.client.call("Get", (MANAGER, "BlockSize"), "(ss)", iface=PROPS, timeout=10)[0] == BS,
                      "BlockSize")
            rss["end"] = vm_kib(pid, "VmRSS")
            if not harness.SANITIZE:  # ASan keeps freed memory in quarantine
                check(rss["end"] - rss_start < 64 * 1024,
                      "the daemon's RSS grew from %d to %d KiB" % (rss_start, rss["end"]))

        case.run(SLOW_CHECKS[0], root_calls)

        def replies():
            got = busclient.read_slow_client(slow)
            n = got.get("replies", 0)
            errors = got.get("errors", {})
            cost = BUDGET_CALL_BYTES + SLOW_BLOCKS * BUDGET_BLOCK_BYTES
            check(n + errors.get(LIMITS_EXCEEDED, 0) == SLOW_CONNECTIONS * SLOW_CALLS and
                  set(errors) <= {LIMITS_EXCEEDED} and not got.get("unanswered"), "the slow client got %r" % got)
            check(SLOW_CONNECTIONS <= n <= BUDGET_TOTAL_BYTES // cost + SLOW_CONNECTIONS,
                  "%d replies: each connection gets one, the rest are refused past the budget (%r)" % (n, got))
            check(got.get("pings", 0) >= 1, "the daemon asked whether the replies were read: %r" % got)
            # Read and answered: the budget is back, a new reader is served in full.
            out = as_user(s.bus.address, [(PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                           None, [])])
            check(out[0]["ok"], "GetManagedObjects as nobody after the slow client read: %r" % out[0])

        case.run(SLOW_CHECKS[1], replies)

        def sizes():
            # The budget's per-block charge bounds every reply that lists blocks (GVariant body sizes).
            conn = s.client.conn
            for path, iface, member in ((PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
                                        (PATH, MANAGER, "ListBlocks"), (PATH, MANAGER, "Plan"),
                                        (PATH + "/block", "org.freedesktop.DBus.Introspectable", "Introspect")):
                v = conn.call_sync(BUS_NAME, path, iface, member, None, None, Gio.DBusCallFlags.NONE, 60000, None)
                TAP.note("%s: %d bytes, %.0f a block" % (member, v.get_size(), v.get_size() / SLOW_BLOCKS))
                check(v.get_size() <= BUDGET_CALL_BYTES + SLOW_BLOCKS * BUDGET_BLOCK_BYTES,
                      "%s: %d bytes, more than the budget charges" % (member, v.get_size()))

        case.run(SLOW_CHECKS[2], sizes)

        def small_calls():
            nonlocal slow
            slow, sent = busclient.start_slow_client(s.bus.address, SLOW_CONNECTIONS, 200, "ListDevices")
            check(sent.get("sent") == SLOW_CONNECTIONS * 200, "the slow client sent %r" % sent)
            busclient.wait_quiet(pid)
            check(s.client.call("Get", (MANAGER, "BlockSize"), "(ss)", iface=PROPS, timeout=10)[0] == BS,
                  "BlockSize")
            got = busclient.read_slow_client(slow)
            n, errors = got.get("replies", 0), got.get("errors", {})
            # dbus-daemon itself refuses a connection's calls past 128 awaiting their reply
            # (max_replies_per_connection), with its own LimitsExceeded.
            bus_limit = "org.freedesktop.DBus.Error.LimitsExceeded"
            # Past 64 refusals unread, a connection's calls get no answer: refusals are messages too.
            check(set(errors) <= {LIMITS_EXCEEDED, bus_limit} and errors.get(LIMITS_EXCEEDED, 0) > 0,
                  "the slow client got %r" % got)
            check(SLOW_CONNECTIONS <= n <= SLOW_CONNECTIONS * BUDGET_SENDER_CALLS, "%d replies (%r)" % (n, got))
            check(errors.get(LIMITS_EXCEEDED, 0) <= SLOW_CONNECTIONS * BUDGET_SENDER_CALLS,
                  "%d refusals: at most 64 a connection are sent unread (%r)" % (errors[LIMITS_EXCEEDED], got))

        case.run(SLOW_CHECKS[3], small_calls)
    finally:
        if slow and slow.poll() is None:
            slow.kill()
            slow.wait()
        s.close()


CEILING_BLOCKS = 4096
CEILING_CHECKS = [
    "memory ceiling: with RLIMIT_AS at the daemon's size + 512 KiB, a GetManagedObjects of %d blocks fails "
    "with NoMemory and the daemon lives on" % CEILING_BLOCKS,
    "memory ceiling: under the same limit, 8 new blocks found by Rescan are onlined by the policy and small "
    "calls are answered",
    "memory ceiling: once the limit is lifted, GetManagedObjects lists every block"]


@scenario(CEILING_CHECKS)
def test_memory_ceiling(case):
    """The unit's LimitAS= is the ceiling no client can push the daemon past: at it, the bus side's
    allocations fail and the core's go on."""
    if harness.SANITIZE:  # ASan reserves terabytes of address space for its shadow
        for name in CEILING_CHECKS:
            TAP.skip(name, "RLIMIT_AS cannot be set under ASan")
        case.pending.clear()
        return
    import resource

    s = BusSetup()
    try:
        plain_setup(case, s, [Block(i, 0, state="online", zones=("Normal",)) for i in range(CEILING_BLOCKS)],
                    "Online=movable")
        pid = s.daemon.proc.pid
        _, hard = resource.prlimit(pid, resource.RLIMIT_AS)
        limit = vm_kib(pid, "VmSize") * 1024 + 512 * 1024
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, hard))
        new = list(range(CEILING_BLOCKS, CEILING_BLOCKS + 8))

        def objects_fail():
            e = s.client.error_of("GetManagedObjects", path=PATH, iface="org.freedesktop.DBus.ObjectManager")
            check(e.name == "org.freedesktop.DBus.Error.NoMemory", "GetManagedObjects: %s %s" % (e.name, e))
            check(s.daemon.proc.poll() is None, "the daemon exited")

        def core_goes_on():
            for i in new:
                s.bed.add_block(Block(i, 0), announce=False)
            s.client.call("Rescan")
            wait_until(lambda: all(s.bed.read_attr(i, "state") == "online" for i in new), what="the new blocks online")
            check(s.client.call("Get", (MANAGER, "OnlineBytes"), "(ss)", iface=PROPS)[0] ==
                  (CEILING_BLOCKS + len(new)) * BS, "OnlineBytes")

        def lifted():
            resource.prlimit(pid, resource.RLIMIT_AS, (hard, hard))
            objs = s.client.call("GetManagedObjects", path=PATH, iface="org.freedesktop.DBus.ObjectManager")[0]
            check(sum(p.startswith(PATH + "/block/") for p in objs) == CEILING_BLOCKS + len(new),
                  "GetManagedObjects lists %d objects" % len(objs))

        for name, fn in zip(CEILING_CHECKS, (objects_fail, core_goes_on, lifted)):
            case.run(name, fn)
    finally:
        s.close()


def test_ctl_or_skip():
    if CTL and os.path.exists(CTL):
        test_ctl()
        return
    for name in CTL_CHECKS:
        TAP.skip(name, "memhotplugctl is not built")


SCENARIOS = [test_properties, test_methods, test_signals, test_node_link, test_security, test_scale,
             test_slow_reader, test_memory_ceiling,
             test_ctl_or_skip, test_kernel_auto_fallback, test_log_control]

def main():
    return harness.main(SCENARIOS, files=[busclient.BUS_POLICY], tools=["dbus-daemon", "setpriv"])


if __name__ == "__main__":
    sys.exit(main())
