#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration tests of memhotplugctl doctor.

Usage: test-doctor.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]

Fake trees: a temporary directory with what doctor reads of a machine (proc/config.gz,
proc/cmdline, sys/devices/system/memory, udev rules, modules.dep, ...), passed with --root, and a
system bus that does not exist. A clean tree gives no warning and exit status 0; each fault planted
in it gives the finding that names it, with its severity and fix, and exit status 1 for an error.
The daemon's own config is read by the real memhotplugd --check-config (MEMHOTPLUGD).

With the daemon: the real memhotplugd under umockdev on a private bus (harness.py, busclient.py);
doctor asks it for its mode, drift and failed blocks, and reads the testbed's sysfs with --root.
Output is TAP.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BusSetup, Client, PrivateBus  # noqa: E402
from harness import Bed, Block, Failure, check, scenario, wait_until  # noqa: E402

busclient.init(__doc__)
CTL = busclient.CTL

RELEASE = "6.12.0-test-amd64"
CLEAN_KCONFIG = """#
# Linux/x86 6.12 Kernel Configuration
#
CONFIG_MEMORY_HOTPLUG=y
CONFIG_MEMORY_HOTREMOVE=y
# CONFIG_MHP_DEFAULT_ONLINE_TYPE_OFFLINE is not set
CONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO=y
# CONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_KERNEL is not set
# CONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_MOVABLE is not set
CONFIG_MHP_MEMMAP_ON_MEMORY=y
CONFIG_DEV_DAX=m
CONFIG_DEV_DAX_KMEM=m
CONFIG_VIRTIO_MEM=m
"""
CLEAN_CMDLINE = "BOOT_IMAGE=/boot/vmlinuz-%s root=/dev/vda ro memhp_default_state=offline quiet" % RELEASE
MODULES_DEP = ("kernel/drivers/dax/device_dax.ko.xz: kernel/drivers/dax/dax.ko.xz\n"
               "kernel/drivers/dax/kmem.ko.xz: kernel/drivers/dax/dax.ko.xz\n"
               "kernel/drivers/dax/dax.ko.xz:\n")
RACING_RULE = 'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", ATTR{state}="online"\n'
DAXCTL_RULE = 'ACTION=="add", SUBSYSTEM=="dax", RUN+="/usr/bin/daxctl -C $env{DEVNAME}"\n'


class Tree:
    """A fake machine under a temporary directory."""

    def __init__(self, kconfig=CLEAN_KCONFIG, cmdline=CLEAN_CMDLINE, auto_online="offline",
                 config="[Daemon]\nKernelAutoOnline=takeover\n", modules_dep=MODULES_DEP, kconfig_at="proc"):
        self.root = tempfile.mkdtemp(prefix="memhotplugd-doctor.")
        self.put("proc/sys/kernel/osrelease", RELEASE + "\n")
        self.put("proc/cmdline", cmdline + "\n")
        self.put("proc/iomem", "00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n")
        if kconfig is not None and kconfig_at == "proc":
            os.makedirs(self.path("proc"), exist_ok=True)
            with gzip.open(self.path("proc/config.gz"), "wt") as f:
                f.write(kconfig)
        elif kconfig is not None:
            self.put("boot/config-" + RELEASE, kconfig)
        if auto_online is not None:
            self.put("sys/devices/system/memory/auto_online_blocks", auto_online + "\n")
            self.put("sys/devices/system/memory/block_size_bytes", "8000000\n")
            os.makedirs(self.path("sys/devices/system/memory/memory0"))
        if modules_dep is not None:
            self.put("lib/modules/%s/modules.dep" % RELEASE, modules_dep)
        # Two DIMM slots, one of them filled.
        self.put("sys/bus/acpi/devices/PNP0C80:00/status", "15\n")
        self.put("sys/bus/acpi/devices/PNP0C80:01/status", "0\n")
        if config is not None:
            self.put("etc/memhotplugd/memhotplugd.conf", config)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def put(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), "w") as f:
            f.write(text)

    def doctor(self, *args, address=None, user=None):
        """memhotplugctl doctor --root on the tree (as user, if given): (exit status, findings, the
        JSON's counts)."""
        env = busclient.unprivileged_env(address or "unix:path=" + self.path("no-system-bus"))
        env["MEMHOTPLUGD"] = harness.DAEMON
        argv = [CTL, "doctor", "--root=" + self.root, "--json=short"] + list(args)
        if user:
            argv = ["setpriv", "--reuid=" + user[0], "--regid=" + user[1], "--clear-groups"] + argv
        out = subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True, timeout=60)
        try:
            doc = json.loads(out.stdout)
        except ValueError:
            raise Failure("doctor printed no JSON (exit %d): %r %r" % (out.returncode, out.stdout, out.stderr))
        # Each finding is one line of text and at most one line of fix.
        multi = [f for f in doc["Findings"] if "\n" in f["Text"] or "\n" in (f["Fix"] or "")]
        check(not multi, "findings of more than one line: %r" % multi)
        return out.returncode, doc["Findings"], doc

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def show(findings):
    return "\n".join("  %s %s: %s%s" % (f["Severity"], f["Check"], f["Text"], " [fix: %s]" % f["Fix"] if f["Fix"]
                                         else "") for f in findings)


