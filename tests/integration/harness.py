#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The machinery the integration tests share: TAP output, scenarios, the umockdev testbed of memory
blocks (Bed), the kernel emulator, the daemon under test (Daemon) and the safety checks that keep it
away from the machine's real /sys and its real system bus.

A test script calls init(MEMHOTPLUGD, FAULT_PRELOAD_SO) first (busclient.init() does it for the
D-Bus tests), then main(SCENARIOS, ...), which runs reexec_under_umockdev() and preflight() before
the scenarios.

The daemon runs under LD_PRELOAD=FAULT_PRELOAD_SO:libumockdev-preload.so.0 with UMOCKDEV_DIR set
to a testbed that holds fake memory blocks under /sys/devices/system/memory (or, for one case,
with --sysfs-root pointing at a plain temporary directory). It never sees the machine's real
/sys: every spawn is checked for that, and the fault preload aborts the daemon on any write that
would reach the real /sys. Nor does it ever see the machine's system bus: DBUS_SYSTEM_BUS_ADDRESS
always names a socket in the test's temporary directory (a private dbus-daemon's, or one that
does not exist, which the daemon then waits for).

A kernel emulator plays the kernel's part: it watches every memoryN directory with inotify,
checks each value the daemon writes to "state" against the policy the test expects, onlines (or
offlines) the block (state, valid_zones) and sends the "online" (or "offline") uevent. The fault
preload logs every write to a "state" file (time, value, errno it answered), which the emulator
reads to know what was written and whether the "kernel" refused it.

