#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests of offlining and unplug preparation: offline writes that stall, their timeout,
CancelJob, PrepareUnplug, and the loop staying responsive throughout.

Usage: test-unplug.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]

The real daemon runs under umockdev against a testbed of fake memory blocks, on a private
dbus-daemon (busclient.py). The fault preload plays a kernel whose offline retry loop does not end:
"stall MS" makes the write to memoryN/state sleep MS milliseconds, ended early with EINTR by a
signal to the writing thread (as offline_pages() gives up on signal_pending()), else EBUSY.
"hold RESULT" holds the write, deaf to signals, until the test releases it, and "late RESULT"
until the daemon's first signal: a kernel that ends an offline its own way (done, or EBUSY) just as
the daemon interrupts it. Both are deterministic points, not timings.

The daemon gets a NOTIFY_SOCKET of the test's own and WATCHDOG_USEC, so the test sees every
WATCHDOG=1 it sends while a write is stalled.

Output is TAP. MHP_TEST_ONLY=<substring of a scenario function's name> runs only those.
"""

import os
import re
import shutil
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BUS_NAME, BusSetup, Client, PrivateBus  # noqa: E402
from harness import TAP, Bed, Block, check, scenario, state_writes, wait_until  # noqa: E402

busclient.init(__doc__)
CTL = busclient.CTL

BASE = "[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\nMaxAttempts=1\n"
# A functional bound for a property read while a write is stalled: far above the few milliseconds
# it takes. The machine is shared, and a read now and then waits a few hundred milliseconds for a
# core (seen: 245 ms at a load average of 6 on 2 cores); a loop held by the write would instead
# keep a read waiting until the timeout ends the write (2.5 s). So: nearly every read within
# RESPONSIVE_S, and every one well within the timeout.
RESPONSIVE_S = 0.100
RESPONSIVE_SHARE = 0.95
NEVER_S = 1.0
WATCHDOG_USEC = 1000000
SHUTTING_DOWN = "org.memhotplug1.Error.ShuttingDown"
RETRYING = "[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\nMaxAttempts=3\nRetrySec=500ms\n" \
           "OfflineTimeoutSec=0\n\n[Memory]\nOnline=movable\n"


class Notify:
    """A NOTIFY_SOCKET the test owns: every datagram, timestamped."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic, text)
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode(errors="replace")))

    def watchdogs(self, start, end):
        with self.lock:
            return [t for t, m in self.messages if start <= t <= end and "WATCHDOG=1" in m.split("\n")]

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


class Setup(BusSetup):
    """A private bus, a testbed of blocks online in ZONE_MOVABLE (and some in Normal), the daemon
    with the test's notify socket and watchdog, and a client."""

    def __init__(self, case, blocks, config, before_start=None):
        self.notify = None
        try:
            self.bus = PrivateBus()
            self.bed = Bed(blocks)
            self.bed.bus_address = self.bus.address
            self.bed.write_config(config)
            if before_start:
                before_start(self.bed)
            self.notify = Notify(self.bed.tmp)
            self.client = Client(self.bus.address)
            for i, b in self.bed.blocks.items():
                self.bed.emu.expect(i, None)  # nothing written unless a test says so
            self.daemon = self.bed.daemon(extra_env={"NOTIFY_SOCKET": self.notify.path,
                                                      "WATCHDOG_USEC": str(WATCHDOG_USEC)})
            case.daemon = self.daemon
            self.daemon.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
            wait_until(lambda: tuple(self.client.prop("JobProgress")) == (0, 0, 0), what="an idle daemon")
        except BaseException:
            self.close()
            raise

    def close(self):
        super().close()
        if self.notify:
            self.notify.close()


def movable(i, node=0):
    return Block(i, node, state="online", zones=("Movable",))


class AsyncCall:
    """A method call on a thread of its own, so the test can poke the daemon while it waits."""

    def __init__(self, client, method, args, sig, timeout=60):
        self.result = self.error = None
        self.t_reply = None
        self.thread = threading.Thread(target=self._run, args=(client, method, args, sig, timeout), daemon=True)
        self.t_call = time.monotonic()
        self.thread.start()

    def _run(self, client, method, args, sig, timeout):
        try:
            self.result = client.call(method, args, sig, timeout=timeout)
        except Exception as e:  # noqa: BLE001 - reported by the check that reads it
            self.error = e
        self.t_reply = time.monotonic()

    def done(self):
        return not self.thread.is_alive()

    def wait(self, timeout=30):
        self.thread.join(timeout)
        check(not self.thread.is_alive(), "no reply within %ds" % timeout)
        check(self.error is None, "the call failed: %s" % self.error)
        return self.result


def probe_latencies(client, until, period=0.02):
    """Reads a property over and over until until() holds; returns each read's latency."""
    lat = []
    deadline = time.monotonic() + 30
    while not until() and time.monotonic() < deadline:
        t = time.monotonic()
        client.prop("JobProgress")
        lat.append(time.monotonic() - t)
        time.sleep(period)
    return lat


def writes_so_far(bed):
    """How many state writes the emulator has seen, once it has caught up with the daemon."""
    bed.emu.settle()
    with bed.emu.cond:
        return len(bed.emu.writes)


def held(bed, index):
    """Whether the fault preload holds a "hold"/"late" write to memoryN/state now."""
    return os.path.exists(os.path.join(bed.block_dir(index), "state.held"))


def release(bed, index):
    """Ends a "hold" write (the preload then removes the file)."""
    open(os.path.join(bed.block_dir(index), "state.release"), "w").close()