def find(findings, severity, check_name, text):
    """The finding of that severity and check whose text has text; fails naming all of them if none."""
    for f in findings:
        if f["Severity"] == severity and f["Check"] == check_name and text in f["Text"]:
            return f
    raise Failure("no %s %s finding with %r among:\n%s" % (severity, check_name, text, show(findings)))


def worst(findings):
    order = ["ok", "info", "warning", "error"]
    return max((order.index(f["Severity"]) for f in findings), default=0)


def expect(tree, status, severity, check_name, text, fix=None):
    """Runs doctor on tree: exit status and a finding as given (fix: a substring of its fix)."""
    rc, findings, _ = tree.doctor()
    f = find(findings, severity, check_name, text)
    check(rc == status, "exit status %d, want %d:\n%s" % (rc, status, show(findings)))
    if fix is not None:
        check(f["Fix"] and fix in f["Fix"], "the fix %r does not say %r" % (f["Fix"], fix))
    return findings


def with_tree(fn, **kwargs):
    tree = Tree(**kwargs)
    try:
        return fn(tree)
    finally:
        tree.cleanup()


CLEAN_CHECKS = [
    "clean tree: exit status 0, no warning, no error; the kernel options, memhp_default_state=offline, "
    "auto_online_blocks and the udev rules are ok, the ACPI slots counted, the bus not reachable is info",
    "text output: one line a finding with its severity, the fix under it, and the counts at the end",
    "--root is an option of doctor only; doctor takes no arguments",
]


@scenario(CLEAN_CHECKS)
def test_clean(case):
    def clean(tree):
        rc, findings, doc = tree.doctor()
        check(rc == 0 and worst(findings) <= 1, "exit %d:\n%s" % (rc, show(findings)))
        check(doc["Errors"] == 0 and doc["Warnings"] == 0, "counts %r" % ((doc["Errors"], doc["Warnings"]),))
        find(findings, "ok", "kernel", "CONFIG_MEMORY_HOTPLUG=y (/proc/config.gz)")
        find(findings, "ok", "kernel", "CONFIG_MEMORY_HOTREMOVE=y")
        find(findings, "ok", "cmdline", "memhp_default_state=offline")
        find(findings, "ok", "auto-online", "auto_online_blocks is offline")
        find(findings, "ok", "agents", "No udev rule writes")
        find(findings, "ok", "config", "KernelAutoOnline=takeover")
        find(findings, "ok", "hot-add", "kmem module")
        find(findings, "info", "hot-add", "2 ACPI memory devices (PNP0C80), 1 of them empty")
        find(findings, "info", "daemon", "system bus could not be reached")

    case.run(CLEAN_CHECKS[0], lambda: with_tree(clean))

    def text(tree):
        tree.put("etc/udev/rules.d/40-online.rules", RACING_RULE)
        env = busclient.unprivileged_env("unix:path=" + tree.path("no-system-bus"))
        env["MEMHOTPLUGD"] = harness.DAEMON
        out = subprocess.run([CTL, "doctor", "--root", tree.root + "/"], env=env, capture_output=True, text=True,
                             timeout=60)
        lines = out.stdout.splitlines()
        check(out.returncode == 1, "exit %d: %s" % (out.returncode, out.stdout))
        i = next((k for k, l in enumerate(lines) if l.startswith("error    agents       /etc/udev/rules.d/40-online")),
                 None)
        check(i is not None, "no error line for the rule:\n" + out.stdout)
        check(lines[i + 1].strip() == "fix: ln -s /dev/null /etc/udev/rules.d/40-online.rules",
              "the line after it: %r" % lines[i + 1])
        check(lines[-1] == "1 error, 0 warnings.", "last line %r" % lines[-1])

    case.run(CLEAN_CHECKS[1], lambda: with_tree(text))

    def usage():
        out = subprocess.run([CTL, "status", "--root=/tmp"], capture_output=True, text=True, timeout=60)
        check(out.returncode == 2 and "--root is an option of doctor" in out.stderr, "status --root: %r" % (out,))
        out = subprocess.run([CTL, "doctor", "x"], capture_output=True, text=True, timeout=60)
        check(out.returncode == 2 and "takes no arguments" in out.stderr, "doctor x: %r" % (out,))
        out = subprocess.run([CTL, "doctor", "--root=relative"], capture_output=True, text=True, timeout=60)
        check(out.returncode == 2 and "absolute" in out.stderr, "--root=relative: %r" % (out,))

    case.run(CLEAN_CHECKS[2], usage)