The test process re-executes itself under the umockdev preload (umockdev's uevent sender reads
the device from /sys with libudev in the sending process) and the fault preload (which makes the
sender wait instead of exiting when the daemon's event socket is full; faults are off here).

Needs Debian's /usr/bin/python3 (for gi) and gir1.2-umockdev-1.0.
"""

import collections
import ctypes
import ctypes.util
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import Tap  # noqa: E402

TIMEOUT = 20.0  # generous: the machine is shared and noisy
UMOCKDEV_PRELOAD = "libumockdev-preload.so.0"
FAKE_BLOCK_SIZE = "10000000"  # 256 MiB: differs from the real machine's, a sentinel for the redirect
MEMORY = "/devices/system/memory"
VALID_WRITES = ("online", "online_kernel", "online_movable")
ZONE_FOR_WRITE = {"online_movable": "Movable", "online_kernel": "Normal"}
EX_CONFIG = 78
HOST_SYSTEM_BUSES = ("/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket")

DAEMON = None  # set by init()
SHIM = None


def init(daemon, shim):
    """The daemon binary and the fault preload under test."""
    global DAEMON, SHIM
    DAEMON = os.path.abspath(daemon)
    SHIM = os.path.abspath(shim)


def init_from_argv(doc):
    """init() from a test script's command line, MEMHOTPLUGD FAULT_PRELOAD_SO; its usage otherwise."""
    if len(sys.argv) != 3:
        sys.stderr.write(doc)
        sys.exit(2)
    init(sys.argv[1], sys.argv[2])


# ---------------------------------------------------------------------------------------------
# TAP


TAP = Tap()


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


class Case:
    """Collects the named checks of one scenario, each a TAP line; a check that raises fails only
    itself, while an error in the scenario's setup fails every check that did not run yet."""

    def __init__(self, names):
        self.pending = list(names)
        self.notes = []
        self.daemon = None  # its stderr goes with a failure

    def context(self):
        text = "\n".join(self.notes[-40:])
        if self.daemon is not None:
            text += "\n" + tail(self.daemon, 40)
        return text

    def note(self, text):
        self.notes.append(text)

    def run(self, name, fn):
        assert name in self.pending, name
        self.pending.remove(name)
        try:
            fn()
        except Failure as e:
            TAP.result(name, False, "%s\n%s" % (e, self.context()))
            return False
        except Exception:
            TAP.result(name, False, traceback.format_exc() + self.context())
            return False
        TAP.result(name, True)
        return True

    def abort(self, text):
        for name in self.pending:
            TAP.result(name, False, "scenario aborted before this check:\n" + text)
        self.pending = []


def scenario(names):
    """Decorator: runs fn(case); what it leaves unchecked (after an exception) fails with the error.
    Under scripts/test --sanitize (MHP_SANITIZE=1) each scenario ends with one more check: no daemon
    it ran printed a sanitizer report."""

    def wrap(fn):
        def runner():
            case = Case(names)
            first = len(DAEMONS)
            try:
                fn(case)
            except Exception:
                case.abort(traceback.format_exc() + case.context())
            if case.pending:
                case.abort("check not reached")
            check_sanitizer_reports(fn.__name__, DAEMONS[first:])

        runner.__name__ = fn.__name__
        return runner

    return wrap


def wait_until(pred, timeout=TIMEOUT, cond=None, what="condition"):
    """Waits for pred() to hold; with cond (a threading.Condition, held by the caller) it sleeps on
    the condition, otherwise it polls."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("timed out after %.0fs waiting for %s" % (timeout, what))
        if cond is not None:
            cond.wait(min(left, 0.5))
        else:
            time.sleep(min(left, 0.02))


# ---------------------------------------------------------------------------------------------
# inotify through ctypes

IN_CLOSE_WRITE = 0x00000008
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.inotify_init1.argtypes = [ctypes.c_int]
_libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]


class Inotify:
    def __init__(self):
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "inotify_init1: " + os.strerror(e))

    def add_watch(self, path, mask=IN_CLOSE_WRITE):
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "inotify_add_watch %s: %s" % (path, os.strerror(e)))
        return wd

    def read(self):
        """All pending events as (wd, mask, name); [] if none."""
        try:
            buf = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        events, off = [], 0
        while off + _EVENT.size <= len(buf):
            wd, mask, _cookie, length = _EVENT.unpack_from(buf, off)
            off += _EVENT.size
            name = buf[off:off + length].split(b"\0", 1)[0].decode()
            off += length
            events.append((wd, mask, name))
        return events

    def close(self):
        os.close(self.fd)


# ---------------------------------------------------------------------------------------------
# The kernel emulator


class Write:
    """One write by the daemon into a block's state, as the emulator saw it."""

    def __init__(self, index, value, result, t_write, t_inotify):
        self.index = index
        self.value = value  # what the daemon wrote
        self.result = result  # "ok", or what the fault preload answered: race, EINVAL, EBUSY, EIO
        self.t_write = t_write  # CLOCK_MONOTONIC at write(), from the fault preload
        self.t_inotify = t_inotify  # when the inotify event was read

    def __repr__(self):
        return "memory%d<-%s(%s)@%.3f" % (self.index, self.value, self.result, self.t_write or -1)


def state_writes(bed, index=None):
    """The daemon's writes to memoryN/state so far, in order, as Writes: from the kernel emulator
    once it has caught up, or without one (Bed(emulate=False)) from the fault preload's log. With
    index, that block's only."""
    if bed.emulate:
        bed.emu.settle()
        with bed.emu.cond:
            writes = list(bed.emu.writes)
    else:
        writes = []
        try:
            with open(bed.write_log) as f:
                for line in f:
                    if line.startswith("#"):
                        continue
                    ns, _pid, path, value, result = line.rstrip("\n").split(" ", 4)
                    m = re.search(r"/memory(\d+)/state$", path)
                    if m:
                        writes.append(Write(int(m.group(1)), value.replace("?", " "), result, int(ns) / 1e9, None))
        except FileNotFoundError:
            pass
    return [w for w in writes if index is None or w.index == index]


class KernelEmulator:
    def __init__(self, bed):
        self.bed = bed
        self.cond = threading.Condition()
        self.expected = {}  # index -> the value the policy must write (None: must not be written)
        self.zones = {}  # index -> valid_zones list while offline
        self.online = set()
        self.offlined = set()  # blocks offlined by a write of "offline"
        self.offline_zones = {}  # index -> valid_zones after an offline (default: Normal Movable)
        self.writes = []  # every Write, in order
        self.auto_online_writes = []  # (t, value, result)
        self.errors = []
        self.unlogged = 0
        self.wd_index = {}
        self.log_offset = 0
        self.log_pending = collections.defaultdict(collections.deque)  # path -> deque of entries
        self.inotify = Inotify()
        self.events = collections.deque()
        self.stop_r, self.stop_w = os.pipe()
        self.stopping = False
        self.busy = False
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.worker = threading.Thread(target=self._work_loop, daemon=True)
        self.reader.start()
        self.worker.start()

    # -- setup ------------------------------------------------------------------------------

    def watch(self, index, state, zones):
        with self.cond:
            self.zones[index] = list(zones)
            # A block can come back (removed, then added again): what it was then is forgotten.
            if state == "online":
                self.online.add(index)
            else:
                self.online.discard(index)
            wd = self.inotify.add_watch(self.bed.block_dir(index))
            self.wd_index[wd] = index

    def expect(self, index, value):
        with self.cond:
            self.expected[index] = value

    # -- threads ----------------------------------------------------------------------------

    def _read_loop(self):
        """Only reads and timestamps, so the timestamps stay close to the writes."""
        poll = select.poll()
        poll.register(self.inotify.fd, select.POLLIN)
        poll.register(self.stop_r, select.POLLIN)
        while True:
            ready = dict(poll.poll())
            if self.stop_r in ready:
                return
            t = time.monotonic()
            evs = self.inotify.read()
            if evs:
                with self.cond:
                    for wd, mask, name in evs:
                        self.events.append((t, wd, mask, name))
                    self.cond.notify_all()

    def _work_loop(self):
        while True:
            with self.cond:
                while not self.events and not self.stopping:
                    self.cond.wait()
                if self.stopping and not self.events:
                    return
                t, wd, mask, name = self.events.popleft()
                self.busy = True
            try:
                self._handle(t, wd, mask, name)
            except Exception:
                with self.cond:
                    self.errors.append("emulator crashed on an event:\n" + traceback.format_exc())
            with self.cond:
                self.busy = False
                self.cond.notify_all()

    def _read_log(self):
        """New entries of the fault preload's write log, by path (called with cond held)."""
        try:
            with open(self.bed.write_log, "rb") as f:
                f.seek(self.log_offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.log_offset += end
        for line in data[:end].decode().splitlines():
            if line.startswith("#"):
                continue
            ns, _pid, path, value, result = line.split(" ", 4)
            entry = (int(ns) / 1e9, value.replace("?", " "), result)
            if path.endswith("/auto_online_blocks"):
                self.auto_online_writes.append(entry)
            elif path.endswith("/state") and not re.search(r"/dax\d+\.\d+/state$", path):
                # The log also has dax bus, memmap_on_memory and daxX.Y/state writes.
                self.log_pending[os.path.realpath(path)].append(entry)

    def _handle(self, t, wd, mask, name):
        if name != "state" or not mask & IN_CLOSE_WRITE:
            return
        with self.cond:
            index = self.wd_index.get(wd)
            if index is None:
                return
            path = os.path.realpath(os.path.join(self.bed.block_dir(index), "state"))
            self._read_log()
            entries = list(self.log_pending.pop(path, ()))
        if not entries:
            # Our own write, or one whose entry an earlier event of the same file already took
            # (inotify merges identical events that were not read yet).
            with self.cond:
                self.unlogged += 1
            return
        for t_write, value, result in entries:
            self._kernel(index, Write(index, value, result, t_write, t))

    def _kernel(self, index, w):
        """What the kernel does on a write to memoryN/state."""
        with self.cond:
            self.writes.append(w)
            was_online = index in self.online
            zones = self.zones.get(index, [])
            expected = self.expected.get(index, "unset")

        if w.result == "race":
            # Another agent onlined it; the fault preload already wrote "online" and answered EINVAL.
            # state is not written again: the daemon reads it right after the EINVAL to see who
            # won, and a file truncated and written again would read empty in between.
            self._set_online(index, zones[0] if zones else "Normal", state_written=True)
            return
        if w.result != "ok":
            return  # the write failed; the state stays offline
        if w.value == "offline":
            self._offline(index, w, was_online, expected)
            return

        problems = []
        if w.value not in VALID_WRITES:
            problems.append("wrote %r, not one of %s" % (w.value, "/".join(VALID_WRITES)))
        if was_online:
            problems.append("wrote %r to a block that was already online" % w.value)
        if expected != "unset" and w.value != expected:
            problems.append("wrote %r, the policy says %r" % (w.value, expected))
        zone = ZONE_FOR_WRITE.get(w.value, zones[0] if zones else None)
        if not was_online and w.value in VALID_WRITES and zone not in zones:
            problems.append("wrote %r, but valid_zones is %r" % (w.value, " ".join(zones)))
        if problems:
            with self.cond:
                self.errors.extend("memory%d: %s" % (index, p) for p in problems)
            # The kernel answers EINVAL and changes nothing; we cannot fail the write, so at least
            # put the state back.
            self.bed.write_attr(index, "state", "online" if was_online else "offline")
            return
        self._set_online(index, zone)

    def _offline(self, index, w, was_online, expected):
        """The kernel offlines an online block: state offline, valid_zones back to the zones an
        offline block may go to, an "offline" uevent. Offlining an offline block is EINVAL."""
        problems = []
        if not was_online:
            problems.append("wrote 'offline' to a block that was already offline")
        if expected != "unset" and expected != "offline":
            problems.append("wrote 'offline', the test expects %r" % expected)
        if problems:
            with self.cond:
                self.errors.extend("memory%d: %s" % (index, p) for p in problems)
            self.bed.write_attr(index, "state", "online" if was_online else "offline")
            return
        with self.cond:
            zones = list(self.offline_zones.get(index, ("Normal", "Movable")))
            self.zones[index] = zones
        self.bed.write_attr(index, "valid_zones", " ".join(zones))
        self.bed.write_attr(index, "state", "offline")
        with self.cond:
            self.online.discard(index)
            self.offlined.add(index)
        self.bed.uevent(index, "offline")

    def _set_online(self, index, zone, state_written=False):
        self.bed.write_attr(index, "valid_zones", zone)
        if not state_written:
            self.bed.write_attr(index, "state", "online")
        with self.cond:
            self.online.add(index)
        self.bed.uevent(index, "online")

    # -- queries ----------------------------------------------------------------------------

    def writes_to(self, index):
        with self.cond:
            return [w for w in self.writes if w.index == index]

    def wait_online(self, indices, timeout=TIMEOUT):
        indices = set(indices)
        with self.cond:
            wait_until(lambda: indices <= self.online or self.errors, timeout, self.cond,
                       "memory blocks %s to be online" % sorted(indices - self.online))
            check(not self.errors, "kernel emulator: " + "; ".join(self.errors))

    def wait_offline(self, indices, timeout=TIMEOUT):
        indices = set(indices)
        with self.cond:
            wait_until(lambda: not (indices & self.online) or self.errors, timeout, self.cond,
                       "memory blocks %s to be offline" % sorted(indices & self.online))
            check(not self.errors, "kernel emulator: " + "; ".join(self.errors))

    def wait_writes(self, pred, what, timeout=TIMEOUT):
        with self.cond:
            wait_until(lambda: pred(self.writes), timeout, self.cond, what)

    def settle(self):
        """Processes everything written so far (the daemon's log can be ahead of inotify)."""
        with self.cond:
            self._read_log()
            pending = {p: list(q) for p, q in self.log_pending.items() if q}

        def done():
            self._read_log()
            return not self.events and not self.busy and not any(self.log_pending.get(p) for p in pending)

        with self.cond:
            wait_until(done, 5.0, self.cond, "the emulator to process every write")

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        os.write(self.stop_w, b"x")
        self.reader.join(5)
        self.worker.join(5)
        self.inotify.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


# ---------------------------------------------------------------------------------------------
# Testbed and daemon


class Block:
    def __init__(self, index, node, state="offline", zones=("Normal", "Movable"), phys_index=None,
                 removable=True):
        self.index = index
        self.node = node
        self.state = state
        self.zones = list(zones)
        self.phys_index = index if phys_index is None else phys_index
        self.removable = removable


class Bed:
    """A umockdev testbed (or, with plain=True, a plain directory for --sysfs-root) with memory
    blocks, a temporary directory for config and runtime state, and a kernel emulator."""

    def __init__(self, blocks, auto_online="offline", plain=False, emulate=True):
        """emulate=False: no kernel emulator watches the blocks (for thousands of them); the fault
        preload's MHP_KERNEL_SYNC then plays the kernel's state (see Bed.env())."""
        self.lock = threading.Lock()
        self.emulate = emulate
        self.tmp = tempfile.mkdtemp(prefix="memhotplugd-test.")
        self.write_log = os.path.join(self.tmp, "writes.log")
        self.runtime_dir = os.path.join(self.tmp, "run")
        self.config = os.path.join(self.tmp, "memhotplugd.conf")
        # The daemon's /proc/iomem: never the machine's (it could name virtio-mem devices whose
        # addresses would map onto the test's blocks). Empty unless a test writes one.
        self.iomem = os.path.join(self.tmp, "iomem")
        # The machine may have node_exporter's directory: never the daemon's default there. "" is no
        # file; a test that wants one sets a path under self.tmp.
        self.metrics_file = ""
        with open(self.iomem, "w"):
            pass
        # Its /proc for zoneinfo and vmstat (the headroom): empty unless a test writes them, so that
        # no figure depends on the machine the test runs on.
        self.proc_dir = os.path.join(self.tmp, "proc")
        os.mkdir(self.proc_dir)
        # The daemon's system bus: a private dbus-daemon's (set by the test), or by default a
        # socket that never appears, so that it never reaches the machine's system bus.
        self.bus_address = "unix:path=" + os.path.join(self.tmp, "no-system-bus")
        self.plain = plain
        if plain:
            self.testbed = None
            self.sys_dir = os.path.join(self.tmp, "sys")
            os.makedirs(self.sys_dir + MEMORY)
        else:
            self.testbed = UMockdev.Testbed.new()
            self.sys_dir = self.testbed.get_sys_dir()
        self.emu = KernelEmulator(self)
        self.blocks = {}
        for b in blocks:
            self.add_block(b)
        mem = self.sys_dir + MEMORY
        os.makedirs(mem, exist_ok=True)
        for node in sorted({b.node for b in blocks}):
            os.makedirs(self.sys_dir + "/devices/system/node/node%d" % node, exist_ok=True)
        with open(mem + "/block_size_bytes", "w") as f:
            f.write(FAKE_BLOCK_SIZE + "\n")
        with open(mem + "/auto_online_blocks", "w") as f:
            f.write(auto_online + "\n")

    def block_dir(self, index):
        return "%s%s/memory%d" % (self.sys_dir, MEMORY, index)

    def syspath(self, index):
        return "/sys%s/memory%d" % (MEMORY, index)

    def add_block(self, b, link_node=True, announce=True):
        """Creates memoryN. In a testbed, umockdev (0.17) sends the "add" uevent itself from
        add_from_string(), before it creates the record's "L:" links; so the directory, the
        nodeN link and the attributes are made first (umockdev accepts an existing directory
        without a uevent file), and the emulator watches it before anyone can write to it.
        With link_node=False the nodeN link is left for link_node() to make later, as the kernel
        does (it announces a block before it links it to its node). With announce=False the block
        appears in the testbed's sysfs without a uevent (as after a lost event): only a rescan finds
        it."""
        self.blocks[b.index] = b
        d = self.block_dir(b.index)
        attrs = (("state", b.state), ("phys_index", "%08x" % b.phys_index), ("valid_zones", " ".join(b.zones)),
                 ("removable", "1" if b.removable else "0"), ("online", "1" if b.state == "online" else "0"))
        # Made whole next to it and renamed into place: the kernel's block has all its attributes
        # (and, when linked, its node link) before anyone can list it; a scan must never find half
        # of one.
        tmp = os.path.join(os.path.dirname(d), ".new-memory%d" % b.index)
        os.makedirs(tmp)
        if link_node:
            os.symlink("../../node/node%d" % b.node, os.path.join(tmp, "node%d" % b.node))
        for attr, value in attrs:
            with open(os.path.join(tmp, attr), "w") as f:
                f.write(value + "\n")
        os.rename(tmp, d)
        if self.emulate:
            self.emu.watch(b.index, b.state, b.zones)
        if self.testbed is not None and not announce:
            # What umockdev would have made, so that uevents can be sent for the block later.
            with open(os.path.join(d, "uevent"), "w") as f:
                f.write("SUBSYSTEM=memory\n")
            os.makedirs(self.sys_dir + "/class/memory", exist_ok=True)
            os.symlink("../../../../class/memory", os.path.join(d, "subsystem"))
        elif self.testbed is not None:
            # No "A:" lines: umockdev would write the attributes again, over a state the daemon may
            # have written already (it can find the block by a scan before its uevent).
            record = "P: %s/memory%d\nE: SUBSYSTEM=memory\n\n" % (MEMORY, b.index)
            with self.lock:
                ok = self.testbed.add_from_string(record)
            check(ok, "umockdev refused the record for memory%d" % b.index)

    def link_node(self, b):
        os.symlink("../../node/node%d" % b.node, os.path.join(self.block_dir(b.index), "node%d" % b.node))

    def write_attr(self, index, attr, value):
        with open(os.path.join(self.block_dir(index), attr), "w") as f:
            f.write(value + "\n")

    def read_attr(self, index, attr):
        with open(os.path.join(self.block_dir(index), attr)) as f:
            return f.read().strip()

    def set_fault(self, index, what):
        with open(os.path.join(self.block_dir(index), "state.fault"), "w") as f:
            f.write(what + "\n")

    def auto_online(self):
        with open(self.sys_dir + MEMORY + "/auto_online_blocks") as f:
            return f.read().strip()

    def uevent(self, index, action):
        if self.testbed is None:
            return
        with self.lock:
            self.testbed.uevent(self.syspath(index), action)

    def write_config(self, text, path=None):
        path = path or self.config
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)  # atomically, as an admin's editor would
        return path

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("LD_PRELOAD", "NOTIFY_SOCKET", "JOURNAL_STREAM", "RUNTIME_DIRECTORY",
                            "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_FDS", "LISTEN_PID")
               and not k.startswith("UMOCKDEV") and not k.startswith("MHP_")}
        env["MHP_WRITE_LOG"] = self.write_log
        env["SYSTEMD_DEVICE_VERIFY_SYSFS"] = "0"
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        if not self.emulate:
            env["MHP_KERNEL_SYNC"] = "1"
        if self.testbed is not None:
            env["LD_PRELOAD"] = SHIM + ":" + UMOCKDEV_PRELOAD
            env["UMOCKDEV_DIR"] = self.testbed.get_root_dir()
        else:
            env["LD_PRELOAD"] = SHIM
        return env

    def daemon(self, *args, config=True, log_level="debug", extra_env=None):
        argv = [DAEMON]
        if config:
            argv += ["--config", self.config]
        argv += ["--runtime-dir", self.runtime_dir, "--log-target", "stderr"]
        if log_level:
            argv += ["--log-level", log_level]
        if self.plain:
            argv += ["--sysfs-root", self.sys_dir]
        argv += ["--iomem", self.iomem, "--proc-root", self.proc_dir, "--metrics-file", self.metrics_file]
        argv += list(args)
        env = self.env()
        env.update(extra_env or {})  # e.g. a NOTIFY_SOCKET and WATCHDOG_USEC of the test's own
        return Daemon(argv, env)

    def cleanup(self):
        self.emu.stop()
        self.testbed = None  # removes its directory
        shutil.rmtree(self.tmp, ignore_errors=True)


