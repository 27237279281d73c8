#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests of device-dax handling: the real memhotplugd, with the real libdaxctl and libcxl
in it, against a umockdev testbed that holds recorded-style sysfs trees of three device-dax
instances, and a dax "kernel emulator" in this test.

Usage: test-dax.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]

The devices (block size 256 MiB, each 1 GiB = 4 blocks):
  dax0.0  NVDIMM  /sys/devices/platform/ACPI0012:00/ndbus0/region0/dax0.0/dax0.0 (the nd_dax parent
          names namespace0.0, whose uuid is NV_UUID), target node 0
  dax1.0  HMEM    /sys/devices/platform/hmem.0/dax1.0, target node 1
  dax2.0  CXL     /sys/devices/platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0/dax2.0, target
          node 1; region0 interleaves memdevs mem0 and mem1 (serials SERIAL0, SERIAL1) through the
          endpoint decoders decoder2.0 and decoder3.0 below root0/port1, as libcxl walks it
Each has /dev/daxX.Y (an emulated char device 252:N), /sys/dev/char/252:N, the bus/dax/devices link,
dax_region attributes, and /sys/bus/dax/drivers/{device_dax,kmem}/{new_id,remove_id,bind,unbind}.

The dax emulator plays the kernel's dax bus: the fault preload logs every write to a driver file and
(MHP_DAX_ACK=1) holds it until the emulator has answered, as the kernel's write is synchronous
(libdaxctl checks the "driver" link right after it). new_id binds an unbound device; bind binds
(EBUSY if bound); unbind drops the link. Binding kmem creates the device's memory blocks (state
offline, valid_zones, nodeN links both ways) before the write returns; their "add" uevents and the
device's "bind" uevent follow from a sender thread. Unbinding kmem removes the blocks (and records an
error if one was still online). memmap_on_memory writes are logged with their order.
libkmod's module insertion is replaced by the preload (nothing reaches the machine's kernel); the
preflight checks that through daxctl(8) itself.

Output is TAP. MHP_TEST_ONLY=<substring of a scenario function's name> runs only those.
"""

import collections
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BUS_NAME, PATH, BusSetup, Client, PrivateBus  # noqa: E402
from harness import (  # noqa: E402
    FAKE_BLOCK_SIZE, Bed, Block, Failure, check, scenario, state_writes, tail, wait_until)

busclient.init(__doc__)
CTL = busclient.CTL

BS = int(FAKE_BLOCK_SIZE, 16)
GIB = 1 << 30
DEVICE = "org.memhotplug1.Device"
NV_UUID = "5f6b0c1e-3c2a-4e59-9f1d-1a2b3c4d5e6f"
SERIAL0 = 0x1A2B3C4D0001
SERIAL1 = 0x1A2B3C4D0002
BASE = "[Daemon]\nUeventSource=udev\nKernelAutoOnline=respect\nScanAtStart=yes\n"
# How long the daemon waits for the driver of a device announced without one (devices.c: 10 looks,
# DRIVER_WAIT_USEC apart).
DRIVER_WAIT_SEC = 1.0
DEVICES_DONE = r"^debug: Scanned \d+ memory blocks"


# ---------------------------------------------------------------------------------------------
# The testbed


class Dax:
    def __init__(self, name, source, path, resource, node, driver="device_dax", memmap="0", size=GIB,
                 minor=0, zones=("Normal", "Movable"), hotplug=None, block_state="offline"):
        self.name = name
        self.source = source
        self.path = path  # below /sys
        self.resource = resource
        self.size = size
        self.node = node
        self.driver = driver  # "device_dax", "kmem" or None
        self.memmap = memmap  # None: no memmap_on_memory attribute (before Linux 6.8)
        self.minor = minor
        self.zones = zones  # valid_zones of its blocks while offline
        self.hotplug = hotplug  # daxX.Y/state of a kmem-bound device (Linux 7.3); None: no file
        self.block_state = block_state  # what its blocks are when it starts out kmem-bound

    def blocks(self):
        return list(range(self.resource // BS, (self.resource + self.size + BS - 1) // BS))

    def object_path(self):
        return PATH + "/device/" + self.name.replace(".", "_2e")


def nvdimm(**kw):
    return Dax("dax0.0", "nvdimm", "/devices/platform/ACPI0012:00/ndbus0/region0/dax0.0/dax0.0",
               0x10_0000_0000, 0, minor=0, **kw)


def hmem(**kw):
    return Dax("dax1.0", "hmem", "/devices/platform/hmem.0/dax1.0", 0x20_0000_0000, 1, minor=1, **kw)


def cxl(**kw):
    return Dax("dax2.0", "cxl", "/devices/platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0/dax2.0",
               0x30_0000_0000, 1, minor=2, **kw)


def write(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(value + "\n")


def link(target, path):
    """A relative symlink at path to target (both absolute in the testbed), as sysfs has them."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(os.path.relpath(target, os.path.dirname(path)), path)


class DaxBed(Bed):
    """A harness Bed without plain memory blocks (unless given), plus the dax bus, the devices, the
    CXL topology, the memory_hotplug parameters, and the dax emulator."""

    def __init__(self, devices, memmap_global="Y", blocks=(), nodes=(0, 1, 2), hotplug=False):
        super().__init__(list(blocks))
        self.root = self.testbed.get_root_dir()
        self.sys = self.sys_dir
        self.devices = {}
        for n in nodes:
            os.makedirs(self.sys + "/devices/system/node/node%d" % n, exist_ok=True)
        write(self.sys + "/module/memory_hotplug/parameters/memmap_on_memory", memmap_global)
        write(self.sys + "/module/memory_hotplug/parameters/online_policy", "contig-zones")
        for drv in ("device_dax", "kmem"):
            d = self.sys + "/bus/dax/drivers/" + drv
            os.makedirs(d)
            for attr in ("new_id", "remove_id", "bind", "unbind"):
                open(os.path.join(d, attr), "w").close()
            write(d + "/uevent", "")
        os.makedirs(self.sys + "/bus/dax/devices", exist_ok=True)
        self.make_cxl_topology()
        self.dax = DaxEmulator(self)
        if hotplug:
            self.dax.hotplug = {}
        for dev in devices:
            self.add_device(dev, announce=False)

    def env(self):
        env = super().env()
        env["MHP_DAX_ACK"] = "1"
        return env

    def dev_dir(self, dev):
        return self.sys + dev.path

    # -- building ----------------------------------------------------------------------------

    def make_cxl_topology(self):
        s = self.sys
        acpi = s + "/devices/platform/ACPI0017:00"
        root = acpi + "/root0"
        hb = s + "/devices/pci0000:34"
        mems = [hb + "/0000:34:00.0/0000:35:00.0/mem0", hb + "/0000:34:01.0/0000:36:00.0/mem1"]
        os.makedirs(hb, exist_ok=True)
        link(acpi, root + "/uport")
        link(hb, root + "/dport0")
        port_drv = s + "/bus/cxl/drivers/cxl_port"
        os.makedirs(port_drv, exist_ok=True)
        os.makedirs(s + "/bus/cxl/drivers/cxl_region", exist_ok=True)
        dec = root + "/decoder0.0"
        for attr, value in (("start", "0x3000000000"), ("size", "0x1000000000"), ("interleave_ways", "1"),
                            ("interleave_granularity", "256"), ("target_list", "0"), ("cap_ram", "1"),
                            ("cap_pmem", "0"), ("cap_type3", "1"), ("cap_type2", "0"), ("locked", "0")):
            write(dec + "/" + attr, value)
        region = dec + "/region0"
        for attr, value in (("uuid", ""), ("size", "0x40000000"), ("resource", "0x3000000000"),
                            ("interleave_ways", "2"), ("interleave_granularity", "256"), ("commit", "1"),
                            ("mode", "ram"), ("target0", "decoder2.0"), ("target1", "decoder3.0")):
            write(region + "/" + attr, value)
        link(s + "/bus/cxl/drivers/cxl_region", region + "/driver")
        port = root + "/port1"
        link(hb, port + "/uport")
        link(port_drv, port + "/driver")
        for attr, value in (("start", "0x3000000000"), ("size", "0x40000000"), ("interleave_ways", "2"),
                            ("interleave_granularity", "256"), ("target_list", ""), ("region", "region0")):
            write(port + "/decoder1.0/" + attr, value)
        for k, (mem, serial) in enumerate(zip(mems, (SERIAL0, SERIAL1))):
            ep = port + "/endpoint%d" % (2 + k)
            link(mem, ep + "/uport")
            link(port_drv, ep + "/driver")
            for attr, value in (("start", "0x3000000000"), ("size", "0x40000000"), ("interleave_ways", "2"),
                                ("interleave_granularity", "256"), ("mode", "ram"), ("dpa_resource", "0x0"),
                                ("dpa_size", "0x20000000"), ("region", "region0"), ("target_type", "expander")):
                write(ep + "/decoder%d.0/" % (2 + k) + attr, value)
            for attr, value in (("serial", "0x%x" % serial), ("firmware_version", "BWFW VERSION 00"),
                                ("payload_max", "2048"), ("label_storage_size", "0"), ("ram/size", "0x20000000"),
                                ("pmem/size", "0x0"), ("numa_node", "1"), ("dev", "253:%d" % k)):
                write(mem + "/" + attr, value)
            link(s + "/bus/cxl", mem + "/subsystem")
            write(self.root + "/dev/cxl/mem%d" % k, "")
            link_plain("253:%d" % k, self.root + "/dev/.node/cxl_mem%d" % k)
        names = {"root0": root, "port1": port, "endpoint2": port + "/endpoint2", "endpoint3": port + "/endpoint3",
                 "decoder0.0": dec, "decoder1.0": port + "/decoder1.0", "decoder2.0": port + "/endpoint2/decoder2.0",
                 "decoder3.0": port + "/endpoint3/decoder3.0", "region0": region, "mem0": mems[0], "mem1": mems[1]}
        for name, target in names.items():
            link(target, s + "/bus/cxl/devices/" + name)
        # Deliberately no /sys/bus/cxl/flush: libcxl writes it before each directory walk and then
        # polls udev's queue for up to 5 s; without the file it goes straight on.

    def add_device(self, dev, announce=True):
        """Creates the device (and, for kmem, its blocks) in the testbed; with announce, sends "add"."""
        self.devices[dev.name] = dev
        d = self.dev_dir(dev)
        parent = os.path.dirname(d)
        for attr, value in (("size", str(dev.size)), ("resource", "0x%x" % dev.resource), ("align", "2097152"),
                            ("target_node", str(dev.node)), ("numa_node", str(dev.node)),
                            ("modalias", "dax:t0"), ("dev", "252:%d" % dev.minor)):
            write(d + "/" + attr, value)
        if dev.memmap is not None:
            write(d + "/memmap_on_memory", dev.memmap)
        write(d + "/uevent", "MAJOR=252\nMINOR=%d\nDEVNAME=%s" % (dev.minor, dev.name))
        link(self.sys + "/bus/dax", d + "/subsystem")
        for attr, value in (("id", dev.name[3:].split(".")[0]), ("size", str(dev.size)), ("align", "2097152"),
                            ("available_size", "0")):
            write(parent + "/dax_region/" + attr, value)
        if dev.source == "nvdimm":
            write(parent + "/namespace", "namespace0.0")
            write(os.path.dirname(parent) + "/namespace0.0/uuid", NV_UUID)
            write(os.path.dirname(parent) + "/namespace0.0/mode", "dax")
        write(self.root + "/dev/" + dev.name, "")
        link_plain("252:%d" % dev.minor, self.root + "/dev/.node/" + dev.name)
        char = self.sys + "/dev/char/252:%d" % dev.minor
        if not os.path.lexists(char):
            link(d, char)
        if dev.driver:
            self.dax.set_driver(dev, dev.driver)
            if dev.driver == "kmem" and self.dax.hotplug is not None:
                # Found so at start (Linux 7.3), the emulator playing kmem.c's state_store: dev.hotplug
                # is what the file reads, dev.offline the blocks left offline under a zone.
                word = dev.hotplug or "offline"
                zone = {"online_movable": "Movable", "online_kernel": "Normal"}.get(word)
                if word != "unplugged":
                    self.dax.make_blocks(dev, state="offline" if word == "offline" else "online", zone=zone,
                                         offline=getattr(dev, "offline", ()))
                self.dax.set_hotplug(dev, word)
            elif dev.driver == "kmem":
                # A file the daemon only reads (the report's cases: blocks written behind its back).
                self.dax.make_blocks(dev, state=dev.block_state)
                if dev.hotplug:
                    write(d + "/state", dev.hotplug)
        link(d, self.sys + "/bus/dax/devices/" + dev.name)
        if announce:
            self.dax_uevent(dev, "add")

    def dax_uevent(self, dev, action):
        with self.lock:
            self.testbed.uevent("/sys" + dev.path, action)

    def write_param(self, name, value):
        write(self.sys + "/module/memory_hotplug/parameters/" + name, value)

    def cleanup(self):
        self.dax.stop()
        super().cleanup()