def offline_held(c, bed, index, fault, blocks=None):
    """OfflineBlocks of blocks (default: memory<index> alone) on a thread, with a "hold" or "late"
    fault on memory<index>; returns the call once its write is held."""
    bed.set_fault(index, fault)
    bed.emu.expect(index, "offline")
    call = AsyncCall(c, "OfflineBlocks", (blocks or [index],), "(au)")
    wait_until(lambda: held(bed, index) or call.done(), what="the write to memory%d to be held" % index)
    return call


@scenario(["stalled offline: while the write blocks, property reads answer within 100 ms (95%) and 1 s (all)",
           "stalled offline: WATCHDOG=1 keeps coming while the write blocks",
           "stalled offline: interrupted at OfflineTimeoutSec, the reply says timed out and why, the block "
           "stays online, OfflineProgress says timed-out",
           "stalled offline: the job ends (JobProgress back to 0) and the next offline works"])
def test_timeout(case):
    s = Setup(case, [movable(i) for i in range(4)], BASE + "OfflineTimeoutSec=2500ms\n\n[Memory]\nOnline=movable\n")
    c, bed = s.client, s.bed
    try:
        bed.set_fault(3, "stall 20000 1")
        bed.emu.expect(3, "offline")
        mark = c.mark()
        call = AsyncCall(c, "OfflineBlocks", ([3],), "(au)")
        # The write is in flight once the state reads going-offline.
        wait_until(lambda: bed.read_attr(3, "state") == "going-offline" or call.done(), what="the write to stall")
        t0 = time.monotonic()
        lat = probe_latencies(c, call.done)
        t1 = time.monotonic()
        case.note("stall ended after %.3fs; %d reads, slowest %.1f ms, median %.1f ms"
                  % (t1 - t0, len(lat), max(lat) * 1e3, sorted(lat)[len(lat) // 2] * 1e3))
        print("# stalled offline: %d property reads in %.2fs, slowest %.1f ms, median %.1f ms"
              % (len(lat), t1 - t0, max(lat) * 1e3, sorted(lat)[len(lat) // 2] * 1e3), flush=True)

        def responsive():
            check(len(lat) >= 10, "only %d reads during the stall" % len(lat))
            slow = [x for x in lat if x > RESPONSIVE_S]
            check(len(slow) <= (1 - RESPONSIVE_SHARE) * len(lat) and max(lat) < NEVER_S,
                  "%d of %d reads took over %.0f ms, the slowest %.3fs: %s"
                  % (len(slow), len(lat), RESPONSIVE_S * 1e3, max(lat), ["%.3f" % x for x in slow[:5]]))

        case.run("stalled offline: while the write blocks, property reads answer within 100 ms (95%) and 1 s (all)",
                 responsive)

        def watchdog():
            pings = s.notify.watchdogs(t0 - WATCHDOG_USEC / 1e6, t1)
            # Every moment of the stall within WATCHDOG_USEC of a ping: systemd would not have
            # killed the daemon.
            gaps = [b - a for a, b in zip(pings, pings[1:] + [t1])]
            print("# WATCHDOG=1 from 1 s before to the end of the %.2fs stall: %d, largest gap %.3fs (WATCHDOG_USEC=%d)"
                  % (t1 - t0, len(pings), max(gaps) if gaps else 0, WATCHDOG_USEC), flush=True)
            check(len(pings) >= 3, "%d WATCHDOG=1 in %.2fs" % (len(pings), t1 - t0))
            check(max(gaps) < WATCHDOG_USEC / 1e6, "a gap of %.3fs between pings" % max(gaps))

        case.run("stalled offline: WATCHDOG=1 keeps coming while the write blocks", watchdog)

        def timed_out():
            res = [tuple(r) for r in call.wait()[0]]
            check(len(res) == 1 and res[0][:2] == (3, False) and "timed out after 2.5s" in res[0][2]
                  and "stays online" in res[0][2], "reply %r" % res)
            elapsed = call.t_reply - call.t_call
            check(2.4 <= elapsed < 10, "the reply came after %.2fs, want about 2.5s" % elapsed)
            w3 = [(w.value, w.result) for w in state_writes(bed, 3)]
            check(w3 == [("offline", "EINTR")], "memory3 got %s" % w3)
            check(bed.read_attr(3, "state") == "online", "memory3 is %s" % bed.read_attr(3, "state"))
            rows = {r[0]: r for r in c.call("ListBlocks")[0]}
            check(rows[3][2:4] == ("online", "Movable"), "ListBlocks row %r" % (rows[3],))
            c.wait_signal(lambda sg: sg[3] == "OfflineProgress" and tuple(sg[4])[:2] == (3, "timed-out"),
                          "OfflineProgress(3, timed-out)", mark)
            s.daemon.wait_line(r"memory3.*Offlining timed out after 2\.5s")

        case.run("stalled offline: interrupted at OfflineTimeoutSec, the reply says timed out and why, the block "
                 "stays online, OfflineProgress says timed-out", timed_out)

        def next_one():
            wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="JobProgress (0, 0, 0)")
            bed.emu.expect(2, "offline")
            res = [tuple(r) for r in c.call("OfflineBlocks", ([2],), "(au)")[0]]
            check(res == [(2, True, "")], "reply %r" % res)
            bed.emu.wait_offline([2])

        case.run("stalled offline: the job ends (JobProgress back to 0) and the next offline works", next_one)
    finally:
        s.close()


@scenario(["CancelJob: the stalled write is interrupted, the queued block never written, both answered "
           "'cancelled', CancelJob returns 2 and a row for each (and the log says no timeout under "
           "OfflineTimeoutSec=0)",
           "CancelJob (and memhotplugctl cancel) with nothing running returns 0; as nobody it is refused",
           "EBUSY in ZONE_NORMAL: the reply names the zone and says not removable; OfflineProgress says refused",
           "OfflineBlocks of several blocks writes them from the top address down"])
def test_cancel(case):
    blocks = [movable(i) for i in range(6)] + [Block(6, 0, state="online", zones=("Normal",))]
    s = Setup(case, blocks, BASE + "OfflineTimeoutSec=0\n\n[Memory]\nOnline=movable\n")
    c, bed = s.client, s.bed
    try:
        def cancel():
            bed.set_fault(5, "stall 30000 1")
            bed.emu.expect(4, "offline")
            bed.emu.expect(5, "offline")
            call = AsyncCall(c, "OfflineBlocks", ([4, 5],), "(au)")
            wait_until(lambda: bed.read_attr(5, "state") == "going-offline" or call.done(), what="the write to stall")
            time.sleep(0.3)  # well into the stall
            t = time.monotonic()
            n, rows = c.call("CancelJob")
            res = [tuple(r) for r in call.wait()[0]]
            check(n == 2 and [tuple(r) for r in rows] == [(4, True, "not started, the block stays online"),
                                                          (5, True, "interrupted, the block stays online")],
                  "CancelJob returned %r %r" % (n, rows))
            check([r[:2] for r in res] == [(4, False), (5, False)] and all("cancelled" in r[2] for r in res),
                  "reply %r" % res)
            check(call.t_reply - t < 5, "the reply came %.2fs after CancelJob" % (call.t_reply - t))
            w5 = [(w.value, w.result) for w in state_writes(bed, 5)]
            check(w5 == [("offline", "EINTR")], "memory5 got %s" % w5)
            check(not state_writes(bed, 4), "memory4 got %s" % state_writes(bed, 4))
            check(bed.read_attr(4, "state") == "online" and bed.read_attr(5, "state") == "online", "not online")
            wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="JobProgress (0, 0, 0)")
            # OfflineTimeoutSec=0 is no limit: the log said "timeout 0.0s" before.
            check(s.daemon.find(r"memory5.*Offlining \(on a thread, no timeout\)")
                  and not s.daemon.find(r"Offlining \(on a thread, timeout 0\.0s\)"),
                  "the offline's log line says no timeout under OfflineTimeoutSec=0")

        case.run("CancelJob: the stalled write is interrupted, the queued block never written, both answered "
                 "'cancelled', CancelJob returns 2 and a row for each (and the log says no timeout under "
                 "OfflineTimeoutSec=0)", cancel)

        def idle_and_nobody():
            check(c.call("CancelJob") == (0, []), "CancelJob when idle")
            if CTL:
                out = busclient.ctl(s.bus.address, "cancel")
                check(out.returncode == 0 and "Nothing to cancel" in out.stdout,
                      "memhotplugctl cancel: %d %r %r" % (out.returncode, out.stdout, out.stderr))
            out = busclient.as_user(s.bus.address, [(busclient.PATH, busclient.MANAGER, "CancelJob", None, [])])
            check(not out[0]["ok"] and out[0]["error"] == "org.freedesktop.DBus.Error.AccessDenied",
                  "as nobody: %r" % out)

        case.run("CancelJob (and memhotplugctl cancel) with nothing running returns 0; as nobody it is refused",
                 idle_and_nobody)

        def busy_normal():
            bed.set_fault(6, "EBUSY 1")
            bed.emu.expect(6, "offline")
            mark = c.mark()
            res = [tuple(r) for r in c.call("OfflineBlocks", ([6],), "(au)")[0]]
            check(len(res) == 1 and res[0][:2] == (6, False) and "EBUSY" in res[0][2]
                  and "zone Normal" in res[0][2] and "not removable" in res[0][2], "reply %r" % res)
            c.wait_signal(lambda sg: sg[3] == "OfflineProgress" and tuple(sg[4])[:2] == (6, "refused"),
                          "OfflineProgress(6, refused)", mark)

        case.run("EBUSY in ZONE_NORMAL: the reply names the zone and says not removable; OfflineProgress says refused",
                 busy_normal)

        def order():
            for i in range(4):
                bed.emu.expect(i, "offline")
            n = writes_so_far(bed)
            res = [tuple(r) for r in c.call("OfflineBlocks", ([1, 0, 3, 2],), "(au)")[0]]
            check(res == [(i, True, "") for i in range(4)], "reply %r" % res)
            bed.emu.settle()
            got = [w.index for w in bed.emu.writes[n:]]
            check(got == [3, 2, 1, 0], "written in the order %s" % got)

        case.run("OfflineBlocks of several blocks writes them from the top address down", order)
    finally:
        s.close()


def virtio_mem_region(bed, name, index):
    """The daemon's /proc/iomem (--iomem) with a virtio-mem device's region over one 256 MiB block and
    the System RAM it added, as the kernel shows it to a reader with CAP_SYS_ADMIN."""
    start, end = index << 28, ((index + 1) << 28) - 1
    with open(bed.iomem, "w") as f:
        f.write("00001000-0009fbff : System RAM\n"
                "  %x-%x : %s\n"
                "    %x-%x : System RAM (virtio_mem)\n" % (start, end, name, start, end))


def acpi_memory_device(bed, name, indices):
    """/sys/bus/acpi/devices/NAME with a physical_node link per block, as the kernel's ACPI memory
    driver makes them (physical_node, physical_node1, ...)."""
    d = os.path.join(bed.sys_dir, "bus/acpi/devices", name)
    os.makedirs(d)
    for k, i in enumerate(indices):
        os.symlink("../../../../devices/system/memory/memory%d" % i,
                   os.path.join(d, "physical_node" + (str(k) if k else "")))


@scenario(["PrepareUnplug of a DIMM (PNP0C80) in ZONE_MOVABLE: its blocks offlined from the top down, "
           "a(ubs) all true, OfflineProgress for each after the BlockStatesChanged saying it is offline, the other "
           "blocks untouched",
           "PrepareUnplug of a DIMM with a block in ZONE_NORMAL: NotRemovable naming the block and the zone, "
           "nothing written",
           "PrepareUnplug of a block range whose top block times out: OfflineFailed naming it and why, the "
           "blocks below never written (the unplug stops at the first block that stays)",
           "PrepareUnplug of an address range takes the blocks it overlaps",
           "PrepareUnplug errors: InvalidArgs, NoSuchDevice, NoSuchBlock; as nobody AccessDenied",
           "memhotplugctl unplug: exit 0 and 'can be removed now'; a kernel-zone DIMM exits 1 and says why",
           "memhotplugctl unplug virtio5: the daemon finds the device's region in the /proc/iomem it opened at "
           "start (a fixture here) and offlines its block; memhotplugctl passes the name as it is"])
def test_prepare_unplug(case):
    blocks = ([Block(i, 0, state="online", zones=("Normal",)) for i in range(2)] + [movable(i) for i in range(2, 10)]
              + [Block(10, 0, state="online", zones=("Normal",)), movable(11)])
    s = Setup(case, blocks, BASE + "OfflineTimeoutSec=1\n\n[Memory]\nOnline=movable\n",
              before_start=lambda bed: (virtio_mem_region(bed, "virtio5", 11),
                                        acpi_memory_device(bed, "PNP0C80:00", [4, 5, 6, 7]),
                                        acpi_memory_device(bed, "PNP0C80:01", [10, 11]),
                                        acpi_memory_device(bed, "PNP0C80:02", [8, 9])))
    c, bed = s.client, s.bed
    try:
        def dimm():
            for i in (4, 5, 6, 7):
                bed.emu.expect(i, "offline")
            mark, n = c.mark(), writes_so_far(bed)
            res = [tuple(r) for r in c.call("PrepareUnplug", ("PNP0C80:00",), "(s)")[0]]
            check(res == [(i, True, "") for i in (4, 5, 6, 7)], "reply %r" % res)
            bed.emu.settle()
            check([(w.index, w.value) for w in bed.emu.writes[n:]] == [(i, "offline") for i in (7, 6, 5, 4)],
                  "writes %s" % bed.emu.writes[n:])
            # The reply can reach this thread before the bus thread has taken the last signal.
            c.wait_signal(lambda sg: sg[3] == "OfflineProgress" and sg[4][0] == 4, "memory4's OfflineProgress", mark)
            progress = [tuple(sg[4]) for sg in c.signals_since(mark, "OfflineProgress")]
            check([p[:2] for p in progress] == [(i, "offlined") for i in (7, 6, 5, 4)], "OfflineProgress %r" % progress)
            sigs = c.signals_since(mark)
            rows = busclient.state_rows(sigs)
            for k, sg in enumerate(sigs):
                if sg[3] == "OfflineProgress":
                    before = [r[1:] for r in rows if r[0] < k and r[1] == sg[4][0]]
                    check(before == [(sg[4][0], "offline", "")],
                          "memory%d's OfflineProgress came after the rows %s" % (sg[4][0], before))
            check(all(bed.read_attr(i, "state") == "offline" for i in (4, 5, 6, 7)), "not all offline")
            s.daemon.wait_line(r"PNP0C80:00 is offline and can be removed")

        case.run("PrepareUnplug of a DIMM (PNP0C80) in ZONE_MOVABLE: its blocks offlined from the top down, "
                 "a(ubs) all true, OfflineProgress for each after the BlockStatesChanged saying it is offline, the "
                 "other blocks untouched", dimm)

        def kernel_zone():
            n = writes_so_far(bed)
            e = c.error_of("PrepareUnplug", ("PNP0C80:01",), "(s)")
            check(e.name == "org.memhotplug1.Error.NotRemovable", "got %s" % e)
            check("memory10" in e.message and "zone Normal" in e.message and "not removable" in e.message,
                  "message %r" % e.message)
            bed.emu.settle()
            check(len(bed.emu.writes) == n, "written: %s" % bed.emu.writes[n:])

        case.run("PrepareUnplug of a DIMM with a block in ZONE_NORMAL: NotRemovable naming the block and the zone, "
                 "nothing written", kernel_zone)

        def range_timeout():
            bed.set_fault(3, "stall 20000 1")
            for i in (2, 3):
                bed.emu.expect(i, "offline")
            n = writes_so_far(bed)
            e = c.error_of("PrepareUnplug", ("memory2-memory3",), "(s)", timeout=30)
            check(e.name == "org.memhotplug1.Error.OfflineFailed", "got %s" % e)
            check(re.search(r"memory3 holds it up: timed out after 1\.0s", e.message) and "2 of 2" in e.message,
                  "message %r" % e.message)
            bed.emu.settle()
            check([(w.index, w.result) for w in bed.emu.writes[n:]] == [(3, "EINTR")], "writes %s" % bed.emu.writes[n:])
            check(bed.read_attr(2, "state") == "online" and bed.read_attr(3, "state") == "online", "not online")
            wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="JobProgress (0, 0, 0)")

        case.run("PrepareUnplug of a block range whose top block times out: OfflineFailed naming it and why, the "
                 "blocks below never written (the unplug stops at the first block that stays)", range_timeout)

        def addresses():
            for i in (2, 3):
                bed.emu.expect(i, "offline")
            n = writes_so_far(bed)
            # 256 MiB blocks: 0x2fffffff is in block 2, 0x30000000 starts block 3.
            res = [tuple(r) for r in c.call("PrepareUnplug", ("0x2fffffff-0x30000000",), "(s)")[0]]
            check(res == [(2, True, ""), (3, True, "")], "reply %r" % res)
            bed.emu.settle()
            check([(w.index, w.value) for w in bed.emu.writes[n:]] == [(3, "offline"), (2, "offline")],
                  "writes %s" % bed.emu.writes[n:])

        case.run("PrepareUnplug of an address range takes the blocks it overlaps", addresses)

        def errors():
            n = writes_so_far(bed)
            for target, name in (("bogus", "org.freedesktop.DBus.Error.InvalidArgs"),
                                 ("5-2", "org.freedesktop.DBus.Error.InvalidArgs"),
                                 ("PNP0C80:09", "org.memhotplug1.Error.NoSuchDevice"),
                                 ("../PNP0C80:00", "org.memhotplug1.Error.NoSuchDevice"),
                                 ("dax9.9", "org.memhotplug1.Error.NoSuchDevice"),
                                 ("virtio6", "org.memhotplug1.Error.NoSuchDevice"),
                                 ("11-12", "org.memhotplug1.Error.NoSuchBlock"),
                                 ("0x300000000-0x3ffffffff", "org.memhotplug1.Error.NoSuchDevice"),
                                 ("0x30-0x20", "org.freedesktop.DBus.Error.InvalidArgs")):
                e = c.error_of("PrepareUnplug", (target,), "(s)")
                check(e.name == name, "PrepareUnplug(%r): %s, want %s" % (target, e, name))
            out = busclient.as_user(s.bus.address, [(busclient.PATH, busclient.MANAGER, "PrepareUnplug", "(s)", ["8"])])
            check(not out[0]["ok"] and out[0]["error"] == "org.freedesktop.DBus.Error.AccessDenied", "as nobody: %r" % out)
            bed.emu.settle()
            check(len(bed.emu.writes) == n, "written: %s" % bed.emu.writes[n:])

        case.run("PrepareUnplug errors: InvalidArgs, NoSuchDevice, NoSuchBlock; as nobody AccessDenied", errors)

        def ctl():
            check(CTL, "memhotplugctl is not built")
            for i in (8, 9):
                bed.emu.expect(i, "offline")
            out = busclient.ctl(s.bus.address, "unplug", "PNP0C80:02")
            check(out.returncode == 0 and "PNP0C80:02 is offline: it can be removed now" in out.stdout,
                  "unplug PNP0C80:02: %d %r %r" % (out.returncode, out.stdout, out.stderr))
            # The emulator plays the kernel's part of each write after it: let it finish first.
            bed.emu.settle()
            check(bed.read_attr(8, "state") == "offline" and bed.read_attr(9, "state") == "offline", "not offline")
            out = busclient.ctl(s.bus.address, "unplug", "PNP0C80:01")
            check(out.returncode == 1 and "memory10" in out.stderr and "not removable" in out.stderr,
                  "unplug PNP0C80:01: %d %r %r" % (out.returncode, out.stdout, out.stderr))

        case.run("memhotplugctl unplug: exit 0 and 'can be removed now'; a kernel-zone DIMM exits 1 and says why", ctl)

        def virtio():
            bed.emu.expect(11, "offline")
            out = busclient.ctl(s.bus.address, "unplug", "virtio5")
            check(out.returncode == 0 and "virtio5 is offline: it can be removed now" in out.stdout
                  and "virtio5 is 0x" not in out.stdout,
                  "unplug virtio5: %d %r %r" % (out.returncode, out.stdout, out.stderr))
            bed.emu.settle()
            check(bed.read_attr(11, "state") == "offline", "memory11 not offline")

        case.run("memhotplugctl unplug virtio5: the daemon finds the device's region in the /proc/iomem it opened at "
                 "start (a fixture here) and offlines its block; memhotplugctl passes the name as it is", virtio)
    finally:
        s.close()


def remove_block(bed, index):
    """What the kernel does when a block goes (ACPI eject, virtio-mem unplug, kmem unbind): the
    "remove" uevent, then the directory is gone."""
    bed.uevent(index, "remove")
    with bed.lock:
        bed.testbed.remove_device(bed.syspath(index))  # its class link too, so it can come back
    shutil.rmtree(bed.block_dir(index), ignore_errors=True)
    bed.blocks.pop(index, None)


def check_removed_after_offline(c, mark, index):
    """The block's object goes (InterfacesRemoved) after one BlockStatesChanged row said it is offline."""
    path = busclient.PATH + "/block/%d" % index
    c.wait_signal(lambda sg: sg[3] == "InterfacesRemoved" and sg[4][0] == path, "InterfacesRemoved for block %d" % index,
                  mark)
    sigs = c.signals_since(mark)
    gone = next(k for k, sg in enumerate(sigs) if sg[3] == "InterfacesRemoved" and sg[4][0] == path)
    rows = [r for r in busclient.state_rows(sigs) if r[1] == index]
    check([r[1:] for r in rows] == [(index, "offline", "")] and rows[0][0] < gone,
          "block %d's rows %s, InterfacesRemoved at %d" % (index, rows, gone))


@scenario(["a block offlined by someone else (as virtio-mem or chmem do) is left offline: not written across "
           "Reload and Rescan, the Plan says offlined on purpose",
           "a removed block leaves at once: its object is gone (InterfacesRemoved, after the BlockStatesChanged "
           "saying it is offline), ListBlocks and PresentBytes lack it",
           "a block removed while its offline is in flight is answered 'removed' and counted removed",
           "a block whose offline write answers ENODEV is answered 'removed' and its object goes "
           "(InterfacesRemoved)",
           "SIGTERM during a stalled offline: the write is interrupted, the daemon exits 0 at once, the "
           "waiting call gets ShuttingDown naming the block, the block stays online"])
def test_others(case):
    blocks = [movable(i) for i in range(6)]
    s = Setup(case, blocks, BASE + "OfflineTimeoutSec=0\n\n[Memory]\nOnline=movable\n")
    c, bed = s.client, s.bed
    try:
        def someone_else():
            bed.write_attr(1, "valid_zones", "Normal Movable")
            bed.write_attr(1, "state", "offline")
            bed.uevent(1, "offline")
            s.daemon.wait_line(r"memory1: Offlined by someone else, leaving it offline")
            n = writes_so_far(bed)
            c.call("Reload")
            c.call("Rescan")
            time.sleep(0.5)
            wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="an idle daemon")
            bed.emu.settle()
            check(len(bed.emu.writes) == n, "written: %s" % bed.emu.writes[n:])
            plan = {r[0]: r for r in c.call("Plan")[0]}
            check(1 in plan and plan[1][2] == "none" and "offlined on purpose" in plan[1][7], "Plan %r" % (plan.get(1),))

        case.run("a block offlined by someone else (as virtio-mem or chmem do) is left offline: not written across "
                 "Reload and Rescan, the Plan says offlined on purpose", someone_else)

        def removed():
            mark = c.mark()
            present = c.prop("PresentBytes")
            bed.write_attr(2, "valid_zones", "Normal Movable")
            bed.write_attr(2, "state", "offline")
            bed.uevent(2, "offline")
            remove_block(bed, 2)
            check_removed_after_offline(c, mark, 2)
            e = c.error_of("Get", ("org.memhotplug1.Block", "State"), "(ss)", path=busclient.PATH + "/block/2",
                           iface=busclient.PROPS)
            check(e.name in ("org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownInterface",
                             "org.freedesktop.DBus.Error.UnknownMethod"), "Get on block 2: %s" % e)
            check(2 not in [r[0] for r in c.call("ListBlocks")[0]], "ListBlocks still has block 2")
            check(c.prop("PresentBytes") == present - int(harness.FAKE_BLOCK_SIZE, 16),
                  "PresentBytes %d, was %d" % (c.prop("PresentBytes"), present))
            # Removed while it still was online (its "offline" uevent lost): its last state and its
            # removal come in one loop iteration, the state first all the same.
            mark = c.mark()
            remove_block(bed, 0)
            check_removed_after_offline(c, mark, 0)

        case.run("a removed block leaves at once: its object is gone (InterfacesRemoved, after the BlockStatesChanged "
                 "saying it is offline), ListBlocks and PresentBytes lack it", removed)

        def removed_in_flight():
            bed.set_fault(5, "stall 3000 1")
            bed.emu.expect(5, "offline")
            call = AsyncCall(c, "OfflineBlocks", ([5],), "(au)")
            wait_until(lambda: bed.read_attr(5, "state") == "going-offline" or call.done(), what="the write to stall")
            remove_block(bed, 5)
            res = [tuple(r) for r in call.wait()[0]]
            check(res == [(5, False, "removed")], "reply %r" % res)
            s.daemon.wait_line(r"Finished: 0 of 1 blocks done .* 1 removed before they were handled")

        case.run("a block removed while its offline is in flight is answered 'removed' and counted removed",
                 removed_in_flight)

        def enodev():
            bed.set_fault(3, "ENODEV 1")
            bed.emu.expect(3, "offline")
            mark = c.mark()
            res = [tuple(r) for r in c.call("OfflineBlocks", ([3],), "(au)")[0]]
            check(res == [(3, False, "removed")], "reply %r" % res)
            c.wait_signal(lambda sg: sg[3] == "InterfacesRemoved" and sg[4][0] == busclient.PATH + "/block/3",
                          "InterfacesRemoved for block 3", mark)

        case.run("a block whose offline write answers ENODEV is answered 'removed' and its object goes "
                 "(InterfacesRemoved)", enodev)

        def sigterm():
            bed.set_fault(4, "stall 30000 1")
            bed.emu.expect(4, "offline")
            call = AsyncCall(c, "OfflineBlocks", ([4],), "(au)")
            wait_until(lambda: bed.read_attr(4, "state") == "going-offline" or call.done(), what="the write to stall")
            t = time.monotonic()
            rc = s.daemon.stop()
            took = time.monotonic() - t
            print("# SIGTERM during a stalled offline: the daemon exited after %.2fs" % took, flush=True)
            check(rc == 0 and took < 5, "exit status %s after %.2fs" % (rc, took))
            call.thread.join(10)
            check(call.error is not None and call.error.name == SHUTTING_DOWN
                  and "memory4: interrupted: the daemon is stopping, the block stays online" in call.error.message,
                  "the call got %r, want ShuttingDown" % (call.error or call.result,))
            w4 = [(w.value, w.result) for w in state_writes(bed, 4)]
            check(w4 == [("offline", "EINTR")], "memory4 got %s" % w4)
            check(bed.read_attr(4, "state") == "online", "memory4 is %s" % bed.read_attr(4, "state"))

        case.run("SIGTERM during a stalled offline: the write is interrupted, the daemon exits 0 at once, the "
                 "waiting call gets ShuttingDown naming the block, the block stays online", sigterm)
    finally:
        s.close()


def marks(bed):
    try:
        with open(os.path.join(bed.runtime_dir, "offlined")) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


@scenario(["restart: blocks offlined on purpose (by someone else, by OfflineBlocks) are kept in the runtime "
           "directory and left offline by the restarted daemon",
           "restart: the temporary file a kill left beside the marks is removed, the marks kept",
           "restart: a marked block that was onlined while the daemon was down loses its mark, nothing written",
           "restart: a marked block that is removed and added again is onlined by the policy"])
def test_restart(case):
    s = Setup(case, [movable(i) for i in range(4)], BASE + "\n[Memory]\nOnline=movable\n")
    c, bed = s.client, s.bed
    try:
        bed.write_attr(1, "valid_zones", "Normal Movable")
        bed.write_attr(1, "state", "offline")
        bed.uevent(1, "offline")
        s.daemon.wait_line(r"memory1: Offlined by someone else")
        bed.emu.expect(2, "offline")
        check([tuple(r) for r in c.call("OfflineBlocks", ([2],), "(au)")[0]] == [(2, True, "")], "offline 2")
        wait_until(lambda: marks(bed) == ["memory1", "memory2"], what="the marks file to list memory1 and memory2")
        check(s.daemon.stop() == 0, "the daemon did not exit 0")
        # While it is down, someone onlines memory2 again.
        bed.write_attr(2, "valid_zones", "Movable")
        bed.write_attr(2, "state", "online")
        # A save killed before its rename leaves its temporary file next to the marks.
        stale = os.path.join(bed.runtime_dir, "offlined.Kq3x9Z")
        with open(stale, "w") as f:
            f.write("memory3\n")
        n = writes_so_far(bed)
        for i in range(4):
            bed.emu.expect(i, None)
        s.daemon = case.daemon = bed.daemon(extra_env={"NOTIFY_SOCKET": s.notify.path})
        s.daemon.wait_line(r"Acquired the bus name")
        wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="an idle daemon")

        def kept():
            s.daemon.wait_line(r"memory1: Left offline: it was offlined on purpose")
            bed.emu.settle()
            check(len(bed.emu.writes) == n, "written: %s" % bed.emu.writes[n:])
            check(bed.read_attr(1, "state") == "offline", "memory1 is %s" % bed.read_attr(1, "state"))
            plan = {r[0]: r for r in c.call("Plan")[0]}
            check(1 in plan and "offlined on purpose" in plan[1][7], "Plan %r" % (plan.get(1),))

        case.run("restart: blocks offlined on purpose (by someone else, by OfflineBlocks) are kept in the runtime "
                 "directory and left offline by the restarted daemon", kept)

        def stale_removed():
            check(not os.path.exists(stale), "%s is still there" % stale)
            check(marks(bed) == ["memory1"] or marks(bed) == ["memory1", "memory2"], "marks %r" % marks(bed))

        case.run("restart: the temporary file a kill left beside the marks is removed, the marks kept", stale_removed)

        def onlined_meanwhile():
            wait_until(lambda: marks(bed) == ["memory1"], what="the marks file to list memory1 only")
            bed.emu.settle()
            check(not bed.emu.writes_to(2)[1:], "memory2 written: %s" % bed.emu.writes_to(2))

        case.run("restart: a marked block that was onlined while the daemon was down loses its mark, nothing written",
                 onlined_meanwhile)

        def readded():
            remove_block(bed, 1)
            wait_until(lambda: marks(bed) == [], what="the marks file to go")
            bed.emu.expect(1, "online_movable")
            bed.add_block(Block(1, 0))
            bed.emu.wait_online([1])

        case.run("restart: a marked block that is removed and added again is onlined by the policy", readded)
    finally:
        s.close()


@scenario(["CancelJob against an offline the kernel ends with EBUSY as the signal comes (MaxAttempts=3): "
           "answered interrupted, the block stays online and is never written again",
           "CancelJob against an offline the kernel completes as the signal comes: the answer (and "
           "memhotplugctl cancel) says it was offlined before the cancel took effect, the block is marked"])
def test_cancel_outcomes(case):
    s = Setup(case, [movable(i) for i in range(6)], RETRYING)
    c, bed = s.client, s.bed
    try:
        def cancel_ebusy():
            call = offline_held(c, bed, 5, "late EBUSY 1", [4, 5])
            answer = c.call("CancelJob")
            res = [tuple(r) for r in call.wait()[0]]
            wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="JobProgress (0, 0, 0)")
            check(res == [(4, False, "cancelled, the block stays online"),
                          (5, False, "cancelled, the block stays online")], "OfflineBlocks answered %r" % res)
            w5, w4 = ([(w.value, w.result) for w in state_writes(bed, i)] for i in (5, 4))
            check(w5 == [("offline", "EBUSY")] and w4 == [], "memory5 got %s, memory4 %s" % (w5, w4))
            check(bed.read_attr(5, "state") == "online", "memory5 is %s" % bed.read_attr(5, "state"))
            check(len(answer) == 2 and answer[0] == 2
                  and [tuple(r) for r in answer[1]] == [(4, True, "not started, the block stays online"),
                                                        (5, True, "interrupted, the block stays online")],
                  "CancelJob answered %r" % (answer,))
            s.daemon.wait_line(r"memory5: The offline ended with Device or resource busy while it was being "
                               r"interrupted, not retrying")

        case.run("CancelJob against an offline the kernel ends with EBUSY as the signal comes (MaxAttempts=3): "
                 "answered interrupted, the block stays online and is never written again", cancel_ebusy)

        def cancel_completed():
            call = offline_held(c, bed, 3, "late ok 1")
            if CTL:
                out = busclient.ctl(s.bus.address, "cancel")
                check(out.returncode == 0 and out.stdout == "memory3: offlined before the cancel took effect\n"
                      "Nothing cancelled: the offlining under way ended before the cancel took effect.\n",
                      "memhotplugctl cancel: %d %r %r" % (out.returncode, out.stdout, out.stderr))
            else:
                answer = c.call("CancelJob")
                check(len(answer) == 2 and answer[0] == 0
                      and [tuple(r) for r in answer[1]] == [(3, False, "offlined before the cancel took effect")],
                      "CancelJob answered %r" % (answer,))
            res = [tuple(r) for r in call.wait()[0]]
            check(res == [(3, True, "")], "OfflineBlocks answered %r" % res)
            w3 = [(w.value, w.result) for w in state_writes(bed, 3)]
            check(w3 == [("offline", "ok")], "memory3 got %s" % w3)
            bed.emu.wait_offline([3])
            wait_until(lambda: marks(bed) == ["memory3"], what="the marks file to list memory3")

        case.run("CancelJob against an offline the kernel completes as the signal comes: the answer (and "
                 "memhotplugctl cancel) says it was offlined before the cancel took effect, the block is marked",
                 cancel_completed)
    finally:
        s.close()