def assert_isolated(argv, env):
    """The daemon must never see the machine's real memory blocks, nor the machine's system bus."""
    bus = env.get("DBUS_SYSTEM_BUS_ADDRESS", "")
    m = re.fullmatch(r"unix:path=([^,;]+)", bus)
    if (not m or not os.path.realpath(m.group(1)).startswith(os.path.realpath(tempfile.gettempdir()) + "/")
            or os.path.realpath(m.group(1)) in map(os.path.realpath, HOST_SYSTEM_BUSES)):
        raise RuntimeError("refusing to run the daemon with DBUS_SYSTEM_BUS_ADDRESS=%r: not a private bus" % bus)
    if (argv[0] == DAEMON and "--version" not in argv and
            ("--iomem" not in argv or not argv[argv.index("--iomem") + 1].startswith(tempfile.gettempdir()))):
        raise RuntimeError("refusing to run the daemon on the machine's /proc/iomem")
    if (argv[0] == DAEMON and "--version" not in argv and
            ("--proc-root" not in argv or not argv[argv.index("--proc-root") + 1].startswith(tempfile.gettempdir()))):
        raise RuntimeError("refusing to run the daemon on the machine's /proc")
    if (argv[0] == DAEMON and "--version" not in argv and "--check-config" not in argv and
            ("--metrics-file" not in argv or
             not (argv[argv.index("--metrics-file") + 1] in ("",) or
                  argv[argv.index("--metrics-file") + 1].startswith(tempfile.gettempdir())))):
        raise RuntimeError("refusing to run the daemon with the machine's metrics file (MetricsFile=)")
    if "--sysfs-root" in argv:
        root = argv[argv.index("--sysfs-root") + 1]
        if not root.startswith(tempfile.gettempdir()) or os.path.realpath(root) == "/sys":
            raise RuntimeError("refusing to run the daemon on sysfs root %r" % root)
        if not env.get("LD_PRELOAD", "").startswith(SHIM):
            raise RuntimeError("refusing to run the daemon without the fault preload's guard")
        return
    preload = env.get("LD_PRELOAD", "").split(":")
    d = env.get("UMOCKDEV_DIR", "")
    if (preload[:2] != [SHIM, UMOCKDEV_PRELOAD] or not d
            or not os.path.isfile(d + "/sys" + MEMORY + "/block_size_bytes")):
        raise RuntimeError("refusing to run the daemon outside umockdev: LD_PRELOAD=%r UMOCKDEV_DIR=%r"
                           % (env.get("LD_PRELOAD"), d))