KERNEL_CHECKS = [
    "CONFIG_MEMORY_HOTPLUG unset: error naming it, exit 1",
    "CONFIG_MEMORY_HOTREMOVE unset: warning, exit 0",
    "kernel default online (MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO) and no memhp_default_state, takeover: warning "
    "with the fix memhp_default_state=offline; the old MEMORY_HOTPLUG_DEFAULT_ONLINE=y is named the same way",
    "memhp_default_state=online on the command line against takeover: error, exit 1; with respect: info, exit 0",
    "no /proc/config.gz: /boot/config-RELEASE is read; neither: info that the options were not checked",
    "memory_hotplug.*, movable_node and kernelcore= on the command line are reported",
    "no sys/devices/system/memory: error; auto_online_blocks online without the daemon: info",
]


@scenario(KERNEL_CHECKS)
def test_kernel(case):
    case.run(KERNEL_CHECKS[0], lambda: with_tree(
        lambda t: expect(t, 1, "error", "kernel", "CONFIG_MEMORY_HOTPLUG is not set", "CONFIG_MEMORY_HOTPLUG=y"),
        kconfig=CLEAN_KCONFIG.replace("CONFIG_MEMORY_HOTPLUG=y\n", "")))
    case.run(KERNEL_CHECKS[1], lambda: with_tree(
        lambda t: expect(t, 0, "warning", "kernel", "CONFIG_MEMORY_HOTREMOVE is not set"),
        kconfig=CLEAN_KCONFIG.replace("CONFIG_MEMORY_HOTREMOVE=y\n", "")))

    def default_online():
        with_tree(lambda t: expect(t, 0, "warning", "kernel", "CONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO=y",
                                   "memhp_default_state=offline"),
                  cmdline="root=/dev/vda")
        old = CLEAN_KCONFIG.replace("CONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO=y\n",
                                    "CONFIG_MEMORY_HOTPLUG_DEFAULT_ONLINE=y\n")
        with_tree(lambda t: expect(t, 0, "warning", "kernel", "CONFIG_MEMORY_HOTPLUG_DEFAULT_ONLINE=y"),
                  cmdline="root=/dev/vda", kconfig=old)
        offline = CLEAN_KCONFIG.replace("CONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO=y\n",
                                        "CONFIG_MHP_DEFAULT_ONLINE_TYPE_OFFLINE=y\n")
        with_tree(lambda t: expect(t, 0, "ok", "kernel", "leaves new memory offline by default"),
                  cmdline="root=/dev/vda", kconfig=offline)

    case.run(KERNEL_CHECKS[2], default_online)

    def cmdline_online():
        with_tree(lambda t: expect(t, 1, "error", "cmdline", "memhp_default_state=online on the kernel command line",
                                   "remove memhp_default_state="),
                  cmdline=CLEAN_CMDLINE.replace("memhp_default_state=offline", "memhp_default_state=online"))
        with_tree(lambda t: expect(t, 0, "info", "cmdline", "memhp_default_state=online"),
                  cmdline=CLEAN_CMDLINE.replace("memhp_default_state=offline", "memhp_default_state=online"),
                  config="[Daemon]\nKernelAutoOnline=respect\n")
        # The last of a repeated parameter is the one the kernel takes.
        with_tree(lambda t: expect(t, 0, "ok", "cmdline", "memhp_default_state=offline"),
                  cmdline="memhp_default_state=online " + CLEAN_CMDLINE)

    case.run(KERNEL_CHECKS[3], cmdline_online)

    def sources():
        with_tree(lambda t: expect(t, 0, "ok", "kernel", "CONFIG_MEMORY_HOTPLUG=y (/boot/config-%s)" % RELEASE),
                  kconfig_at="boot")
        with_tree(lambda t: expect(t, 0, "info", "kernel", "configuration could not be read"), kconfig=None)

    case.run(KERNEL_CHECKS[4], sources)

    def params(tree):
        findings = expect(tree, 0, "info", "cmdline", "memory_hotplug.memmap_on_memory=1 on the kernel command line")
        find(findings, "info", "cmdline", "movable_node on the kernel command line")
        find(findings, "info", "cmdline", "kernelcore=mirror on the kernel command line")

    case.run(KERNEL_CHECKS[5], lambda: with_tree(
        params, cmdline=CLEAN_CMDLINE + " memory_hotplug.memmap_on_memory=1 movable_node kernelcore=mirror"))

    def sysfs():
        with_tree(lambda t: expect(t, 1, "error", "auto-online", "/sys/devices/system/memory does not exist"),
                  auto_online=None)
        with_tree(lambda t: expect(t, 0, "info", "auto-online",
                                   "auto_online_blocks is online: until memhotplugd runs"), auto_online="online")

    case.run(KERNEL_CHECKS[6], sysfs)