@scenario(["SIGTERM during an offline no signal ends: the daemon exits 0 with the write still held, after "
           "its bounded wait, and the caller gets ShuttingDown",
           "SIGTERM while an offline completes: its outcome is recorded (the caller is answered offlined, the "
           "mark is written) and the restarted daemon leaves the block offline"])
def test_stop_outcomes(case):
    s = Setup(case, [movable(i) for i in range(6)], RETRYING)
    c, bed = s.client, s.bed
    try:
        def unending():
            try:
                call = offline_held(c, bed, 4, "hold EBUSY 1")
                # The write never ends on its own: the daemon must exit while it is held.
                t = time.monotonic()
                rc = s.daemon.stop()
                still_held = held(bed, 4)
                print("# SIGTERM during an offline no signal ends: the daemon exited after %.2fs"
                      % (time.monotonic() - t), flush=True)
            finally:
                release(bed, 4)  # a daemon that waits for ever (the old one) exits now
            call.thread.join(10)
            check(rc == 0, "exit status %s" % rc)
            check(still_held, "the write had ended before the daemon exited")
            check(s.daemon.find(r"memory4: The offline did not end within 3\.0s of the signal, exiting without"),
                  "no log line about the bounded wait")
            check(len(s.daemon.find(r"memory4: Interrupting the offline, waiting up to 3\.0s")) == 1,
                  "the exit waited for the write more than once")
            check(call.error is not None and call.error.name == SHUTTING_DOWN
                  and "The daemon is stopping: 1 of 1 block(s) not done" in call.error.message,
                  "the caller got %r" % (call.error or call.result,))

        case.run("SIGTERM during an offline no signal ends: the daemon exits 0 with the write still held, after "
                 "its bounded wait, and the caller gets ShuttingDown", unending)

        def completes():
            # The exit ended the held write's thread: the kernel would have put memory4 back online.
            for leftover in ("state.held", "state.release"):
                if os.path.exists(os.path.join(bed.block_dir(4), leftover)):
                    os.unlink(os.path.join(bed.block_dir(4), leftover))
            bed.write_attr(4, "state", "online")
            s.daemon = case.daemon = bed.daemon(extra_env={"NOTIFY_SOCKET": s.notify.path})
            s.daemon.wait_line(r"Acquired the bus name")
            wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="an idle daemon")
            call = offline_held(c, bed, 2, "late ok 1")
            # The exit's signal is the first the write sees: the kernel completes the offline then.
            check(s.daemon.stop() == 0, "the daemon did not exit 0")
            w2 = [(w.value, w.result) for w in state_writes(bed, 2)]
            check(w2 == [("offline", "ok")], "memory2 got %s" % w2)
            check(marks(bed) == ["memory2"], "the marks file lists %r" % marks(bed))
            res = call.wait()
            check([tuple(r) for r in res[0]] == [(2, True, "")], "OfflineBlocks answered %r" % (res,))
            bed.emu.wait_offline([2])
            n = writes_so_far(bed)
            s.daemon = case.daemon = bed.daemon(extra_env={"NOTIFY_SOCKET": s.notify.path})
            s.daemon.wait_line(r"memory2: Left offline: it was offlined on purpose")
            s.daemon.wait_line(r"Acquired the bus name")
            wait_until(lambda: tuple(c.prop("JobProgress")) == (0, 0, 0), what="an idle daemon")
            bed.emu.settle()
            check(len(bed.emu.writes) == n, "written after the restart: %s" % bed.emu.writes[n:])
            check(bed.read_attr(2, "state") == "offline", "memory2 is %s" % bed.read_attr(2, "state"))

        case.run("SIGTERM while an offline completes: its outcome is recorded (the caller is answered offlined, the "
                 "mark is written) and the restarted daemon leaves the block offline", completes)
    finally:
        s.close()


SCENARIOS = [test_timeout, test_cancel, test_cancel_outcomes, test_prepare_unplug, test_others, test_restart,
             test_stop_outcomes]


def main():
    return harness.main(SCENARIOS, files=[busclient.BUS_POLICY], tools=["dbus-daemon", "setpriv"])


if __name__ == "__main__":
    sys.exit(main())