PR_SET_PDEATHSIG = 1
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies, however it dies (an abort in
    umockdev's uevent sender, a timeout's SIGKILL), so no daemon outlives its test."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


SANITIZE = os.environ.get("MHP_SANITIZE") == "1"
# How ASan, UBSan and LeakSanitizer start a report on stderr.
SANITIZER_REPORT = re.compile(r"^==\d+==(ERROR|WARNING): \w+Sanitizer|^SUMMARY: \w+Sanitizer|: runtime error: ")
DAEMONS = []  # every Daemon started, for the sanitizer check at the end of each scenario


def check_sanitizer_reports(scenario_name, daemons):
    """One TAP line when sanitizing (a report is a failure, whatever the scenario's checks said);
    a report found without MHP_SANITIZE fails too, but passes silently otherwise."""
    reports = []
    for d in daemons:
        d.kill()  # a no-op for one that ended; LeakSanitizer reports at exit
        with d.cond:
            lines = d.lines + d.stdout
        hits = [i for i, line in enumerate(lines) if SANITIZER_REPORT.search(line)]
        if hits:
            reports.append("%s:\n  %s" % (" ".join(d.argv[:2]), "\n  ".join(lines[hits[0]:hits[0] + 40])))
    if SANITIZE or reports:
        TAP.result("%s: no sanitizer report from its %d daemon run(s)" % (scenario_name, len(daemons)),
                   not reports, "\n".join(reports))


