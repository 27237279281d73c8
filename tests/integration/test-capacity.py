#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests of the capacity-changed event: one per hot-add or unplug, none per block and
none at a restart.

Usage: test-capacity.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]

The real daemon runs under umockdev against a testbed of fake memory blocks, on a private
dbus-daemon (busclient.py). Each event is a CapacityChanged signal and a rewrite of
RUNTIME_DIR/capacity by rename, which the test counts with inotify (IN_MOVED_TO), as
memhotplugd-capacity.path sees it. A check that no further event came is made after a round trip
to the daemon that follows the job's JobFinished: the daemon sends the event before it reads the
next call, so nothing sent late can be missed, and no timing is assumed.

Output is TAP. MHP_TEST_ONLY=<substring of a scenario function's name> runs only those.
"""

import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BUS_NAME, BusSetup, Client, PrivateBus  # noqa: E402
from harness import TAP, Bed, Block, Inotify, check, scenario, wait_until  # noqa: E402

busclient.init(__doc__)

BS = int(harness.FAKE_BLOCK_SIZE, 16)
IN_MOVED_TO = 0x00000080
CONFIG = "[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\nMaxAttempts=1\n\n[Memory]\nOnline=movable\n"


class Setup(BusSetup):
    """A private bus, a testbed with online boot blocks on nodes 0 and 1, the daemon, a client, and
    an inotify watch on the runtime directory for the renames of its capacity file."""

    def __init__(self, case, blocks):
        self.case = case
        self.inotify = None
        self.renames = 0
        try:
            self.bus = PrivateBus()
            self.bed = Bed(blocks)
            self.bed.bus_address = self.bus.address
            self.bed.write_config(CONFIG)
            os.makedirs(self.bed.runtime_dir)
            self.inotify = Inotify()
            self.inotify.add_watch(self.bed.runtime_dir, IN_MOVED_TO)
            self.client = Client(self.bus.address)
            for i in self.bed.blocks:
                self.bed.emu.expect(i, None)
            self.start()
        except BaseException:
            self.close()
            raise

    def start(self):
        self.daemon = self.case.daemon = self.bed.daemon()
        self.daemon.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
        self.wait_idle()

    def wait_idle(self):
        self.bed.emu.settle()
        wait_until(lambda: tuple(self.client.prop("JobProgress")) == (0, 0, 0), what="an idle daemon")

    def path(self):
        return os.path.join(self.bed.runtime_dir, "capacity")

    def file(self):
        """The capacity file as a dict (NODE_ONLINE_BYTES as {node: bytes})."""
        with open(self.path()) as f:
            text = f.read()
        d = {}
        for line in text.splitlines():
            if line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            d[k] = v.strip('"')
        d["NODE_ONLINE_BYTES"] = {int(n): int(b) for n, b in
                                  (w.split(":") for w in d.get("NODE_ONLINE_BYTES", "").split())}
        return d

    def take_renames(self):
        """Renames onto the capacity file since the last call."""
        n = sum(1 for _, mask, name in self.inotify.read() if mask & IN_MOVED_TO and name == "capacity")
        return n

    def close(self):
        super().close()
        if self.inotify:
            self.inotify.close()


def events(c, mark):
    return [tuple(sg[4]) for sg in c.signals_since(mark, "CapacityChanged")]


def settled_events(s, mark):
    """The CapacityChanged signals since mark, once the job's JobFinished has come and a call made
    after it was answered (the event goes out before the daemon reads that call)."""
    c = s.client
    c.wait_signal(lambda sg: sg[3] == "JobFinished", "JobFinished", mark)
    s.wait_idle()
    c.prop("OnlineBytes")
    return events(c, mark)


def nodes_of(ev):
    return {n: b for n, b in ev[2]}


def hot_add(bed, blocks):
    """One hot-add, as the kernel makes it: the first block is announced before its node link, the
    others wait behind it (blocks are decided in the order they came), so its link makes them all
    ready at once, whatever the timing."""
    for b in blocks:
        bed.emu.expect(b.index, "online_movable")
        bed.add_block(b, link_node=b is not blocks[0])
    bed.link_node(blocks[0])
    bed.emu.wait_online([b.index for b in blocks])


def remove_block(bed, index):
    """The kernel removes a block: the "remove" uevent, then the directory is gone."""
    bed.uevent(index, "remove")
    with bed.lock:
        bed.testbed.remove_device(bed.syspath(index))
    shutil.rmtree(bed.block_dir(index), ignore_errors=True)
    bed.blocks.pop(index, None)


def boot_blocks():
    return [Block(i, 0 if i < 4 else 1, state="online", zones=("Normal",)) for i in range(6)]


@scenario(["start: the first start writes the capacity file (sequence 1, the boot memory per node), by rename",
           "hot-add of 8 blocks on two nodes: one CapacityChanged (sequence 2, the new totals per node) and one "
           "rewrite of the file, after the one JobFinished",
           "a hot-add whose only block fails to online changes nothing: JobFinished, no CapacityChanged, no "
           "rewrite",
           "unplug: OfflineBlocks of a node's 4 hot-added blocks is one CapacityChanged (sequence 3) and one "
           "rewrite; their removal after it, none",
           "restart: SIGTERM and a start with the memory unchanged: no CapacityChanged, the file not rewritten",
           "restart after a hot-add while the daemon was down: the start's job is one event (sequence 4)"])
def test_capacity(case):
    s = Setup(case, boot_blocks())
    c, bed = s.client, s.bed
    try:
        def first():
            f = s.file()
            case.note("capacity file: %s" % f)
            check(s.take_renames() == 1, "the file was not written by one rename")
            check(f["CAPACITY_SEQUENCE"] == "1", "sequence %s" % f["CAPACITY_SEQUENCE"])
            check(int(f["ONLINE_BYTES"]) == 6 * BS, "ONLINE_BYTES %s" % f["ONLINE_BYTES"])
            check(f["NODE_ONLINE_BYTES"] == {0: 4 * BS, 1: 2 * BS}, "NODE_ONLINE_BYTES %s" % f["NODE_ONLINE_BYTES"])
            s.daemon.wait_line(r"Online memory is now 1\.5G \(node 0: 1G, node 1: 512M\): capacity event 1$")

        case.run("start: the first start writes the capacity file (sequence 1, the boot memory per node), by rename",
                 first)

        def hotadd():
            mark = c.mark()
            hot_add(bed, [Block(i, 0 if i < 104 else 1) for i in range(100, 108)])
            evs = settled_events(s, mark)
            case.note("CapacityChanged: %s" % evs)
            fins = [tuple(sg[4]) for sg in c.signals_since(mark, "JobFinished")]
            check(fins == [(8, 8, 0)], "JobFinished %s" % fins)
            check(len(evs) == 1, "%d CapacityChanged signals" % len(evs))
            check(evs[0][0] == 2 and evs[0][1] == 14 * BS, "CapacityChanged%r" % (evs[0],))
            check(nodes_of(evs[0]) == {0: 8 * BS, 1: 6 * BS}, "nodes %s" % nodes_of(evs[0]))
            n = s.take_renames()
            check(n == 1, "%d rewrites of the file" % n)
            f = s.file()
            check(f["CAPACITY_SEQUENCE"] == "2" and int(f["ONLINE_BYTES"]) == 14 * BS
                  and f["NODE_ONLINE_BYTES"] == {0: 8 * BS, 1: 6 * BS}, "file %s" % f)
            sigs = c.signals_since(mark)
            last_state = max(k for k, sg in enumerate(sigs) if sg[3] == "BlockStatesChanged")
            first_cap = min(k for k, sg in enumerate(sigs) if sg[3] == "CapacityChanged")
            check(last_state < first_cap, "CapacityChanged came before the last BlockStatesChanged")

        case.run("hot-add of 8 blocks on two nodes: one CapacityChanged (sequence 2, the new totals per node) and one "
                 "rewrite of the file, after the one JobFinished", hotadd)

        def failed():
            mark = c.mark()
            bed.emu.expect(200, "online_movable")
            b = Block(200, 0)
            bed.add_block(b, link_node=False)
            bed.set_fault(200, "EIO")
            bed.link_node(b)
            evs = settled_events(s, mark)
            fins = [tuple(sg[4]) for sg in c.signals_since(mark, "JobFinished")]
            check(fins == [(1, 0, 1)], "JobFinished %s" % fins)
            check(evs == [], "CapacityChanged %s" % evs)
            check(s.take_renames() == 0, "the file was rewritten")

        case.run("a hot-add whose only block fails to online changes nothing: JobFinished, no CapacityChanged, no "
                 "rewrite", failed)

        def unplug():
            mark = c.mark()
            gone = [104, 105, 106, 107]
            for i in gone:
                bed.emu.expect(i, "offline")
            res = c.call("OfflineBlocks", (gone,), "(au)")[0]
            check(all(r[1] for r in res), "OfflineBlocks %s" % res)
            evs = settled_events(s, mark)
            case.note("CapacityChanged: %s" % evs)
            check(len(evs) == 1 and evs[0][0] == 3 and evs[0][1] == 10 * BS, "CapacityChanged %s" % evs)
            check(nodes_of(evs[0]) == {0: 8 * BS, 1: 2 * BS}, "nodes %s" % nodes_of(evs[0]))
            check(s.take_renames() == 1, "not one rewrite")
            mark = c.mark()
            for i in gone:
                remove_block(bed, i)
            for i in gone:
                s.daemon.wait_line(r"memory%d: removed" % i)
            c.prop("OnlineBytes")
            check(events(c, mark) == [], "CapacityChanged after the removal: %s" % events(c, mark))
            check(s.take_renames() == 0, "the file was rewritten at the removal")

        case.run("unplug: OfflineBlocks of a node's 4 hot-added blocks is one CapacityChanged (sequence 3) and one "
                 "rewrite; their removal after it, none", unplug)

        def restart():
            before = s.file()
            ino = os.stat(s.path()).st_ino
            check(s.daemon.stop() == 0, "the daemon did not exit 0")
            mark = c.mark()
            s.start()
            s.daemon.wait_line(r"Scanned \d+ memory blocks")
            c.prop("OnlineBytes")
            check(events(c, mark) == [], "CapacityChanged at the restart: %s" % events(c, mark))
            check(s.take_renames() == 0, "the file was rewritten at the restart")
            check(os.stat(s.path()).st_ino == ino and s.file() == before, "the file changed: %s" % s.file())
            check(not re.search(r"capacity event", s.daemon.log()), "the restart logged an event")

        case.run("restart: SIGTERM and a start with the memory unchanged: no CapacityChanged, the file not rewritten",
                 restart)

        def added_while_down():
            check(s.daemon.stop() == 0, "the daemon did not exit 0")
            for i in (300, 301):
                bed.emu.expect(i, "online_movable")
                bed.add_block(Block(i, 1), announce=False)
            s.start()
            bed.emu.wait_online([300, 301])
            s.wait_idle()
            s.daemon.wait_line(r"capacity event 4")
            f = s.file()
            check(f["CAPACITY_SEQUENCE"] == "4" and f["NODE_ONLINE_BYTES"] == {0: 8 * BS, 1: 4 * BS}, "file %s" % f)
            check(s.take_renames() == 1, "not one rewrite")
            check(len(re.findall(r"capacity event", s.daemon.log())) == 1, "more than one event logged")

        case.run("restart after a hot-add while the daemon was down: the start's job is one event (sequence 4)",
                 added_while_down)
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(harness.main([test_capacity], files=[busclient.BUS_POLICY]))