AGENT_CHECKS = [
    "a udev rule in /usr/lib that writes state: error with its mask in /etc as the fix, exit 1; masked: "
    "no finding, exit 0",
    "daxctl's rule with a file in /etc/daxctl.conf.d: warning; with none: info",
    "qemu-ga installed: info with --block-rpcs=guest-set-memory-blocks",
]


@scenario(AGENT_CHECKS)
def test_agents(case):
    def racing():
        def planted(tree):
            tree.put("usr/lib/udev/rules.d/40-vm-hotadd.rules", RACING_RULE)
            expect(tree, 1, "error", "agents", "/usr/lib/udev/rules.d/40-vm-hotadd.rules: a udev rule onlines memory",
                   "ln -s /dev/null /etc/udev/rules.d/40-vm-hotadd.rules")
            os.makedirs(tree.path("etc/udev/rules.d"), exist_ok=True)
            os.symlink("/dev/null", tree.path("etc/udev/rules.d/40-vm-hotadd.rules"))
            expect(tree, 0, "ok", "agents", "No udev rule writes")

        with_tree(planted)

    case.run(AGENT_CHECKS[0], racing)

    def daxctl():
        def planted(tree):
            tree.put("usr/lib/udev/rules.d/90-daxctl-device.rules", DAXCTL_RULE)
            expect(tree, 0, "info", "agents", "names no device for it")
            tree.put("etc/daxctl.conf.d/dax0.conf", "[reconfigure-device dax0]\nnvdimm.uuid=*\nmode=system-ram\n")
            expect(tree, 0, "warning", "agents", "daxctl's hook converts dax devices", "ln -s /dev/null")

        with_tree(planted)

    case.run(AGENT_CHECKS[1], daxctl)

    def qemu_ga(tree):
        tree.put("usr/sbin/qemu-ga", "")
        expect(tree, 0, "info", "agents", "qemu-ga is installed", "--block-rpcs=guest-set-memory-blocks")

    case.run(AGENT_CHECKS[2], lambda: with_tree(qemu_ga))


HOTADD_CHECKS = [
    "CONFIG_DEV_DAX_KMEM=m and no kmem module in modules.dep: error naming the kernel and the fix, exit 1; "
    "loaded (sys/module/kmem): ok; built in: ok",
    "a virtio-mem device without a driver: warning modprobe virtio_mem; CONFIG_VIRTIO_MEM unset: error",
    "Soft Reserved in /proc/iomem and no dax device: warning; a dax device: counted",
    "nothing that can add memory: info",
]