class Daemon:
    def __init__(self, argv, env):
        assert_isolated(argv, env)
        DAEMONS.append(self)
        self.argv = argv
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, errors="replace",
                                     preexec_fn=die_with_parent)
        self.stdout = []
        self.threads = [threading.Thread(target=self._pump, args=(self.proc.stderr, self.lines), daemon=True),
                        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True)]
        for t in self.threads:
            t.start()

    def _pump(self, stream, out):
        for line in stream:
            with self.cond:
                out.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def find(self, regex, start=0):
        """Indices of the stderr lines matching regex, from line start on."""
        r = re.compile(regex)
        with self.cond:
            return [i for i, line in enumerate(self.lines) if i >= start and r.search(line)]

    def mark(self):
        with self.cond:
            return len(self.lines)

    def wait_line(self, regex, start=0, timeout=TIMEOUT, count=1):
        """Waits until count lines from line start on match; returns the last one's index."""
        r = re.compile(regex)
        found = []

        def pred():
            found[:] = [i for i, line in enumerate(self.lines) if i >= start and r.search(line)]
            if len(found) >= count:
                return True
            if self.proc.poll() is not None and not any(t.is_alive() for t in self.threads):
                raise Failure("daemon exited (status %s) before logging /%s/" % (self.proc.returncode, regex))
            return False

        with self.cond:
            wait_until(pred, timeout, self.cond, "the daemon to log /%s/" % regex)
        return found[count - 1]

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("daemon did not exit within %.0fs" % timeout)
        for t in self.threads:
            t.join(5)
        return rc

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit()

    def kill(self):
        """Ends the daemon at the end of a test: SIGTERM, so that it exits through its own cleanup
        (and LeakSanitizer, in a sanitizer build, checks for leaks), SIGKILL if that takes 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.crash()
        for t in self.threads:
            t.join(5)

    def crash(self):
        """SIGKILL: a crash, with no chance to clean up."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self, start=0):
        with self.cond:
            return "\n".join(self.lines[start:])