def link_plain(value, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(value, path)


# ---------------------------------------------------------------------------------------------
# The dax emulator


class Entry:
    """One line of the fault preload's write log."""

    def __init__(self, t, path, value, result):
        self.t = t
        self.path = path
        self.value = value
        self.result = result
        self.answer = None  # what the emulator answered a driver write
        m = re.search(r"/bus/dax/drivers/([^/]+)/([^/]+)$", path)
        if re.search(r"/dax\d+\.\d+/state$", path):
            self.kind, self.driver, self.file = "daxstate", None, None
        elif m:
            self.kind, self.driver, self.file = "driver", m.group(1), m.group(2)
        elif path == "kmod:insert":
            self.kind, self.driver, self.file = "kmod", value, None
        elif path.endswith("/memmap_on_memory"):
            self.kind, self.driver, self.file = "memmap", None, None
        elif path.endswith("/state"):
            self.kind, self.driver, self.file = "state", None, None
        else:
            self.kind, self.driver, self.file = "other", None, None
        self.device = os.path.basename(os.path.dirname(path)) if self.kind in ("memmap", "daxstate") else value

    def short(self):
        if self.kind == "driver":
            s = "%s/%s %s" % (self.driver, self.file, self.value)
            return s + ("" if self.answer in (None, "ok") else " -> " + self.answer)
        if self.kind == "kmod":
            return "kmod %s" % self.value
        if self.kind == "memmap":
            return "%s/memmap_on_memory=%s" % (self.device, self.value)
        if self.kind == "daxstate":
            s = "%s/state %s" % (self.device, self.value)
            return s + ("" if self.answer in (None, "ok") else " -> " + self.answer)
        if self.kind == "state":
            return "%s=%s(%s)" % (os.path.basename(os.path.dirname(self.path)), self.value, self.result)
        return "%s=%s" % (self.path, self.value)

    def __repr__(self):
        return self.short()


HOLD_MAX = 25


class DaxEmulator:
    def __init__(self, bed):
        self.bed = bed
        self.cond = threading.Condition()
        self.entries = []
        self.errors = []
        self.ids = collections.defaultdict(set)
        self.offset = 0
        self.stopping = False
        self.later = queue.Queue()  # uevents (and what goes with them) after the write returned
        # Linux 7.3's daxX.Y/state (docs/KERNELS.md): kmem's bind creates it, reading what
        # auto_online_blocks says; None: an older kernel, no file.
        self.hotplug = None
        self.unplug_busy = set()  # devices whose `unplugged` fails with EBUSY (memory in use)
        self.left_offline = {}  # device name -> block indices a zone write fails to online
        # (device name, value) -> an Event: that state write is held inside the "kernel" until the
        # test sets it (at most HOLD_MAX s, under the fault preload's 30 s wait for our answer);
        # `holding` says a write is being held.
        self.hold_state = {}
        self.holding = threading.Event()
        self.interrupted = []  # held writes a signal ended (the preload's "<ack>.intr")
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.sender = threading.Thread(target=self._send_loop, daemon=True)
        self.thread.start()
        self.sender.start()

    # -- the kernel's side ------------------------------------------------------------------

    def driver_of(self, dev):
        try:
            return os.path.basename(os.readlink(self.bed.dev_dir(dev) + "/driver"))
        except FileNotFoundError:
            return None

    def set_driver(self, dev, drv):
        d = self.bed.dev_dir(dev)
        if os.path.lexists(d + "/driver"):
            os.unlink(d + "/driver")
        if drv:
            link(self.bed.sys + "/bus/dax/drivers/" + drv, d + "/driver")

    def make_blocks(self, dev, state="offline", zone=None, offline=()):
        """What kmem's probe does: the memory blocks of the range, offline, linked to the target node;
        or online in zone, but for the indices in offline."""
        made = []
        for i in dev.blocks():
            st = "offline" if i in offline else state
            b = Block(i, dev.node, state=st, zones=dev.zones if st == "offline" else (zone or dev.zones[0],))
            self.bed.add_block(b, announce=False)
            link_plain("../../memory/memory%d" % i, self.bed.sys + "/devices/system/node/node%d/memory%d" % (dev.node, i))
            made.append(i)
        return made

    def set_hotplug(self, dev, value):
        path = self.bed.dev_dir(dev) + "/state"
        with self.cond:
            self.hotplug[dev.name] = value
        if value is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            write(path, value)

    def hotplug_of(self, dev):
        with self.cond:
            return self.hotplug.get(dev.name)

    def _bind(self, dev, drv):
        self.set_driver(dev, drv)
        made = []
        if drv == "kmem" and self.hotplug is not None:
            # The probe adds the whole device as auto_online_blocks says, and records that.
            word = self.bed.auto_online()
            zone = {"online_movable": "Movable", "online_kernel": "Normal"}.get(word)
            made = self.make_blocks(dev, state="offline" if word == "offline" else "online", zone=zone)
            self.set_hotplug(dev, word)
        elif drv == "kmem":
            made = self.make_blocks(dev)

        def announce():
            for i in made:
                self.bed.uevent(i, "add")
            self.bed.dax_uevent(dev, "bind")

        self.later.put(announce)

    def _unbind(self, dev, drv):
        self.set_driver(dev, None)
        if drv != "kmem":
            self.later.put(lambda: self.bed.dax_uevent(dev, "unbind"))
            return
        if self.hotplug is not None:
            self.set_hotplug(dev, None)
        try:  # the kernel emulator is asynchronous: let it catch up with the offline writes
            self.bed.emu.settle()
        except Failure:
            pass
        online = [i for i in dev.blocks() if i in self.bed.emu.online]
        if online:
            # The kernel unbinds anyway and leaves the memory in use until the next reboot.
            with self.cond:
                self.errors.append("%s: kmem unbound with online blocks %s" % (dev.name, online))
            self.later.put(lambda: self.bed.dax_uevent(dev, "unbind"))
            return
        self._remove_blocks(dev)
        self.later.put(lambda: self.bed.dax_uevent(dev, "unbind"))

    def _remove_blocks(self, dev):
        gone = [i for i in dev.blocks() if i in self.bed.blocks]
        # kmem's remove takes the memory away (and announces it) before the unbind write returns.
        sent = threading.Event()

        def announce():
            for i in gone:
                self.bed.uevent(i, "remove")
            sent.set()

        self.later.put(announce)
        # umockdev's uevent socket has a small backlog and the daemon reads none while its write
        # waits: a scenario keeps to one kmem unbind at a time.
        if not sent.wait(30):
            with self.cond:
                self.errors.append("%s: remove uevents not sent within 30 s" % dev.name)
        for i in gone:
            shutil.rmtree(self.bed.block_dir(i), ignore_errors=True)
            node_link = self.bed.sys + "/devices/system/node/node%d/memory%d" % (dev.node, i)
            if os.path.lexists(node_link):
                os.unlink(node_link)
            self.bed.blocks.pop(i, None)

    def _state_write(self, e):
        """kmem.c's state_store: unplugged offlines and removes every block or none; a zone adds
        and onlines them, from unplugged only; the value already recorded is a no-op."""
        dev = self.bed.devices.get(e.device)
        current = self.hotplug_of(dev) if dev else None
        if current is None:
            return "ENOENT"
        release = self.hold_state.pop((e.device, e.value), None)
        if release is not None:
            self.holding.set()
            intr = "%s.ack.%d.intr" % (self.bed.write_log, e.ns)
            deadline = time.monotonic() + HOLD_MAX
            while not release.wait(0.01) and time.monotonic() < deadline:
                if os.path.exists(intr):
                    # A signal reached the writer: the kernel gives up and puts every block back.
                    self.interrupted.append(e.short())
                    self.set_hotplug(dev, current)  # the daemon's bytes landed in the file: undo
                    return "EINTR"
        answer = "ok"
        if e.value not in ("unplugged", "online", "online_kernel", "online_movable"):
            answer = "EINVAL"
        elif e.value == current:
            pass
        elif e.value == "unplugged":
            if dev.name in self.unplug_busy:
                answer = "EBUSY"  # rolled back: every block as it was
            else:
                with self.bed.emu.cond:
                    self.bed.emu.online.difference_update(dev.blocks())
                self._remove_blocks(dev)
                current = "unplugged"
        elif current != "unplugged":
            answer = "EBUSY"
        else:
            zone = {"online_movable": "Movable", "online_kernel": "Normal"}.get(e.value)
            made = self.make_blocks(dev, state="online", zone=zone, offline=self.left_offline.get(dev.name, ()))
            current = e.value

            def announce():
                for i in made:
                    self.bed.uevent(i, "add")

            self.later.put(announce)
        self.set_hotplug(dev, current)  # the daemon's write landed in the file: the kernel's view
        return answer

    def _driver_write(self, e):
        dev = self.bed.devices.get(e.value)
        if not re.fullmatch(r"dax\d+\.\d+", e.value):
            return "EINVAL"
        if e.file == "new_id":
            self.ids[e.driver].add(e.value)
            if dev and self.driver_of(dev) is None:
                self._bind(dev, e.driver)  # the dax bus attaches right away
            return "ok"
        if e.file == "remove_id":
            self.ids[e.driver].discard(e.value)
            return "ok"
        if dev is None:
            return "ENODEV"
        if e.file == "bind":
            if self.driver_of(dev) is not None:
                return "EBUSY"
            self._bind(dev, e.driver)
            return "ok"
        if e.file == "unbind":
            if self.driver_of(dev) != e.driver:
                return "ENODEV"
            self._unbind(dev, e.driver)
            return "ok"
        return "EINVAL"

    def _handle(self, ns, e):
        if e.kind == "memmap":
            dev = self.bed.devices.get(e.device)
            if dev and self.driver_of(dev) == "kmem":
                with self.cond:
                    self.errors.append("%s: memmap_on_memory written while kmem is bound" % dev.name)
        if e.kind not in ("driver", "daxstate") or e.result != "ok":
            return
        e.ns = ns
        try:
            answer = self._driver_write(e) if e.kind == "driver" else self._state_write(e)
        except Exception as ex:  # never leave the daemon waiting
            answer = "ENXIO"
            with self.cond:
                self.errors.append("dax emulator crashed on %s: %r" % (e.short(), ex))
        e.answer = answer
        ack = "%s.ack.%d" % (self.bed.write_log, ns)
        with open(ack + ".tmp", "w") as f:
            f.write(answer + "\n")
        os.rename(ack + ".tmp", ack)

    # -- threads ----------------------------------------------------------------------------

    def _loop(self):
        while not self.stopping:
            try:
                with open(self.bed.write_log, "rb") as f:
                    f.seek(self.offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            end = data.rfind(b"\n") + 1
            if end == 0:
                time.sleep(0.002)
                continue
            self.offset += end
            for line in data[:end].decode(errors="replace").splitlines():
                if line.startswith("#"):
                    continue
                ns, _pid, path, value, result = line.split(" ", 4)
                e = Entry(int(ns) / 1e9, path, value.replace("?", " "), result)
                self._handle(int(ns), e)
                with self.cond:
                    self.entries.append(e)
                    self.cond.notify_all()

    def _send_loop(self):
        while True:
            fn = self.later.get()
            if fn is None:
                return
            try:
                fn()
            except Exception as ex:
                with self.cond:
                    self.errors.append("dax emulator: sending uevents failed: %r" % ex)
            self.later.task_done()
            with self.cond:
                self.cond.notify_all()

    def stop(self):
        self.stopping = True
        self.later.put(None)
        self.thread.join(5)
        self.sender.join(5)

    # -- queries ----------------------------------------------------------------------------

    def log(self, kinds=("driver", "kmod", "memmap"), device=None, since=0):
        with self.cond:
            return [e for e in self.entries[since:] if e.kind in kinds
                    and (device is None or e.kind == "kmod" or e.device == device)]

    def mark(self):
        with self.cond:
            return len(self.entries)

    def idle(self):
        """Until every uevent queued so far has been sent."""
        wait_until(lambda: self.later.unfinished_tasks == 0, 30, what="dax uevents sent")
        time.sleep(0.05)

    def check_errors(self):
        with self.cond:
            check(not self.errors, "dax emulator: " + "; ".join(self.errors))
        with self.bed.emu.cond:
            check(not self.bed.emu.errors, "kernel emulator: " + "; ".join(self.bed.emu.errors))


# ---------------------------------------------------------------------------------------------
# A client (busclient's) with the Device calls these checks need


class DaxClient(Client):
    def device(self, dev):
        return self.props(path=dev.object_path(), iface=DEVICE)

    def devices(self):
        return {row[0]: row for row in self.call("ListDevices")[0]}


class Setup(BusSetup):
    """A DaxBed, optionally a private bus and a client, and the daemon."""

    def __init__(self, case, devices, config, bus=True, **kw):
        self.case = case
        self.bus = self.bed = self.daemon = self.client = None
        try:
            self.bed = DaxBed(devices, **kw)
            if bus:
                self.bus = PrivateBus()
                self.bed.bus_address = self.bus.address
                self.client = DaxClient(self.bus.address)
            self.bed.write_config(config)
        except BaseException:
            self.close()
            raise

    def start(self):
        self.daemon = self.bed.daemon()
        self.case.daemon = self.daemon
        if self.bus:
            self.daemon.wait_line(r"Acquired the bus name " + re.escape(BUS_NAME))
        self.daemon.wait_line(DEVICES_DONE)
        return self.daemon

    def reload(self, config):
        mark = self.daemon.mark()
        self.bed.write_config(config)
        self.daemon.send_signal(signal.SIGHUP)
        self.daemon.wait_line(DEVICES_DONE, start=mark)
        return mark

    def settle(self):
        self.bed.dax.idle()
        self.bed.emu.settle()
        time.sleep(0.2)
        self.bed.dax.idle()
        self.bed.emu.settle()


# ---------------------------------------------------------------------------------------------
# Shared checks


def expect_conversion(bed, dev, memmap):
    """memmap (None, "0", "1") first, then device_dax let go, kmem loaded and bound, in that order."""
    want = (["%s/memmap_on_memory=%s" % (dev.name, memmap)] if memmap is not None else []) + [
        "device_dax/remove_id %s" % dev.name, "device_dax/unbind %s" % dev.name, "kmod kmem",
        "kmem/new_id %s" % dev.name, "kmem/bind %s -> EBUSY" % dev.name]
    return want


def writes_for(bed, dev):
    """What the daemon wrote about dev (kmod inserts are attributed to the device whose driver write
    comes next)."""
    out = []
    entries = bed.dax.log()
    for k, e in enumerate(entries):
        if e.kind == "kmod":
            nxt = next((x for x in entries[k + 1:] if x.kind == "driver"), None)
            if nxt and nxt.value == dev.name:
                out.append(e.short())
        elif e.device == dev.name:
            out.append(e.short())
    return out


def device_writes(bed, dev):
    """The values written to the state of each of the device's blocks."""
    return {i: [w.value for w in state_writes(bed, i)] for i in dev.blocks()}


def zones_of(bed, dev):
    return {i: bed.read_attr(i, "valid_zones") for i in dev.blocks()}


def ctl_ok(s, *args):
    """memhotplugctl ARGS against the setup's bus; fails unless it exits 0."""
    if not CTL:
        raise Failure("memhotplugctl is not built")
    out = busclient.ctl(s.bus.address, *args)
    check(out.returncode == 0, "%s exit %d: %s" % (" ".join(args), out.returncode, out.stderr))
    return out


def prop_check(props, want):
    bad = ["%s=%r (want %r)" % (k, props.get(k), v) for k, v in want.items() if props.get(k) != v]
    check(not bad, "; ".join(bad))


# ---------------------------------------------------------------------------------------------
# Scenarios

CONVERT_CONFIG = BASE + """MaxAttempts=2
RetrySec=100ms

[Dax]
Mode=devdax
Online=movable

[Dax nvdimm-wrong-node]
MatchSource=nvdimm
MatchNode=5
Mode=ignore

[Dax cxl-by-serial]
MatchCXLSerial=0x%x
Mode=system-ram
MemmapOnMemory=yes
Online=online

[Dax hmem]
MatchSource=hmem
MatchNode=1
MatchSize=512M-2G
Mode=system-ram
MemmapOnMemory=no
Online=kernel

[Dax nv]
MatchDevice=dax0.*
MatchNvdimmUUID=%s
Mode=system-ram

[Dax nv-late]
MatchSource=nvdimm
Mode=ignore
""" % (SERIAL1, NV_UUID.upper())

CONVERT_CHECKS = [
    "boot conversion: each device's writes in order: memmap_on_memory (1 for auto/yes with the attribute and "
    "memory_hotplug.memmap_on_memory=Y, 0 for MemmapOnMemory=no) before device_dax remove_id/unbind, kmod kmem "
    "(stubbed), kmem new_id/bind",
    "boot conversion: rules by MatchCXLSerial (the second memdev's), MatchSource+MatchNode+MatchSize, "
    "MatchDevice glob+MatchNvdimmUUID (other case); first match wins over a later one, a near miss (MatchNode) is "
    "skipped",
    "boot conversion: each device's 4 blocks are onlined with its rule's Online= (movable, kernel, online), "
    "all in one zone",
    "boot conversion: the log names each device: 'daxX.Y: Converted to system-ram, 1024 MiB: [Dax …]'",
    "D-Bus: ListDevices rows and Device properties (Source, TargetNode, Mode, MemmapOnMemory, BlocksOnline/Total, "
    "Rule, Action, Reason, CXLRegion, CXLSerials, NvdimmUUID)",
    "memhotplugctl devices: the table and --json show the three devices as the daemon has them",
    "memhotplugctl map: each device listed on its target node's row with its source, range and mode, marked "
    "under its blocks' cells, which show its zone (M for dax0.0, K for the two in the kernel zone)",
    "RevertDevice errors: NoSuchDevice for an unknown name, NotSupported for a devdax device",
    "RevertDevice with one block refusing (EBUSY): DeviceBusy naming that block, kmem stays bound, no driver write",
    "RevertDevice('dax0.0'): every block offlined, then kmem let go (remove_id, unbind) and device_dax bound; "
    "blocks removed, Mode devdax, the policy leaves it",
    "memhotplugctl revert dax2.0: exit 0, 'dax2.0 is devdax again.', device_dax bound",
]


@scenario(CONVERT_CHECKS)
def test_convert(case):
    nv, hm, cx = nvdimm(memmap="0"), hmem(memmap="1"), cxl(memmap="0")
    s = Setup(case, [nv, hm, cx], CONVERT_CONFIG)
    devs = (nv, hm, cx)
    rules = {nv: ("[Dax nv]", "online_movable", "1", "Movable"),
             hm: ("[Dax hmem]", "online_kernel", "0", "Normal"),
             cx: ("[Dax cxl-by-serial]", None, "1", "Normal")}
    try:
        d = s.start()
        all_blocks = [i for dev in devs for i in dev.blocks()]
        s.bed.emu.wait_online(all_blocks)
        s.settle()

        def order():
            s.bed.dax.check_errors()
            for dev in devs:
                got = writes_for(s.bed, dev)
                want = expect_conversion(s.bed, dev, rules[dev][2])
                check(got == want, "%s: writes %s, want %s" % (dev.name, got, want))
                check(s.bed.dax.driver_of(dev) == "kmem", "%s: driver %s" % (dev.name, s.bed.dax.driver_of(dev)))
            kinds = [e.short() for e in s.bed.dax.log(kinds=("kmod",))]
            check(kinds == ["kmod kmem"] * 3, "kmod inserts %s" % kinds)

        case.run(CONVERT_CHECKS[0], order)

        def rules_matched():
            for dev in devs:
                p = s.client.device(dev)
                check(p["Rule"] == rules[dev][0], "%s: Rule %r, want %r" % (dev.name, p["Rule"], rules[dev][0]))

        case.run(CONVERT_CHECKS[1], rules_matched)

        def onlined():
            for dev in devs:
                w = device_writes(s.bed, dev)
                if rules[dev][1]:
                    want = {i: [rules[dev][1]] for i in dev.blocks()}
                    check(w == want, "%s: state writes %s, want %s" % (dev.name, w, want))
                else:
                    # Online=online: the kernel picks the zone of the first block the daemon writes
                    # (whichever it scanned first); the rest are written into that zone explicitly.
                    values = sorted(v for vs in w.values() for v in vs)
                    check(values == ["online"] + ["online_kernel"] * 3, "%s: state writes %s" % (dev.name, w))
                zones = set(zones_of(s.bed, dev).values())
                check(zones == {rules[dev][3]}, "%s: zones %s, want one zone %s" % (dev.name, zones, rules[dev][3]))
                check(all(s.bed.read_attr(i, "state") == "online" for i in dev.blocks()), "%s: not online" % dev.name)

        case.run(CONVERT_CHECKS[2], onlined)

        def logged():
            for dev in devs:
                check(d.find(r"^info: %s: Converted to system-ram, 1024 MiB: %s" % (re.escape(dev.name),
                                                                                  re.escape(rules[dev][0]))),
                      "no 'Converted' line for %s\n%s" % (dev.name, tail(d, 60)))
            check(d.find(r"memory%d: Onlined into zone Movable" % nv.blocks()[0]), "no Onlined line for dax0.0's block")

        case.run(CONVERT_CHECKS[3], logged)

        def dbus():
            rows = s.client.devices()
            check(sorted(rows) == ["dax0.0", "dax1.0", "dax2.0"], "ListDevices: %s" % sorted(rows))
            for dev in devs:
                row = rows[dev.name]
                want = (dev.name, dev.object_path(), dev.node, dev.source, "system-ram",
                        "device" if rules[dev][2] == "1" else "system-ram", dev.resource, dev.size, 4, 4,
                        rules[dev][0])
                check(tuple(row[:11]) == want, "%s row %s, want %s" % (dev.name, row, want))
                check(row[11].startswith("already system-ram"), "%s reason %r" % (dev.name, row[11]))
            prop_check(s.client.device(nv), {
                "Name": "dax0.0", "Source": "nvdimm", "TargetNode": 0, "Mode": "system-ram",
                "MemmapOnMemory": "device", "BlocksOnline": 4, "BlocksTotal": 4, "Rule": "[Dax nv]",
                "Action": "none", "CXLRegion": "", "CXLSerials": [], "NvdimmUUID": NV_UUID,
                "SysfsPath": nv.path[1:], "Resource": nv.resource, "Size": GIB})
            prop_check(s.client.device(hm), {
                "Source": "hmem", "TargetNode": 1, "MemmapOnMemory": "system-ram", "Rule": "[Dax hmem]",
                "NvdimmUUID": "", "CXLRegion": ""})
            prop_check(s.client.device(cx), {
                "Source": "cxl", "TargetNode": 1, "MemmapOnMemory": "device", "CXLRegion": "region0",
                "Rule": "[Dax cxl-by-serial]", "BlocksOnline": 4})
            # Both memdevs of the interleave (libcxl lists the mappings in reverse target order).
            serials = s.client.device(cx)["CXLSerials"]
            check(sorted(serials) == [SERIAL0, SERIAL1], "CXLSerials %s" % serials)
            check("Online=online" in s.client.device(cx)["Reason"], "dax2.0 Reason %r" % s.client.device(cx)["Reason"])

        case.run(CONVERT_CHECKS[4], dbus)

        def ctl_devices():
            out = ctl_ok(s, "devices")
            for dev in devs:
                line = next((ln for ln in out.stdout.splitlines() if ln.startswith(dev.name + " ")), None)
                check(line, "no row for %s:\n%s" % (dev.name, out.stdout))
                for word in (dev.source, "system-ram", "0x%016x-0x%016x" % (dev.resource, dev.resource + GIB - 1),
                             "4/4 online", rules[dev][0]):
                    check(word in line, "%r not in %r" % (word, line))
                check(re.search(r"^%s: already system-ram" % re.escape(dev.name), out.stdout, re.M),
                      "no reason line for %s:\n%s" % (dev.name, out.stdout))
            rows = {r["Device"]: r for r in json.loads(ctl_ok(s, "--json", "devices").stdout)}
            check(sorted(rows) == ["dax0.0", "dax1.0", "dax2.0"], "json devices %s" % sorted(rows))
            for dev in devs:
                r = rows[dev.name]
                want = {"Source": dev.source, "TargetNode": dev.node, "Mode": "system-ram", "Start": dev.resource,
                        "Size": GIB, "BlocksOnline": 4, "BlocksTotal": 4, "Rule": rules[dev][0],
                        "Object": dev.object_path()}
                bad = {k: (r.get(k), v) for k, v in want.items() if r.get(k) != v}
                check(not bad, "%s json mismatches %s" % (dev.name, bad))

        case.run(CONVERT_CHECKS[5], ctl_devices)

        def ctl_map():
            if not CTL:
                raise Failure("memhotplugctl is not built")
            # The DIMMs come from sysfs: the testbed's, not the machine's.
            out = busclient.ctl(s.bus.address, "map", "--no-color", "--root", os.path.dirname(s.bed.sys_dir))
            check(out.returncode == 0, "exit %d: %s" % (out.returncode, out.stderr))
            k = int(re.search(r"^Scale: 1 cell = \S+ \((\d+) block", out.stdout, re.M).group(1))
            for dev in devs:
                # The node's section: its header, its cells, the marks, the devices.
                sec = re.search(r"^node %d  0x([0-9a-f]+)-.*\n  (.*)\n  (.*)\n((?:  \S .*\n)+)" % dev.node,
                                out.stdout, re.M)
                check(sec, "no section for node %d:\n%s" % (dev.node, out.stdout))
                line = re.search(r"^  (\S) %s\s+%s\s+1G  0x%x-0x%x  system-ram$" % (
                    re.escape(dev.name), dev.source, dev.resource, dev.resource + GIB - 1), sec.group(4), re.M)
                check(line, "no line for %s on node %d:\n%s" % (dev.name, dev.node, out.stdout))
                first = int(sec.group(1), 16) // (k * BS)
                for i in dev.blocks():
                    at = i // k - first
                    got = (sec.group(2)[at:at + 1], sec.group(3)[at:at + 1])
                    want = ("M" if rules[dev][3] == "Movable" else "K", line.group(1))
                    check(got == want, "%s: memory%d's cell %r, want %r:\n%s" % (dev.name, i, got, want, out.stdout))

        case.run(CONVERT_CHECKS[6], ctl_map)

        def errors():
            e = s.client.error_of("RevertDevice", ("dax9.9",), "(s)")
            check(e.name == "org.memhotplug1.Error.NoSuchDevice", "unknown device: %s" % e)
            extra = hmem()
            extra.name, extra.path, extra.resource, extra.minor, extra.node = (
                "dax3.0", "/devices/platform/hmem.1/dax3.0", 0x40_0000_0000, 3, 0)  # no rule matches: [Dax]
            mark = d.mark()
            s.bed.add_device(extra)  # device_dax, and [Dax] says devdax
            d.wait_line(r"dax3\.0: devdax: \[Dax\] Mode=devdax", start=mark)
            e = s.client.error_of("RevertDevice", ("dax3.0",), "(s)")
            check(e.name == "org.memhotplug1.Error.NotSupported" and "devdax" in e.message, "devdax device: %s" % e)

        case.run(CONVERT_CHECKS[7], errors)

        def busy():
            refusing = hm.blocks()[2]
            s.bed.set_fault(refusing, "EBUSY")
            mark = s.bed.dax.mark()
            e = s.client.error_of("RevertDevice", ("dax1.0",), "(s)", timeout=60)
            check(e.name == "org.memhotplug1.Error.DeviceBusy", "got %s" % e)
            check("memory%d" % refusing in e.message, "the error does not name memory%d: %r" % (refusing, e.message))
            s.settle()
            check(s.bed.dax.driver_of(hm) == "kmem", "driver is %s" % s.bed.dax.driver_of(hm))
            check(not s.bed.dax.log(kinds=("driver", "kmod"), since=mark), "driver writes: %s"
                  % s.bed.dax.log(kinds=("driver", "kmod"), since=mark))
            check(s.bed.read_attr(refusing, "state") == "online", "memory%d is %s" % (refusing, s.bed.read_attr(refusing, "state")))
            check(s.client.device(hm)["Mode"] == "system-ram", "Mode %s" % s.client.device(hm)["Mode"])
            os.unlink(s.bed.block_dir(refusing) + "/state.fault")

        case.run(CONVERT_CHECKS[8], busy)

        def revert():
            mark = s.bed.dax.mark()
            res = s.client.call("RevertDevice", ("dax0.0",), "(s)", timeout=60)[0]
            check(sorted(r[0] for r in res) == nv.blocks() and all(r[1] for r in res), "results %s" % (res,))
            s.settle()
            for i in nv.blocks():
                check(s.bed.emu.writes_to(i)[-1].value == "offline", "memory%d: %s" % (i, s.bed.emu.writes_to(i)))
            got = [e.short() for e in s.bed.dax.log(since=mark)]
            want = ["kmem/remove_id dax0.0", "kmem/unbind dax0.0", "kmod device_dax",
                    "device_dax/new_id dax0.0", "device_dax/bind dax0.0 -> EBUSY"]
            check(got == want, "writes %s, want %s" % (got, want))
            # Every offline was written before kmem was let go.
            last_offline = max(w.t_write for i in nv.blocks() for w in s.bed.emu.writes_to(i))
            unbind = next(e for e in s.bed.dax.log(since=mark) if e.short() == "kmem/unbind dax0.0")
            check(last_offline < unbind.t, "unbind before the last offline")
            check(s.bed.dax.driver_of(nv) == "device_dax", "driver %s" % s.bed.dax.driver_of(nv))
            wait_until(lambda: s.client.device(nv)["BlocksTotal"] == 0, what="dax0.0's blocks to be gone")
            p = s.client.device(nv)
            prop_check(p, {"Mode": "devdax", "BlocksOnline": 0, "Action": "leave",
                           "Reason": "returned to devdax on request; [Dax nv] would convert it"})
            check(d.find(r"dax0\.0: Returned to devdax on request"), "no 'Returned to devdax' line")
            s.bed.dax.check_errors()

        case.run(CONVERT_CHECKS[9], revert)

        def ctl_revert():
            if not CTL:
                raise Failure("memhotplugctl is not built")
            mark = s.bed.dax.mark()
            out = busclient.ctl(s.bus.address, "revert", "dax2.0")
            check(out.returncode == 0, "exit %d: %s%s" % (out.returncode, out.stdout, out.stderr))
            check("dax2.0 is devdax again." in out.stdout, "stdout %r" % out.stdout)
            s.settle()
            check(s.bed.dax.driver_of(cx) == "device_dax", "driver %s" % s.bed.dax.driver_of(cx))
            got = [e.short() for e in s.bed.dax.log(since=mark)]
            check(got[-2:] == ["device_dax/new_id dax2.0", "device_dax/bind dax2.0 -> EBUSY"], "writes %s" % got)
            s.bed.dax.check_errors()

        case.run(CONVERT_CHECKS[10], ctl_revert)
    finally:
        s.close()


REFUSE_CHECKS = [
    "MemmapOnMemory=yes with memory_hotplug.memmap_on_memory=N: not converted, no write at all, the log says why",
    "MemmapOnMemory=yes on a device without memmap_on_memory (before Linux 6.8): not converted, the log says why",
    "D-Bus: the refused devices have Action 'refuse' and the reason; Mode=devdax leaves dax2.0 (Action 'leave')",
]


@scenario(REFUSE_CHECKS)
def test_refuse(case):
    nv, hm, cx = nvdimm(memmap="0"), hmem(memmap=None), cxl(memmap="0")
    config = BASE + "\n[Dax]\nMode=system-ram\nMemmapOnMemory=yes\n\n[Dax keep]\nMatchCXLRegion=region0\nMode=devdax\n"
    s = Setup(case, [nv, hm, cx], config, memmap_global="N")
    try:
        d = s.start()
        s.settle()
        time.sleep(0.3)

        def no_writes():
            s.bed.dax.check_errors()
            check(not s.bed.dax.log(), "writes: %s" % s.bed.dax.log())
            check(all(s.bed.dax.driver_of(x) == "device_dax" for x in (nv, hm, cx)), "a driver changed")
            check(d.find(r"^warning: dax0\.0: Left as it is: \[Dax\] MemmapOnMemory=yes, but "
                         r"memory_hotplug\.memmap_on_memory is off; not converting"),
                  "no refusal line for dax0.0\n" + tail(d, 40))

        case.run(REFUSE_CHECKS[0], no_writes)

        def no_attr():
            check(d.find(r"^warning: dax1\.0: Left as it is: \[Dax\] MemmapOnMemory=yes, but this kernel has no "
                         r"per-device memmap_on_memory"), "no refusal line for dax1.0\n" + tail(d, 40))
            check(not s.bed.dax.log(device="dax1.0"), "dax1.0 writes")

        case.run(REFUSE_CHECKS[1], no_attr)

        def dbus():
            for dev, why in ((nv, "memory_hotplug.memmap_on_memory is off"), (hm, "no per-device memmap_on_memory")):
                p = s.client.device(dev)
                check(p["Action"] == "refuse" and why in p["Reason"] and p["Mode"] == "devdax",
                      "%s: Action %r Reason %r Mode %r" % (dev.name, p["Action"], p["Reason"], p["Mode"]))
            p = s.client.device(cx)
            prop_check(p, {"Action": "leave", "Rule": "[Dax keep]", "Mode": "devdax", "Reason": "[Dax keep] Mode=devdax"})
            check(p["MemmapOnMemory"] == "system-ram" and s.client.device(hm)["MemmapOnMemory"] == "unsupported",
                  "MemmapOnMemory %r / %r" % (p["MemmapOnMemory"], s.client.device(hm)["MemmapOnMemory"]))

        case.run(REFUSE_CHECKS[2], dbus)
    finally:
        s.close()


MEMMAP_FAULT_CHECKS = [
    "memmap_on_memory write fails (EIO) under MemmapOnMemory=yes: not converted, no driver write, the error "
    "with its errno in the log",
    "memmap_on_memory write fails (EIO) under MemmapOnMemory=auto: converted with the memmap in system RAM, the "
    "warning with its errno, its blocks onlined",
]


@scenario(MEMMAP_FAULT_CHECKS)
def test_memmap_fault(case):
    nv, hm = nvdimm(memmap="0"), hmem(memmap="0")
    config = BASE + ("\n[Dax strict]\nMatchDevice=dax0.0\nMode=system-ram\nMemmapOnMemory=yes\nOnline=movable\n"
                     "\n[Dax lenient]\nMatchDevice=dax1.0\nMode=system-ram\nMemmapOnMemory=auto\nOnline=movable\n")
    s = Setup(case, [nv, hm], config, bus=False)
    try:
        for dev in (nv, hm):
            # The fault preload looks for the fault file next to the path the daemon's fd resolves to.
            write(os.path.realpath(s.bed.dev_dir(dev) + "/memmap_on_memory") + ".fault", "EIO")
        d = s.start()
        s.bed.emu.wait_online(hm.blocks())
        s.settle()

        def strict():
            s.bed.dax.check_errors()
            got = writes_for(s.bed, nv)
            check(got == ["dax0.0/memmap_on_memory=1"], "dax0.0: writes %s" % got)
            check(s.bed.dax.driver_of(nv) == "device_dax", "dax0.0: driver %s" % s.bed.dax.driver_of(nv))
            check(d.find(r"^error: dax0\.0: Not converting: MemmapOnMemory=yes, but writing memmap_on_memory "
                         r"failed: Input/output error$"), "no refusal line\n" + tail(d, 40))
            check(not any(device_writes(s.bed, nv).values()), "dax0.0 blocks written: %s" % device_writes(s.bed, nv))

        case.run(MEMMAP_FAULT_CHECKS[0], strict)

        def lenient():
            got = writes_for(s.bed, hm)
            check(got == expect_conversion(s.bed, hm, "1"), "dax1.0: writes %s" % got)
            check(s.bed.dax.driver_of(hm) == "kmem", "dax1.0: driver %s" % s.bed.dax.driver_of(hm))
            check(d.find(r"^warning: dax1\.0: Writing memmap_on_memory=1 failed, converting with the memmap in "
                         r"system RAM: Input/output error$"), "no warning line\n" + tail(d, 40))
            w = device_writes(s.bed, hm)
            check(w == {i: ["online_movable"] for i in hm.blocks()}, "dax1.0 state writes %s" % w)

        case.run(MEMMAP_FAULT_CHECKS[1], lenient)
    finally:
        s.close()


KMEM_CHECKS = [
    "already system-ram at start (converted by someone else): no driver write, its offline blocks get its rule's "
    "Online=kernel",
    "Mode=ignore: an already-kmem device's offline blocks are left alone (never written), 'Left alone' logged; "
    "plain memory is still onlined by [Memory]",
]


@scenario(KMEM_CHECKS)
def test_already_kmem(case):
    nv, hm = nvdimm(driver="kmem"), hmem(driver="kmem")
    plain = Block(0, 0)
    config = BASE + ("\n[Memory]\nOnline=movable\n\n[Dax]\nMode=devdax\n\n[Dax nv]\nMatchSource=nvdimm\n"
                     "Mode=system-ram\nOnline=kernel\n\n[Dax hm]\nMatchDevice=dax1.0\nMode=ignore\n")
    s = Setup(case, [nv, hm], config, bus=False, blocks=[plain])
    try:
        d = s.start()
        s.bed.emu.wait_online(nv.blocks() + [0])
        s.settle()
        time.sleep(0.3)
        s.settle()

        def follow():
            check(not s.bed.dax.log(kinds=("driver", "kmod")), "driver writes %s" % s.bed.dax.log())
            w = device_writes(s.bed, nv)
            check(w == {i: ["online_kernel"] for i in nv.blocks()}, "dax0.0 block writes %s" % w)
            s.bed.dax.check_errors()

        case.run(KMEM_CHECKS[0], follow)

        def ignore():
            w = device_writes(s.bed, hm)
            check(all(not v for v in w.values()), "dax1.0 blocks written: %s" % w)
            check(all(s.bed.read_attr(i, "state") == "offline" for i in hm.blocks()), "a dax1.0 block is online")
            check(d.find(r"memory%d: Left alone: dax1\.0 is \[Dax hm\] Mode=ignore" % hm.blocks()[0]),
                  "no 'Left alone' line\n" + tail(d, 40))
            check([w.value for w in s.bed.emu.writes_to(0)] == ["online_movable"], "memory0 %s" % s.bed.emu.writes_to(0))

        case.run(KMEM_CHECKS[1], ignore)
    finally:
        s.close()


HOTPLUG_CHECKS = [
    "daxX.Y/state (Linux 7.3): D-Bus HotplugState/HotplugConsistent are the file's word and true where the blocks "
    "agree (offline with its blocks offline, online_movable with them online in Movable), 'none' and true without "
    "the file (devdax); the decision line names the state",
    "blocks of a device whose state reads offline onlined by hand, one by one: one warning, "
    "'state reads offline but N of 4 blocks are online (onlined block by block)' and the unplugged-then-zone "
    "command; HotplugConsistent false with PropertiesChanged on the device's object; no block written by the daemon",
    "memhotplugctl devices: a HOTPLUG column ('offline (blocks disagree)', 'online_movable', 'none'); --json "
    "HotplugState and HotplugConsistent",
    "the same disagreement judged again after a reload and a dax 'change' uevent: still one warning",
    "its blocks offlined by hand: 'agree again', HotplugConsistent true; onlined by hand again: a second warning",
    "online_movable with one block offlined by hand: one warning naming that block and "
    "`echo online_movable > …/memoryN/state` (a write of the device's state would do nothing); not onlined by "
    "the daemon",
    "that block then onlined by hand in Normal: another disagreement, reported (once more): offline it and "
    "online it again as online_movable",
]

HOTPLUG_CONFIG = BASE + """
[Dax]
Mode=devdax

[Dax nv]
MatchSource=nvdimm
Mode=system-ram
Online=offline

[Dax hm]
MatchSource=hmem
Mode=system-ram
Online=movable
"""
DISAGREES = r"^warning: dax0\.0: state reads offline but \d of 4 blocks are online \(onlined block by block\)"
JUDGED = r"^debug: %s: state %s, \d of 4 blocks online: %s"


def hand_online(bed, i, zone="Movable"):
    """What a person's `echo online_movable > memoryN/state` does (the kernel emulator only plays the
    daemon's writes)."""
    bed.emu._set_online(i, zone)


def hand_offline(bed, i, zones=("Normal", "Movable")):
    bed.write_attr(i, "valid_zones", " ".join(zones))
    bed.write_attr(i, "state", "offline")
    with bed.emu.cond:
        bed.emu.online.discard(i)
    bed.uevent(i, "offline")


@scenario(HOTPLUG_CHECKS)
def test_hotplug_state(case):
    nv = nvdimm(driver="kmem", hotplug="offline")
    hm = hmem(driver="kmem", hotplug="online_movable", block_state="online", zones=("Movable", "Normal"))
    cx = cxl()
    s = Setup(case, [nv, hm, cx], HOTPLUG_CONFIG)
    try:
        d = s.start()
        d.wait_line(JUDGED % (r"dax0\.0", "offline", "agree"))
        d.wait_line(JUDGED % (r"dax1\.0", "online_movable", "agree"))
        s.settle()

        def agree():
            prop_check(s.client.device(nv), {"HotplugState": "offline", "HotplugConsistent": True})
            prop_check(s.client.device(hm), {"HotplugState": "online_movable", "HotplugConsistent": True})
            prop_check(s.client.device(cx), {"HotplugState": "none", "HotplugConsistent": True})
            rows = s.client.devices()
            check(rows["dax0.0"][12:] == ("offline", True), "ListDevices dax0.0 %s" % (rows["dax0.0"],))
            check(rows["dax2.0"][12:] == ("none", True), "ListDevices dax2.0 %s" % (rows["dax2.0"],))
            check(d.find(r"dax0\.0: system-ram, state offline: "), "no decision line with the state\n" + tail(d, 40))
            check(not d.find(r"state reads"), "a disagreement reported:\n" + tail(d, 40))

        case.run(HOTPLUG_CHECKS[0], agree)

        def by_hand():
            mark = s.client.mark()
            for i in nv.blocks():
                hand_online(s.bed, i)
            d.wait_line(DISAGREES)
            d.wait_line(JUDGED % (r"dax0\.0", "offline", "disagree"))
            check(s.client.device(nv)["HotplugConsistent"] is False, "HotplugConsistent %r" %
                  s.client.device(nv)["HotplugConsistent"])
            s.client.wait_signal(lambda x: x[1] == nv.object_path() and x[3] == "PropertiesChanged"
                                 and x[4][0] == DEVICE and x[4][1].get("HotplugConsistent") is False,
                                 "PropertiesChanged HotplugConsistent=false on dax0.0", mark=mark)
            line = d.lines[d.find(DISAGREES)[0]]
            want = ("the kernel cannot leave offline except through unplugged: "
                    "`echo unplugged > /sys/bus/dax/devices/dax0.0/state` then "
                    "`echo online_movable > /sys/bus/dax/devices/dax0.0/state` (this takes the memory away first)")
            check(want in line, "%r not in %r" % (want, line))
            w = device_writes(s.bed, nv)
            check(all(not v for v in w.values()), "the daemon wrote dax0.0's blocks: %s" % w)

        case.run(HOTPLUG_CHECKS[1], by_hand)

        def ctl_devices():
            out = ctl_ok(s, "devices")
            check(re.search(r"^DEVICE .* HOTPLUG ", out.stdout, re.M), "no HOTPLUG column:\n" + out.stdout)
            for name, word in (("dax0.0", "offline (blocks disagree)"), ("dax1.0", "online_movable"),
                               ("dax2.0", "none")):
                line = next((ln for ln in out.stdout.splitlines() if ln.startswith(name + " ")), "")
                check(re.search(r"\s%s\s" % re.escape(word), line), "%r not in %r" % (word, line))
            rows = {r["Device"]: r for r in json.loads(ctl_ok(s, "--json", "devices").stdout)}
            got = {n: (r["HotplugState"], r["HotplugConsistent"]) for n, r in rows.items()}
            want = {"dax0.0": ("offline", False), "dax1.0": ("online_movable", True), "dax2.0": ("none", True)}
            check(got == want, "json %s" % got)

        case.run(HOTPLUG_CHECKS[2], ctl_devices)

        def once():
            judged = len(d.find(JUDGED % (r"dax0\.0", "offline", "disagree")))
            s.reload(HOTPLUG_CONFIG)
            d.wait_line(JUDGED % (r"dax0\.0", "offline", "disagree"), count=judged + 1)
            s.bed.dax_uevent(nv, "change")
            d.wait_line(JUDGED % (r"dax0\.0", "offline", "disagree"), count=judged + 2)
            check(len(d.find(DISAGREES)) == 1, "reported %d times:\n%s" % (len(d.find(DISAGREES)), tail(d, 40)))

        case.run(HOTPLUG_CHECKS[3], once)

        def again():
            for i in nv.blocks():
                hand_offline(s.bed, i)
            d.wait_line(r"^info: dax0\.0: state reads offline and its 4 blocks agree again")
            check(s.client.device(nv)["HotplugConsistent"] is True, "HotplugConsistent after agreeing")
            for i in nv.blocks():
                hand_online(s.bed, i)
            d.wait_line(DISAGREES, count=2)
            s.settle()
            check(len(d.find(DISAGREES)) == 2, "reported %d times" % len(d.find(DISAGREES)))

        case.run(HOTPLUG_CHECKS[4], again)

        def movable_offlined():
            i = hm.blocks()[1]
            hand_offline(s.bed, i, zones=("Movable", "Normal"))
            line = d.lines[d.wait_line(r"^warning: dax1\.0: state reads online_movable but 1 of 4 blocks are offline")]
            want = "`echo online_movable > /sys/devices/system/memory/memoryN/state` for memory%d" % i
            check(want in line, "%r not in %r" % (want, line))
            check(s.client.device(hm)["HotplugConsistent"] is False, "dax1.0 HotplugConsistent")
            s.settle()
            check(s.bed.read_attr(i, "state") == "offline", "the daemon onlined memory%d" % i)
            check(len(d.find(r"dax1\.0: state reads")) == 1, "dax1.0 reported more than once")

        case.run(HOTPLUG_CHECKS[5], movable_offlined)

        def wrong_zone():
            i = hm.blocks()[1]
            hand_online(s.bed, i, zone="Normal")
            line = d.lines[d.wait_line(r"^warning: dax1\.0: state reads online_movable but memory%d is online in a "
                                       r"kernel zone" % i)]
            want = ("`echo offline > /sys/devices/system/memory/memoryN/state` then "
                    "`echo online_movable > /sys/devices/system/memory/memoryN/state` for memory%d" % i)
            check(want in line, "%r not in %r" % (want, line))
            s.settle()
            check(len(d.find(r"dax1\.0: state reads")) == 2, "dax1.0 reports: %s" % d.find(r"dax1\.0: state reads"))
            check(s.bed.read_attr(i, "valid_zones") == "Normal", "the daemon moved memory%d" % i)

        case.run(HOTPLUG_CHECKS[6], wrong_zone)
        s.bed.dax.check_errors()
    finally:
        s.close()


TIER_CHECKS = [
    "MatchMemoryTier= and MatchNodeCPUs=: an already-kmem device on a CPU-less node in memory_tier22 gets the "
    "matching rule's Online=kernel; a rule asking for a node with CPUs does not match the other: it falls to "
    "[Dax] and is returned to devdax",
]


@scenario(TIER_CHECKS)
def test_tier_match(case):
    hm, cx = hmem(driver="kmem"), cxl(driver="kmem")  # targets node 1 both
    config = BASE + ("\n[Dax]\nMode=devdax\n\n[Dax slow]\nMatchMemoryTier=22\nMatchNodeCPUs=no\n"
                     "MatchSource=hmem\nMode=system-ram\nOnline=kernel\n\n"
                     "[Dax cpus]\nMatchSource=cxl\nMatchNodeCPUs=yes\nMode=system-ram\nOnline=movable\n")
    s = Setup(case, [hm, cx], config, bus=False)
    try:
        # Node 1: no CPUs, in memory_tier22 (what the kernel shows for CXL or HBM memory).
        for path, value in (("devices/system/node/node1/cpulist", ""),
                            ("devices/virtual/memory_tiering/memory_tier22/nodelist", "1"),
                            ("devices/virtual/memory_tiering/memory_tier4/nodelist", "0")):
            full = os.path.join(s.bed.sys_dir, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(value + "\n")
        d = s.start()
        s.bed.emu.wait_online(hm.blocks())
        s.settle()

        def matched():
            check(device_writes(s.bed, hm) == {i: ["online_kernel"] for i in hm.blocks()},
                  "dax1.0 block writes %s" % device_writes(s.bed, hm))
            check(all(not v for v in device_writes(s.bed, cx).values()), "dax2.0 blocks written: %s" %
                  device_writes(s.bed, cx))
            check(d.find(r"dax2\.0.*\[Dax\] Mode=devdax"), "dax2.0 did not fall to [Dax]\n" + tail(d, 40))

        case.run(TIER_CHECKS[0], matched)
    finally:
        s.close()


BY_RULE_CHECKS = [
    "kmem at start, rule says Mode=devdax: kmem unbound and device_dax bound before any of its blocks is "
    "written, the journal says why",
    "kmem at start with the memmap on the device, rule says MemmapOnMemory=no: kmem off, memmap_on_memory=0, "
    "kmem on again, then its new blocks onlined by the rule",
    "runtime: a device announced without a driver, then bound to kmem by the kernel (its blocks added first): "
    "the blocks wait for the device's decision; Mode=devdax reverts it with none of them written",
]


@scenario(BY_RULE_CHECKS[0:1] + BY_RULE_CHECKS[2:3])
def test_kmem_revert(case):
    cx = cxl(driver="kmem", memmap="1")
    config = BASE + ("\n[Dax]\nMode=system-ram\nOnline=movable\nMemmapOnMemory=auto\n"
                     "\n[Dax app]\nMatchSource=cxl hmem\nMode=devdax\n")
    s = Setup(case, [cx], config, bus=False)
    try:
        d = s.start()
        s.settle()

        def revert():
            got = writes_for(s.bed, cx)
            check("kmem/unbind %s" % cx.name in got and s.bed.dax.driver_of(cx) == "device_dax",
                  "writes %s, driver %s" % (got, s.bed.dax.driver_of(cx)))
            w = device_writes(s.bed, cx)
            check(all(not v for v in w.values()), "dax2.0 blocks written: %s" % w)
            check(d.find(r"dax2\.0: Returned to devdax before any block was onlined: \[Dax app\] Mode=devdax"),
                  "no 'Returned to devdax' line\n" + tail(d, 40))
            s.bed.dax.check_errors()

        case.run(BY_RULE_CHECKS[0], revert)

        def runtime():
            hm = hmem(driver=None, memmap="1")
            s.bed.add_device(hm)  # "add": no driver yet
            time.sleep(0.03)
            # The kernel's default bind: kmem adds the blocks (their "add" uevents), then the
            # driver link is there, then "bind". (The link last: the daemon may look at any time,
            # and the kernel would hold its unbind until the probe is over.)
            for i in s.bed.dax.make_blocks(hm):
                s.bed.uevent(i, "add")
            s.bed.dax.set_driver(hm, "kmem")
            time.sleep(0.05)
            s.bed.dax_uevent(hm, "bind")
            d.wait_line(r"dax1\.0: Returned to devdax")
            s.settle()
            w = device_writes(s.bed, hm)
            check(all(not v for v in w.values()), "dax1.0 blocks written: %s" % w)
            check(s.bed.dax.driver_of(hm) == "device_dax", "dax1.0 driver %s" % s.bed.dax.driver_of(hm))
            check(d.find(r"memory%d: Waiting: dax1\.0 has no driver yet" % hm.blocks()[0]),
                  "no 'Waiting' line\n" + tail(d, 40))
            s.bed.dax.check_errors()

        case.run(BY_RULE_CHECKS[2], runtime)
    finally:
        s.close()


@scenario(BY_RULE_CHECKS[1:2])
def test_kmem_rebind(case):
    nv = nvdimm(driver="kmem", memmap="1")
    config = BASE + ("\n[Dax]\nMode=system-ram\nOnline=movable\nMemmapOnMemory=auto\n"
                     "\n[Dax nv]\nMatchSource=nvdimm\nMemmapOnMemory=no\n")
    s = Setup(case, [nv], config, bus=False)
    try:
        d = s.start()

        def rebind():
            s.bed.emu.wait_online(nv.blocks())
            s.settle()
            got = writes_for(s.bed, nv)
            order = [w for w in got if w.startswith(("kmem/unbind", "kmem/bind", "kmem/new_id", nv.name))]
            check(order[:3] == ["kmem/unbind %s" % nv.name, "%s/memmap_on_memory=0" % nv.name,
                                "kmem/new_id %s" % nv.name] and s.bed.dax.driver_of(nv) == "kmem",
                  "writes %s" % got)
            w = device_writes(s.bed, nv)
            check(w == {i: ["online_movable"] for i in nv.blocks()}, "dax0.0 block writes %s" % w)
            check(d.find(r"dax0\.0: Bound to kmem again, memmap in system RAM: \[Dax nv\] MemmapOnMemory=no"),
                  "no 'Bound to kmem again' line\n" + tail(d, 40))
            s.bed.dax.check_errors()

        case.run(BY_RULE_CHECKS[1], rebind)
    finally:
        s.close()


RUNTIME_CHECKS = [
    "runtime: a dax device announced by 'add' without a driver, then bound to device_dax (bind uevent), is "
    "converted by its rule and its blocks onlined",
    "runtime: the blocks of a device that had no driver when they came wait for it, and are onlined by its "
    "rule once kmem is bound (decided again when the device's decision comes)",
]


@scenario(RUNTIME_CHECKS)
def test_runtime(case):
    config = BASE + "\n[Dax]\nMode=system-ram\nOnline=movable\nMemmapOnMemory=auto\n"
    s = Setup(case, [], config, bus=False)
    try:
        d = s.start()
        hm = hmem(driver=None, memmap="0")
        cx = cxl(driver=None, memmap="1")

        def runtime():
            s.bed.add_device(hm)  # "add": no driver yet
            time.sleep(0.15)
            s.bed.dax.set_driver(hm, "device_dax")  # device_dax probes it
            s.bed.dax_uevent(hm, "bind")
            s.bed.emu.wait_online(hm.blocks())
            s.settle()
            got = writes_for(s.bed, hm)
            check(got == expect_conversion(s.bed, hm, "1"), "writes %s" % got)
            w = device_writes(s.bed, hm)
            check(w == {i: ["online_movable"] for i in hm.blocks()}, "block writes %s" % w)
            check(d.find(r"^info: dax1\.0: Converted to system-ram"), "no Converted line\n" + tail(d, 40))
            s.bed.dax.check_errors()

        case.run(RUNTIME_CHECKS[0], runtime)

        def blocks_wait():
            t0 = time.monotonic()
            s.bed.add_device(cx)  # "add": no driver yet
            blocks = s.bed.dax.make_blocks(cx)
            for i in blocks:
                s.bed.uevent(i, "add")
            # Every block was looked at while the device had no driver: only the device's decision
            # can bring them back (no uevent of theirs comes again).
            d.wait_line(r"Waiting: dax2\.0 has no driver yet", count=len(blocks))
            s.bed.dax.set_driver(cx, "kmem")
            if time.monotonic() - t0 >= DRIVER_WAIT_SEC:
                # The daemon may have stopped waiting for a driver first (its timers never fire
                # early, so below this it cannot have): another scenario, nothing to check here.
                case.note("the host was too slow to bind the driver within %.1fs" % DRIVER_WAIT_SEC)
                return
            s.bed.dax_uevent(cx, "bind")
            s.bed.emu.wait_online(cx.blocks())
            s.settle()
            w = device_writes(s.bed, cx)
            check(w == {i: ["online_movable"] for i in cx.blocks()}, "dax2.0 block writes %s" % w)
            check(s.bed.dax.driver_of(cx) == "kmem", "dax2.0 driver %s" % s.bed.dax.driver_of(cx))
            s.bed.dax.check_errors()

        case.run(RUNTIME_CHECKS[1], blocks_wait)
    finally:
        s.close()


RULE_CHECKS = [
    "rules: MatchCXLSerial (either memdev), MatchNvdimmUUID, MatchNode+MatchSize pick their devices",
    "rules: MatchCXLRegion, MatchDevice globs with MatchSource lists; first match wins; a near miss is skipped",
    "rules: no rule matches -> [Dax] defaults; MatchSize range excludes",
    "rules: ImportDaxctlConfig=yes reads [reconfigure-device] from DaxctlConfigDirectory= as rules after the "
    "native ones",
]


@scenario(RULE_CHECKS)
def test_rules(case):
    nv, hm, cx = nvdimm(), hmem(), cxl()
    devs = (nv, hm, cx)

    def cfg(rules, dax="[Dax]\nMode=devdax\n"):
        return BASE + "\n" + dax + "\n" + rules

    s = Setup(case, list(devs), cfg(""))
    try:
        s.start()

        def rules_of():
            return {dev.name: s.client.device(dev)["Rule"] for dev in devs}

        def expect(config, want):
            s.reload(config)
            got = rules_of()
            check(got == want, "rules %s, want %s" % (got, want))

        def first():
            expect(cfg("[Dax by-serial0]\nMatchCXLSerial=%d\n\n[Dax by-uuid]\nMatchNvdimmUUID=%s\n\n"
                       "[Dax by-node-size]\nMatchNode=1\nMatchSize=512M-1G\n" % (SERIAL0, NV_UUID)),
                   {"dax0.0": "[Dax by-uuid]", "dax1.0": "[Dax by-node-size]", "dax2.0": "[Dax by-serial0]"})
            expect(cfg("[Dax by-serial1]\nMatchCXLSerial=0x%x\n\n[Dax rest]\nMatchDevice=dax*\n" % SERIAL1),
                   {"dax0.0": "[Dax rest]", "dax1.0": "[Dax rest]", "dax2.0": "[Dax by-serial1]"})

        case.run(RULE_CHECKS[0], first)

        def second():
            expect(cfg("[Dax miss]\nMatchSource=cxl\nMatchNode=0\nMode=ignore\n\n[Dax region]\nMatchCXLRegion=region0\n\n"
                       "[Dax wrong-region]\nMatchCXLRegion=region7\n\n[Dax globs]\nMatchDevice=dax[01].* dax9.9\n"
                       "MatchSource=nvdimm hmem\n\n[Dax later]\nMatchDevice=dax*\n"),
                   {"dax0.0": "[Dax globs]", "dax1.0": "[Dax globs]", "dax2.0": "[Dax region]"})
            check(s.client.device(cx)["Action"] == "leave", "dax2.0 action %r" % s.client.device(cx)["Action"])

        case.run(RULE_CHECKS[1], second)

        def defaults():
            expect(cfg("[Dax too-big]\nMatchSize=2G-\nMode=ignore\n\n[Dax other-uuid]\n"
                       "MatchNvdimmUUID=00000000-0000-0000-0000-000000000000\n"),
                   {"dax0.0": "[Dax]", "dax1.0": "[Dax]", "dax2.0": "[Dax]"})
            check(s.client.device(nv)["Reason"] == "[Dax] Mode=devdax", "reason %r" % s.client.device(nv)["Reason"])

        case.run(RULE_CHECKS[2], defaults)

        def daxctl():
            conf_d = os.path.join(s.bed.tmp, "daxctl.conf.d")
            os.makedirs(conf_d)
            with open(os.path.join(conf_d, "nv.conf"), "w") as f:
                f.write("[reconfigure-device nvdimm-dev]\nnvdimm.uuid = %s\nmode = devdax\n" % NV_UUID)
            expect(cfg("[Dax hm]\nMatchDevice=dax1.0\n",
                       dax="[Dax]\nMode=devdax\nImportDaxctlConfig=yes\nDaxctlConfigDirectory=%s\n" % conf_d),
                   {"dax0.0": "[Dax daxctl:nvdimm-dev]", "dax1.0": "[Dax hm]", "dax2.0": "[Dax]"})
            expect(cfg("[Dax nv-native]\nMatchSource=nvdimm\n",
                       dax="[Dax]\nMode=devdax\nImportDaxctlConfig=yes\nDaxctlConfigDirectory=%s\n" % conf_d),
                   {"dax0.0": "[Dax nv-native]", "dax1.0": "[Dax]", "dax2.0": "[Dax]"})
            check(not s.bed.dax.log(), "writes: %s" % s.bed.dax.log())

        case.run(RULE_CHECKS[3], daxctl)
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------


def preflight_dax():
    """The kmod stub and the testbed redirection, through daxctl(8) itself and through libdaxctl
    dlopen()ed with RTLD_LOCAL as the daemon loads it: disabling then enabling the device must unbind
    and bind device_dax in the testbed, and log "kmod device_dax" from the stub (nothing loaded)."""
    bed = DaxBed([hmem()])
    try:
        harness.assert_isolated(["x"], bed.env())
        env = bed.env()
        for verb in ("disable-device", "enable-device"):
            out = subprocess.run(["daxctl", verb, "dax1.0"], env=env, capture_output=True, text=True, timeout=60)
            if out.returncode != 0:
                raise RuntimeError("daxctl %s under the testbed failed (%d): %s" % (verb, out.returncode, out.stderr))
        wait_until(lambda: len(bed.dax.log()) >= 5, 10, what="daxctl's writes")
        got = [e.short() for e in bed.dax.log()]
        want = ["device_dax/remove_id dax1.0", "device_dax/unbind dax1.0", "kmod device_dax",
                "device_dax/new_id dax1.0", "device_dax/bind dax1.0 -> EBUSY"]
        if got != want:
            raise RuntimeError("libdaxctl did not go through the stub and the testbed: %s, want %s" % (got, want))
        # As the daemon does it: libdaxctl dlopen()ed with RTLD_LOCAL (ctypes' default).
        mark = bed.dax.mark()
        out = subprocess.run(["/usr/bin/python3", "-c", DLOPEN_CHILD, "dax1.0"], env=env, capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("libdaxctl through dlopen failed (%d): %s" % (out.returncode, out.stderr))
        wait_until(lambda: len(bed.dax.log(since=mark)) >= 5, 10, what="the dlopen child's writes")
        got = [e.short() for e in bed.dax.log(since=mark)]
        if got != want:
            raise RuntimeError("libdaxctl (dlopen) did not go through the stub and the testbed: %s" % got)
        for e in bed.dax.log(kinds=("driver",)):
            if not os.path.realpath(e.path).startswith(os.path.realpath(bed.root) + "/sys/"):
                raise RuntimeError("a write outside the testbed: %s" % e.path)
    finally:
        bed.cleanup()


DLOPEN_CHILD = r"""
import ctypes, sys
lib = ctypes.CDLL("libdaxctl.so.1")  # RTLD_LOCAL, like the daemon's dlopen()
vp = ctypes.c_void_p
for f in ("daxctl_region_get_first", "daxctl_region_get_next", "daxctl_dev_get_first", "daxctl_dev_get_next"):
    getattr(lib, f).restype = vp
    getattr(lib, f).argtypes = [vp]
lib.daxctl_dev_get_devname.restype = ctypes.c_char_p
lib.daxctl_dev_get_devname.argtypes = [vp]
lib.daxctl_dev_disable.argtypes = lib.daxctl_dev_enable_devdax.argtypes = [vp]
ctx = vp()
assert lib.daxctl_new(ctypes.byref(ctx)) == 0
region, found = lib.daxctl_region_get_first(ctx), None
while region and not found:
    dev = lib.daxctl_dev_get_first(region)
    while dev and not found:
        if lib.daxctl_dev_get_devname(dev).decode() == sys.argv[1]:
            found = dev
        dev = lib.daxctl_dev_get_next(dev)
    region = lib.daxctl_region_get_next(region)
assert found, "libdaxctl does not see " + sys.argv[1]
assert lib.daxctl_dev_disable(found) == 0, "disable"
assert lib.daxctl_dev_enable_devdax(found) == 0, "enable"
"""
def hotplug_writes(bed, dev, since=0):
    """The daemon's writes to dev's daxX.Y/state, with the emulator's answers."""
    return [e.short() for e in bed.dax.log(kinds=("daxstate",), device=dev.name, since=since)]


STATE_CONFIG = BASE + """
[Dax]
Mode=system-ram
Online=movable

[Dax hm]
MatchSource=hmem
Mode=system-ram
Online=kernel
"""

STATE_CHECKS = [
    "Linux 7.3 convert (the file reads offline after kmem's bind): `unplugged`, then the rule's zone written to "
    "daxX.Y/state after the bind, no memoryN/state write; every block online in the zone, the file reads it",
    "Linux 7.3 convert: one journal line per device ('Onlined 4 blocks into Movable with one write of "
    "dax0.0/state'), no per-block 'Onlined into zone' line; the start job counts the 4 blocks as done by us",
    "Linux 7.3 convert, a block the kernel left offline under online_kernel: a warning names it, and that block "
    "alone is onlined by a write of online_kernel to its state",
    "Linux 7.3 RevertDevice: every block offlined (on the offline thread, as before), then `unplugged` "
    "written, then kmem let go and device_dax bound; no block left, never kmem unbound under a block",
    "Linux 7.3 RevertDevice with `unplugged` refused (EBUSY): DeviceBusy, kmem stays bound, no driver write",
]


@scenario(STATE_CHECKS)
def test_hotplug_convert(case):
    nv, hm = nvdimm(memmap="0"), hmem(memmap="1")
    s = Setup(case, [nv], STATE_CONFIG, hotplug=True)
    s.bed.dax.left_offline[hm.name] = {hm.blocks()[1]}
    try:
        d = s.start()
        s.bed.emu.wait_online(nv.blocks())
        s.settle()
        # Hot-added once the first is done: umockdev's uevent socket holds only so many while the
        # daemon's writes wait for the emulator.
        s.bed.add_device(hm)
        s.bed.emu.wait_online(hm.blocks())
        s.settle()

        def convert():
            s.bed.dax.check_errors()
            got = hotplug_writes(s.bed, nv)
            check(got == ["dax0.0/state unplugged", "dax0.0/state online_movable"], "dax0.0/state writes %s" % got)
            log = [e.short() for e in s.bed.dax.log(kinds=("driver", "daxstate"), device=nv.name)]
            check(log.index("kmem/bind dax0.0 -> EBUSY") < log.index("dax0.0/state unplugged"), "order %s" % log)
            w = device_writes(s.bed, nv)
            check(all(not v for v in w.values()), "memoryN/state writes %s" % w)
            check(set(zones_of(s.bed, nv).values()) == {"Movable"}, "zones %s" % zones_of(s.bed, nv))
            check(s.bed.dax.hotplug_of(nv) == "online_movable", "the file reads %s" % s.bed.dax.hotplug_of(nv))

        case.run(STATE_CHECKS[0], convert)

        def journal():
            lines = d.find(r"dax0\.0: Onlined 4 blocks into Movable with one write of dax0\.0/state")
            check(len(lines) == 1, "%d 'Onlined 4 blocks' lines\n%s" % (len(lines), tail(d, 60)))
            per_block = [i for i in nv.blocks() if d.find(r"memory%d: Onlined into zone" % i)]
            check(not per_block, "per-block lines for %s" % per_block)
            check(d.find(r"Finished: 4 of 4 blocks done \(0 by another agent\), 0 failed"),
                  "no 'Finished: 4 of 4' line\n" + tail(d, 60))

        case.run(STATE_CHECKS[1], journal)

        def left_offline():
            got = hotplug_writes(s.bed, hm)
            check(got == ["dax1.0/state unplugged", "dax1.0/state online_kernel"], "dax1.0/state writes %s" % got)
            left = hm.blocks()[1]
            w = device_writes(s.bed, hm)
            check(w == {i: ["online_kernel"] if i == left else [] for i in hm.blocks()}, "block writes %s" % w)
            check(d.find(r"dax1\.0: Onlined 3 of its 4 blocks .*the kernel left 1 offline"), "no warning\n" + tail(d, 60))
            check(all(s.bed.read_attr(i, "state") == "online" for i in hm.blocks()), "a dax1.0 block is offline")
            check(set(zones_of(s.bed, hm).values()) == {"Normal"}, "zones %s" % zones_of(s.bed, hm))

        case.run(STATE_CHECKS[2], left_offline)

        def revert():
            mark = s.bed.dax.mark()
            res = s.client.call("RevertDevice", ("dax0.0",), "(s)", timeout=60)[0]
            check(sorted(r[0] for r in res) == nv.blocks() and all(r[1] for r in res), "results %s" % (res,))
            s.settle()
            got = [e.short() for e in s.bed.dax.log(kinds=("driver", "kmod", "daxstate"), since=mark)]
            want = ["dax0.0/state unplugged", "kmem/remove_id dax0.0", "kmem/unbind dax0.0", "kmod device_dax",
                    "device_dax/new_id dax0.0", "device_dax/bind dax0.0 -> EBUSY"]
            check(got == want, "writes %s, want %s" % (got, want))
            unplugged = s.bed.dax.log(kinds=("daxstate",), since=mark)[0]
            for i in nv.blocks():
                w = s.bed.emu.writes_to(i)
                check(w and w[-1].value == "offline" and w[-1].t_write < unplugged.t, "memory%d: %s" % (i, w))
            check(not any(i in s.bed.blocks for i in nv.blocks()), "a dax0.0 block is left")
            check(s.bed.dax.driver_of(nv) == "device_dax", "driver %s" % s.bed.dax.driver_of(nv))
            s.bed.dax.check_errors()

        case.run(STATE_CHECKS[3], revert)

        def busy():
            s.bed.dax.unplug_busy.add(hm.name)
            mark = s.bed.dax.mark()
            e = s.client.error_of("RevertDevice", ("dax1.0",), "(s)", timeout=60)
            check(e.name == "org.memhotplug1.Error.DeviceBusy", "got %s" % e)
            s.settle()
            got = [x.short() for x in s.bed.dax.log(kinds=("driver", "kmod", "daxstate"), since=mark)]
            check(got == ["dax1.0/state unplugged -> EBUSY"], "writes %s" % got)
            check(s.bed.dax.driver_of(hm) == "kmem", "driver %s" % s.bed.dax.driver_of(hm))
            check(all(i in s.bed.blocks for i in hm.blocks()), "a dax1.0 block is gone")

        case.run(STATE_CHECKS[4], busy)
    finally:
        s.close()


OFFLOOP_CHECKS = [
    "Linux 7.3 convert: while the kernel holds the write of online_movable to daxX.Y/state, the daemon "
    "answers D-Bus (ListDevices, the device's HotplugState reads unplugged); the write is on the offline thread",
    "Linux 7.3 convert, the held write released: every block online in Movable, one journal line for the "
    "device, no memoryN/state write, the job counts the 4 blocks",
]


@scenario(OFFLOOP_CHECKS)
def test_hotplug_off_loop(case):
    nv = nvdimm(memmap="0")
    s = Setup(case, [], STATE_CONFIG, hotplug=True)
    release = threading.Event()
    s.bed.dax.hold_state[(nv.name, "online_movable")] = release
    try:
        d = s.start()
        s.bed.add_device(nv)

        def answers():
            try:
                check(s.bed.dax.holding.wait(HOLD_MAX), "the zone write was never made")
                # Held until this call has returned: in the loop, the write would keep the daemon
                # from answering for as long as the kernel holds it (HOLD_MAX, longer than the call's
                # timeout), whatever the host's load.
                rows = s.client.call("ListDevices", timeout=HOLD_MAX - 5)[0]
                check(nv.name in [r[0] for r in rows], "ListDevices %s" % (rows,))
                state = s.client.device(nv)["HotplugState"]
                check(state == "unplugged", "HotplugState %s during the write" % state)
            finally:
                release.set()

        case.run(OFFLOOP_CHECKS[0], answers)

        def done():
            s.bed.emu.wait_online(nv.blocks())
            s.settle()
            s.bed.dax.check_errors()
            got = hotplug_writes(s.bed, nv)
            check(got == ["dax0.0/state unplugged", "dax0.0/state online_movable"], "dax0.0/state writes %s" % got)
            w = device_writes(s.bed, nv)
            check(all(not v for v in w.values()), "memoryN/state writes %s" % w)
            check(set(zones_of(s.bed, nv).values()) == {"Movable"}, "zones %s" % zones_of(s.bed, nv))
            wait_until(lambda: d.find(r"dax0\.0: Onlined 4 blocks into Movable with one write of dax0\.0/state"),
                       30, what="the device's journal line")
            wait_until(lambda: d.find(r"Finished: 4 of 4 blocks done \(0 by another agent\), 0 failed"), 30,
                       what="the job's line")

        case.run(OFFLOOP_CHECKS[1], done)
    finally:
        release.set()
        s.close()


PREPARE_CONFIG = BASE + "OfflineTimeoutSec=0\n\n[Dax]\nMode=system-ram\nOnline=movable\n"
PREPARE_CHECKS = [
    "Linux 7.3 PrepareUnplug daxX.Y: one write of unplugged to its state, no memoryN/state write; every row "
    "offlined (and says the device stays bound to kmem), no block left, the file reads unplugged, kmem still "
    "bound; a reload does not write the zone again",
    "Linux 7.3 PrepareUnplug daxX.Y, unplugged refused (EBUSY): OfflineFailed saying all or none, one write, "
    "every block still there and online in Movable, the file as it was",
    "Linux 7.3 PrepareUnplug daxX.Y, CancelJob while the kernel holds unplugged: the write is interrupted by "
    "the signal, PrepareUnplug fails saying cancelled, every block as it was",
    "Linux 7.3 PrepareUnplug daxX.Y, OfflineTimeoutSec= reached while the kernel holds unplugged: interrupted, "
    "PrepareUnplug fails saying timed out, every block as it was",
]


@scenario(PREPARE_CHECKS)
def test_hotplug_prepare_unplug(case):
    nv, cx = nvdimm(memmap="0"), cxl(memmap="0")
    s = Setup(case, [nv], PREPARE_CONFIG, hotplug=True)
    try:
        d = s.start()
        s.bed.emu.wait_online(nv.blocks())
        s.settle()
        s.bed.add_device(cx)
        s.bed.emu.wait_online(cx.blocks())
        s.settle()

        def unplugged():
            mark, wmark = s.bed.dax.mark(), {i: len(s.bed.emu.writes_to(i)) for i in nv.blocks()}
            rows = s.client.call("PrepareUnplug", (nv.name,), "(s)", timeout=60)[0]
            check(sorted(r[0] for r in rows) == nv.blocks() and all(r[1] for r in rows), "rows %s" % (rows,))
            check(all("stays bound to kmem" in r[2] for r in rows), "rows %s" % (rows,))
            s.settle()
            got = hotplug_writes(s.bed, nv, since=mark)
            check(got == ["dax0.0/state unplugged"], "dax0.0/state writes %s" % got)
            w = {i: s.bed.emu.writes_to(i)[wmark[i]:] for i in nv.blocks()}
            check(all(not v for v in w.values()), "memoryN/state writes %s" % w)
            check(not any(i in s.bed.blocks for i in nv.blocks()), "a dax0.0 block is left")
            check(s.bed.dax.hotplug_of(nv) == "unplugged", "the file reads %s" % s.bed.dax.hotplug_of(nv))
            check(s.bed.dax.driver_of(nv) == "kmem", "driver %s" % s.bed.dax.driver_of(nv))
            check(d.find(r"dax0\.0: Offlined and removed every block with one write of unplugged"),
                  "no journal line\n" + tail(d, 40))
            s.reload(PREPARE_CONFIG)
            s.settle()
            got = hotplug_writes(s.bed, nv, since=mark)
            check(got == ["dax0.0/state unplugged"], "after a reload, dax0.0/state writes %s" % got)
            s.bed.dax.check_errors()

        case.run(PREPARE_CHECKS[0], unplugged)

        def still_there(mark):
            got = hotplug_writes(s.bed, cx, since=mark)
            check(got in (["dax2.0/state unplugged -> EBUSY"], ["dax2.0/state unplugged -> EINTR"]),
                  "dax2.0/state writes %s" % got)
            check(all(s.bed.read_attr(i, "state") == "online" for i in cx.blocks()), "a dax2.0 block is offline")
            check(set(zones_of(s.bed, cx).values()) == {"Movable"}, "zones %s" % zones_of(s.bed, cx))
            check(s.bed.dax.hotplug_of(cx) == "online_movable", "the file reads %s" % s.bed.dax.hotplug_of(cx))

        def busy():
            s.bed.dax.unplug_busy.add(cx.name)
            mark = s.bed.dax.mark()
            e = s.client.error_of("PrepareUnplug", (cx.name,), "(s)", timeout=60)
            check(e.name == "org.memhotplug1.Error.OfflineFailed" and "all or none" in e.message, "got %s" % e)
            s.settle()
            still_there(mark)
            s.bed.dax.unplug_busy.discard(cx.name)

        case.run(PREPARE_CHECKS[1], busy)

        def held(stop, want):
            release = threading.Event()
            s.bed.dax.holding.clear()
            s.bed.dax.hold_state[(cx.name, "unplugged")] = release
            mark, result = s.bed.dax.mark(), []
            t = threading.Thread(target=lambda: result.append(
                s.client.error_of("PrepareUnplug", (cx.name,), "(s)", timeout=HOLD_MAX)))
            t.start()
            try:
                check(s.bed.dax.holding.wait(HOLD_MAX) or t.join(HOLD_MAX),
                      "unplugged was never written: %s\n%s" % (result, tail(d, 20)))
                stop()
                t.join(HOLD_MAX)
            finally:
                release.set()
                t.join(HOLD_MAX)
            check(result and result[0].name == "org.memhotplug1.Error.OfflineFailed" and want in result[0].message,
                  "got %s" % result)
            check(s.bed.dax.interrupted[-1:] == ["dax2.0/state unplugged"], "interrupted %s" % s.bed.dax.interrupted)
            s.settle()
            still_there(mark)
            s.bed.dax.interrupted.clear()

        case.run(PREPARE_CHECKS[2], lambda: held(lambda: s.client.call("CancelJob", timeout=HOLD_MAX), "cancelled"))
        s.reload(PREPARE_CONFIG.replace("OfflineTimeoutSec=0", "OfflineTimeoutSec=1s"))
        case.run(PREPARE_CHECKS[3], lambda: held(lambda: None, "timed out"))
    finally:
        s.close()


RESTART_CHECKS = [
    "Linux 7.3 PrepareUnplug daxX.Y, then a restart of the daemon on the same runtime directory: the device is "
    "recorded there, no zone written to its state, every block still absent, one journal line saying why",
    "Linux 7.3, a device found `unplugged` at start WITHOUT the record (killed between the convert writes): "
    "its zone written, every block online in Movable",
    "Linux 7.3, the recorded device found at the next start with a zone someone else wrote: the record goes",
]


@scenario(RESTART_CHECKS)
def test_hotplug_prepare_restart(case):
    nv, hm = nvdimm(memmap="0"), hmem(memmap="0")
    s = Setup(case, [nv, hm], PREPARE_CONFIG, hotplug=True)
    record = lambda dev: os.path.join(s.bed.runtime_dir, "unplugged", dev.name)
    try:
        s.start()
        s.bed.emu.wait_online(nv.blocks() + hm.blocks())
        s.settle()
        for dev in (nv, hm):
            s.client.call("PrepareUnplug", (dev.name,), "(s)", timeout=60)
            s.settle()
            check(s.bed.dax.hotplug_of(dev) == "unplugged", "%s reads %s" % (dev.name, s.bed.dax.hotplug_of(dev)))
            check(os.path.exists(record(dev)), "%s not recorded" % dev.name)
        check(s.daemon.stop() == 0, "the daemon did not exit 0")
        # The crash case: the kernel's file reads unplugged, no PrepareUnplug recorded it.
        os.unlink(record(hm))
        mark = s.bed.dax.mark()
        d = s.start()
        s.bed.emu.wait_online(hm.blocks())
        s.settle()

        def kept():
            got = hotplug_writes(s.bed, nv, since=mark)
            check(got == [], "dax0.0/state writes after the restart %s" % got)
            check(s.bed.dax.hotplug_of(nv) == "unplugged", "the file reads %s" % s.bed.dax.hotplug_of(nv))
            check(not any(i in s.bed.blocks for i in nv.blocks()), "a dax0.0 block is back")
            check(os.path.exists(record(nv)), "the record went")
            lines = re.findall(r"dax0\.0: dax0\.0/state left unplugged: PrepareUnplug asked for it before the "
                               r"restart; RevertDevice or `echo ZONE > .*` brings it back", d.log())
            check(len(lines) == 1, "journal lines %s\n%s" % (lines, tail(d, 40)))

        case.run(RESTART_CHECKS[0], kept)

        def crashed():
            got = hotplug_writes(s.bed, hm, since=mark)
            check(got == ["dax1.0/state online_movable"], "dax1.0/state writes %s" % got)
            check(set(zones_of(s.bed, hm).values()) == {"Movable"}, "zones %s" % zones_of(s.bed, hm))

        case.run(RESTART_CHECKS[1], crashed)

        def zone_written():
            check(s.daemon.stop() == 0, "the daemon did not exit 0")
            s.bed.dax.set_hotplug(nv, "online_movable")
            s.start()
            s.settle()
            check(not os.path.exists(record(nv)), "the record is still there")

        case.run(RESTART_CHECKS[2], zone_written)
    finally:
        s.close()


RESUME_CHECKS = [
    "Linux 7.3, found kmem-bound and `unplugged` at start (killed between the writes): the zone alone is "
    "written; every block online in Movable",
    "Linux 7.3, found kmem-bound, the file offline and every block offline: `unplugged`, then the zone",
    "Linux 7.3, found online_movable with a block offline under a rule saying Online=kernel: no write of the "
    "file (a no-op in the kernel), the block onlined alone into the file's zone (online_movable)",
]


@scenario(RESUME_CHECKS)
def test_hotplug_resume(case):
    nv, hm, cx = nvdimm(driver="kmem"), hmem(driver="kmem"), cxl(driver="kmem")
    nv.hotplug, hm.hotplug, cx.hotplug = "unplugged", "offline", "online_movable"
    cx.offline = (cx.blocks()[2],)
    config = BASE + "\n[Dax]\nMode=system-ram\nOnline=movable\n\n[Dax cx]\nMatchSource=cxl\nMode=system-ram\nOnline=kernel\n"
    s = Setup(case, [nv, hm, cx], config, bus=False, hotplug=True)
    try:
        s.start()
        s.bed.emu.wait_online(nv.blocks() + hm.blocks() + cx.blocks())
        s.settle()

        def unplugged():
            got = hotplug_writes(s.bed, nv)
            check(got == ["dax0.0/state online_movable"], "dax0.0/state writes %s" % got)
            check(set(zones_of(s.bed, nv).values()) == {"Movable"}, "zones %s" % zones_of(s.bed, nv))
            check(not s.bed.dax.log(kinds=("driver", "kmod")), "driver writes %s" % s.bed.dax.log())
            s.bed.dax.check_errors()

        case.run(RESUME_CHECKS[0], unplugged)

        def offline():
            got = hotplug_writes(s.bed, hm)
            check(got == ["dax1.0/state unplugged", "dax1.0/state online_movable"], "dax1.0/state writes %s" % got)
            w = device_writes(s.bed, hm)
            check(all(not v for v in w.values()), "memoryN/state writes %s" % w)

        case.run(RESUME_CHECKS[1], offline)

        def partial():
            check(not hotplug_writes(s.bed, cx), "dax2.0/state writes %s" % hotplug_writes(s.bed, cx))
            w = device_writes(s.bed, cx)
            check(w == {i: ["online_movable"] if i == cx.offline[0] else [] for i in cx.blocks()}, "block writes %s" % w)

        case.run(RESUME_CHECKS[2], partial)
    finally:
        s.close()


SCENARIOS = [test_convert, test_refuse, test_memmap_fault, test_already_kmem, test_tier_match, test_kmem_revert,
             test_kmem_rebind, test_runtime, test_rules, test_hotplug_state, test_hotplug_convert,
             test_hotplug_resume, test_hotplug_off_loop, test_hotplug_prepare_unplug,
             test_hotplug_prepare_restart]


def main():
    return harness.main(SCENARIOS, files=[busclient.BUS_POLICY], tools=["dbus-daemon", "daxctl"],
                        preflights=[preflight_dax])


if __name__ == "__main__":
    sys.exit(main())