@scenario(HOTADD_CHECKS)
def test_hot_add(case):
    no_kmem = MODULES_DEP.replace("kernel/drivers/dax/kmem.ko.xz: kernel/drivers/dax/dax.ko.xz\n", "")

    def kmem():
        def missing(tree):
            expect(tree, 1, "error", "hot-add", "the kmem module is not installed for kernel " + RELEASE,
                   "depmod -a " + RELEASE)
            os.makedirs(tree.path("sys/module/kmem"))
            expect(tree, 0, "ok", "hot-add", "kmem module is loaded")

        with_tree(missing, modules_dep=no_kmem)
        with_tree(lambda t: expect(t, 0, "ok", "hot-add", "CONFIG_DEV_DAX_KMEM=y"), modules_dep=no_kmem,
                  kconfig=CLEAN_KCONFIG.replace("CONFIG_DEV_DAX_KMEM=m", "CONFIG_DEV_DAX_KMEM=y"))

    case.run(HOTADD_CHECKS[0], kmem)

    def virtio_mem():
        def unbound(tree):
            tree.put("sys/bus/virtio/devices/virtio0/device", "0x0058\n")
            tree.put("sys/bus/virtio/devices/virtio1/device", "0x0001\n")
            expect(tree, 0, "warning", "hot-add", "1 of 1 virtio-mem devices have no driver", "modprobe virtio_mem")
            os.makedirs(tree.path("sys/bus/virtio/devices/virtio0/driver"))
            expect(tree, 0, "ok", "hot-add", "1 virtio-mem devices, driven by virtio_mem")

        with_tree(unbound)

        def unsupported(tree):
            tree.put("sys/bus/virtio/devices/virtio0/device", "0x0058\n")
            expect(tree, 1, "error", "hot-add", "CONFIG_VIRTIO_MEM is not set")

        with_tree(unsupported, kconfig=CLEAN_KCONFIG.replace("CONFIG_VIRTIO_MEM=m\n", ""))

    case.run(HOTADD_CHECKS[1], virtio_mem)

    def soft_reserved(tree):
        tree.put("proc/iomem", "00000000-00000000 : Soft Reserved\n")
        expect(tree, 0, "warning", "hot-add", "1 Soft Reserved ranges", "modprobe dax_hmem")
        os.makedirs(tree.path("sys/bus/dax/devices/dax0.0"))
        expect(tree, 0, "info", "hot-add", "1 dax devices")

    case.run(HOTADD_CHECKS[2], lambda: with_tree(soft_reserved))

    def nothing(tree):
        shutil.rmtree(tree.path("sys/bus/acpi"))
        expect(tree, 0, "info", "hot-add", "Nothing here can add memory now")

    case.run(HOTADD_CHECKS[3], lambda: with_tree(nothing))


CONFIG_CHECKS = [
    "a configuration the daemon refuses: error naming the key, exit 1",
    "no configuration under the root: the built-in defaults (takeover)",
]


@scenario(CONFIG_CHECKS)
def test_config(case):
    case.run(CONFIG_CHECKS[0], lambda: with_tree(
        lambda t: expect(t, 1, "error", "config", "Bogus", "memhotplugd --check-config"),
        config="[Daemon]\nBogus=1\n"))
    case.run(CONFIG_CHECKS[1], lambda: with_tree(
        lambda t: expect(t, 0, "ok", "config", "KernelAutoOnline=takeover"), config=None))


NO_DAEMON_CHECKS = [
    "a system bus without the daemon: warning that memhotplugd is not running with the fix to enable it, "
    "exit 0, and the config still read",
]


@scenario(NO_DAEMON_CHECKS)
def test_no_daemon(case):
    def not_running(tree):
        bus = PrivateBus(True)
        try:
            rc, findings, _ = tree.doctor(address=bus.address)
        finally:
            bus.stop()
        f = find(findings, "warning", "daemon", "memhotplugd is not running")
        check(f["Fix"] == "systemctl enable --now memhotplugd.service", "fix %r" % f["Fix"])
        find(findings, "ok", "config", "KernelAutoOnline=takeover")
        check(rc == 0, "exit %d" % rc)

    case.run(NO_DAEMON_CHECKS[0], lambda: with_tree(not_running))