def tail(d, n=30):
    with d.cond:
        return "daemon stderr (last %d lines):\n  " % n + "\n  ".join(d.lines[-n:])


# ---------------------------------------------------------------------------------------------
# Shared helpers

SCANNED = r"^debug: Scanned \d+ memory blocks"  # the start scan is over
BASE_DAEMON = "[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\n"


def policy_value(online):
    return {"movable": "online_movable", "kernel": "online_kernel", "online": "online"}.get(online)


def expect_policy(bed, blocks, node_policy):
    for b in blocks:
        if b.state == "online":
            bed.emu.expect(b.index, None)
        else:
            bed.emu.expect(b.index, policy_value(node_policy[b.node]))


def check_writes(bed, blocks, node_policy):
    """Each offline block written exactly once, with its node's policy; online ones never."""
    problems = []
    for b in blocks:
        values = [w.value for w in bed.emu.writes_to(b.index)]
        if b.state == "online":
            if values:
                problems.append("memory%d was online and got %s" % (b.index, values))
        else:
            want = policy_value(node_policy[b.node])
            if values != [want]:
                problems.append("memory%d (node %d) got %s, want [%r]" % (b.index, b.node, values, want))
    check(not problems, "; ".join(problems[:10]) + (" (+%d more)" % (len(problems) - 10) if len(problems) > 10 else ""))
    with bed.emu.cond:
        check(not bed.emu.errors, "kernel emulator: " + "; ".join(bed.emu.errors))