DAEMON_CHECKS = [
    "daemon running: doctor names its pid and bus name, takes KernelAutoOnline=takeover from it, "
    "auto_online_blocks offline is ok, its locked memory in one line",
    "a block that failed to online: error listing it, exit 1",
    "auto_online_blocks written behind the daemon's back: error",
    "as root doctor sees the daemon hold its --iomem file open; as nobody it says that was not checked "
    "without root",
]


class Setup(BusSetup):
    def __init__(self, blocks, config):
        try:
            self.bus = PrivateBus(True)
            self.bed = Bed(blocks, auto_online="online")
            self.bed.bus_address = self.bus.address
            self.bed.write_config(config)
            self.client = Client(self.bus.address)
        except BaseException:
            self.close()
            raise


@scenario(DAEMON_CHECKS)
def test_daemon(case):
    s = Setup([Block(i, 0) for i in range(4)],
              "[Daemon]\nUeventSource=udev\nKernelAutoOnline=takeover\nMaxAttempts=2\nRetrySec=100ms\n\n"
              "[Memory]\nOnline=movable\n")
    try:
        tree = Tree(auto_online=None, config=None)
        # The testbed's sysfs is what doctor reads: the tree's root holds a link to it.
        shutil.rmtree(tree.path("sys"))
        os.symlink(s.bed.sys_dir, tree.path("sys"))
        try:
            for i in range(4):
                s.bed.emu.expect(i, "online_movable")
            s.bed.set_fault(2, "EIO 2")
            s.daemon = case.daemon = s.bed.daemon()
            s.daemon.wait_line(r"Acquired the bus name org\.memhotplug1")
            wait_until(lambda: s.client.prop("BlocksFailed") == 1, what="block 2 to fail")
            s.bed.emu.wait_online([0, 1, 3])

            state = {}

            def running():
                rc, findings, _ = tree.doctor(address=s.bus.address)
                state["rc"], state["findings"] = rc, findings
                find(findings, "ok", "daemon", "memhotplugd runs (pid %d) and owns org.memhotplug1" % s.daemon.proc.pid)
                find(findings, "ok", "auto-online", "(KernelAutoOnline=takeover)")
                find(findings, "ok", "blocks", "No block has drifted")
                if os.environ.get("MHP_SANITIZE") == "1":
                    # Under ASan the daemon's process holds no locked pages (its memory is ASan's
                    # shadow and allocator regions; test-memlock skips there for the same reason),
                    # and doctor says so as it should.
                    find(findings, "warning", "daemon", "holds no locked memory")
                else:
                    find(findings, "ok", "daemon", "of locked memory")

            case.run(DAEMON_CHECKS[0], running)

            def failed():
                check("rc" in state, "doctor did not run")
                find(state["findings"], "error", "blocks", "1 blocks failed to online: 2")
                check(state["rc"] == 1, "exit %d" % state["rc"])

            case.run(DAEMON_CHECKS[1], failed)

            def behind():
                with open(s.bed.sys_dir + "/devices/system/memory/auto_online_blocks", "w") as f:
                    f.write("online\n")
                rc, findings, _ = tree.doctor(address=s.bus.address)
                find(findings, "error", "auto-online", "auto_online_blocks is online although memhotplugd runs")

            case.run(DAEMON_CHECKS[2], behind)

            def unprivileged():
                os.chmod(tree.root, 0o755)
                rc, findings, _ = tree.doctor(address=s.bus.address)
                check(not [f for f in findings if "without root" in f["Text"]], "as root: %s" % show(findings))
                find(findings, "ok", "daemon", "holds /proc/iomem open")
                rc, findings, _ = tree.doctor(address=s.bus.address, user=busclient.UNPRIVILEGED)
                f = find(findings, "info", "daemon",
                         "Not checked without root: whether memhotplugd holds /proc/iomem")
                check(f["Fix"] == "run memhotplugctl doctor as root", "fix %r" % f["Fix"])
                find(findings, "ok", "daemon", "memhotplugd runs")

            case.run(DAEMON_CHECKS[3], unprivileged)
        finally:
            tree.cleanup()
    finally:
        s.close()


if __name__ == "__main__":
    if not CTL:
        print("1..0 # SKIP memhotplugctl is not built")
        sys.exit(0)
    sys.exit(harness.main([test_clean, test_kernel, test_agents, test_hot_add, test_config, test_no_daemon,
                           test_daemon]))