def make_blocks(n, nodes=2, offline=lambda i: i % 2 == 0, start=0):
    """n blocks from start, the first half on node 0, the rest on node 1 (nodes=2)."""
    out = []
    for k in range(n):
        i = start + k
        node = min(k * nodes // n, nodes - 1)
        if offline(i):
            out.append(Block(i, node))
        else:
            out.append(Block(i, node, state="online", zones=("Normal",)))
    return out


def preflight():
    """Before any daemon runs: a child under the same preloads must see the testbed's /sys, and
    the fault preload must see (and log) its writes. Proves both preloads load and redirect."""
    bed = Bed([Block(0, 0)])
    try:
        if not UMockdev.in_mock_environment():
            raise RuntimeError("this process is not under the umockdev preload")
        env = bed.env()
        assert_isolated(["x"], env)
        out = subprocess.run(["/bin/cat", "/sys" + MEMORY + "/block_size_bytes"], env=env,
                             capture_output=True, text=True, timeout=30)
        if out.stdout.strip() != FAKE_BLOCK_SIZE:
            raise RuntimeError("umockdev does not redirect /sys (read %r, stderr %r)" % (out.stdout, out.stderr))
        subprocess.run(["/bin/sh", "-c", "printf online_movable > /sys%s/memory0/state" % MEMORY], env=env,
                       check=True, timeout=30)
        with open(bed.write_log) as f:
            log = f.read()
        if os.path.realpath(bed.sys_dir) + MEMORY + "/memory0/state online_movable ok" not in log:
            raise RuntimeError("the fault preload did not see the write: %r" % log)
    finally:
        bed.cleanup()


# ---------------------------------------------------------------------------------------------
# Scenarios

NODE_POLICY = {0: "movable", 1: "kernel"}
POLICY_CONFIG = BASE_DAEMON + "\n[Memory]\nOnline=movable\n\n[Node 1]\nOnline=kernel\n"


def reexec_under_umockdev():
    """umockdev's Testbed.uevent() builds the event with libudev in this process, from
    /sys/devices/...: without the preload here it reads the machine's real sysfs (and fails for
    blocks the machine does not have). So this process runs under the preload too, as
    umockdev-wrapper would do; the testbeds set UMOCKDEV_DIR for it."""
    preload = os.environ.get("LD_PRELOAD", "")
    if UMOCKDEV_PRELOAD in preload.split(":") and SHIM in preload.split(":"):
        return
    if os.environ.get("MHP_TEST_REEXEC"):
        print("Bail out! cannot run under %s" % UMOCKDEV_PRELOAD, flush=True)
        sys.exit(1)
    # The fault preload comes along (first, so its sendmsg() is the one umockdev calls) to pace
    # uevents; its faults stay off for this process's own writes.
    env = dict(os.environ, MHP_TEST_REEXEC="1", MHP_FAULTS="0", MHP_PACE_SENDMSG="1",
               LD_PRELOAD=":".join([SHIM, UMOCKDEV_PRELOAD] + [p for p in preload.split(":") if p]))
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)



def main(scenarios, files=(), tools=(), preflights=()):
    """A test script's main(): bails out if a file (besides the daemon and the fault preload) or a
    tool is missing, re-executes under umockdev, runs preflight() and then the extra preflights,
    then the scenarios (MHP_TEST_ONLY=<substring of a scenario function's name> runs only those);
    returns the exit status."""
    for path in (DAEMON, SHIM) + tuple(files):
        if not os.path.exists(path):
            print("Bail out! %s does not exist" % path, flush=True)
            return 1
    for tool in tools:
        if not shutil.which(tool):
            print("Bail out! %s is not installed" % tool, flush=True)
            return 1
    reexec_under_umockdev()
    try:
        preflight()
        for fn in preflights:
            fn()
    except Exception as e:
        print("Bail out! the umockdev sandbox does not work here: %s" % e, flush=True)
        return 1
    only = os.environ.get("MHP_TEST_ONLY")  # for debugging: run the scenarios whose name has this
    for t in scenarios:
        if not only or only in t.__name__:
            t()
    return TAP.finish()
