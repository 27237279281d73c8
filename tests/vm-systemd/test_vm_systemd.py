#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhotplugd as the distribution ships it: systemd as PID 1 in a VM.

Boots Debian's 6.12 kernel (or --kernel 7.3) under QEMU (TCG) on a bookworm root filesystem with
systemd, udev, dbus and the freshly built memhotplugd .deb installed, a 1 GiB
pc-dimm coldplugged (offline at boot: memhp_default_state=offline), and checks
what the unit, the package, the bus files, the udev rule and the catalog
promise. TAP on stdout.

Pieces (all cached outside the repository, in the harness's cache dir):
  mkrootfs      debootstrap'ed bookworm tree, built once per input set
  mkinitrd      busybox initramfs that loads virtio_blk + ext4, then
                switch_root to systemd on /dev/vda
  mhp-agent     the vm.py guest agent protocol as a systemd service, so the
                harness's VM.run()/blocks()/hotplug_dimm() work unchanged
Per run: copy the tree, dpkg -i the .deb in a chroot, add the test's files,
mkfs.ext4 -d an image, boot it, run the checks, kill QEMU, remove the scratch.
"""

import argparse
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
sys.path.insert(0, os.path.join(HERE, ".."))

import vm as vmlib  # noqa: E402
from vm import VM, Dimm, VMError, GiB, MiB  # noqa: E402
from tap import Tap  # noqa: E402

MSG_BLOCK_ONLINED = "eae2441fccbc4381a59320e227f51cb8"
MSG_CONFIG_ERROR = "591e485915ab41668921125be0c2fb48"
CAP_SYS_ADMIN = 1 << 21  # linux/capability.h

# Modules the guest may want from /lib/modules at run time: the root disk's
# (already loaded by the initramfs) and the memory hotplug drivers.
GUEST_MODULES = ["virtio_blk", "ext4", "virtio_mem", "nfit", "nd_pmem", "dax_pmem",
                 "device_dax", "kmem", "autofs4", "configfs", "loop"]

# The image's policy, a drop-in in /etc: kernel zones. The hypervisor overrides it with the
# policy the checks expect, ZONE_MOVABLE, in the memhotplugd.conf credential (SMBIOS type 11,
# below), which the daemon reads after every drop-in: every block found in ZONE_MOVABLE shows
# that the credential reached the daemon, from its start at boot on.
TEST_CONFIG = """\
# memhotplugd VM test (tests/vm-systemd): what the credential must override.
[Memory]
Online=kernel
"""

# The memhotplugd.conf credential QEMU passes as an SMBIOS type 11 string,
# io.systemd.credential.binary:memhotplugd.conf=BASE64. systemd 252 (bookworm) imports such
# strings into the system credential store at boot, from /sys/firmware/dmi/entries/11-*
# (CONFIG_DMI_SYSFS=y in Debian's 6.12), and the unit's LoadCredential=memhotplugd.conf passes it
# on as $CREDENTIALS_DIRECTORY/memhotplugd.conf.
CREDENTIAL_CONFIG = """\
# memhotplugd VM test: from the hypervisor.
[Memory]
Online=movable
"""
CREDENTIAL_PATH = "/run/credentials/memhotplugd.service/memhotplugd.conf"

# A drop-in that must be refused as a whole: the valid line before the bad one
# would switch new blocks to ZONE_NORMAL if it were applied.
BAD_DROPIN = """\
[Memory]
Online=kernel
NoSuchKey=yes
"""


# The rule as it was before memory blocks stopped being tagged for systemd: installed in /etc for
# one hot-add and one coldplug, to measure what a device unit per block costs PID 1 next to the
# shipped rule.
OLD_RULE = """\
ACTION!="add", GOTO="memhotplugd_end"
SUBSYSTEM=="memory", KERNEL=="memory[0-9]*", TAG+="systemd", ENV{SYSTEMD_WANTS}+="memhotplugd.service"
SUBSYSTEM=="dax", TAG+="systemd", ENV{SYSTEMD_WANTS}+="memhotplugd.service"
LABEL="memhotplugd_end"
"""

# The capacity hook the test enables: the shipped huge-page reservation on node 0.
HOOK_UNIT = "memhotplugd-hugepages@0.service"
HOOK_PAGES = 4

# The DIMM of each PID 1 measurement: 256 blocks of 128 MiB. The backend is mapped without
# reserve and the guest keeps each block's memmap on the block (memmap_on_memory=1), so the host
# gives it ~2 MiB a block, not 32 GiB, and the 1 GiB guest does not run out of memory for it.
UNITS_DIMM = "32G"


def log(msg):
    print(f"# {msg}", flush=True)


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


# ---------------------------------------------------------------- the image

def deb_dependencies(deb):
    """Package names in the .deb's Depends (first alternative, no versions)."""
    out = run(["dpkg-deb", "-f", deb, "Depends"], stdout=subprocess.PIPE, text=True).stdout
    names = []
    for dep in out.split(","):
        first = dep.split("|")[0].strip()
        if first:
            names.append(re.split(r"[\s(:]", first)[0])
    return names


def install_modules(root, kdir):
    kver = os.listdir(os.path.join(kdir, "lib/modules"))[0]
    src = os.path.join(kdir, "lib/modules", kver)
    if not os.path.exists(os.path.join(src, "modules.dep")):
        run(["depmod", "-b", kdir, kver])
    paths = []
    for m in GUEST_MODULES:
        r = subprocess.run(["modprobe", "-C", "/dev/null", "-d", kdir, "-S", kver,
                            "--show-depends", m], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        if r.returncode != 0:
            continue            # built in, or not in this kernel
        paths += [l.split()[1] for l in r.stdout.splitlines() if l.startswith("insmod ")]
    for p in sorted(set(paths)):
        dest = root + p[len(kdir):]
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(p, dest)
    dst = os.path.join(root, "lib/modules", kver)
    os.makedirs(dst, exist_ok=True)
    for f in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        shutil.copy2(os.path.join(src, f), dst)
    run(["depmod", "-b", root, kver])


def build_image(scratch, deb, kdir):
    """The root filesystem image and the initramfs for one run."""
    t0 = time.monotonic()
    deps = deb_dependencies(deb)
    cached = run([os.path.join(HERE, "mkrootfs"), "--include", ",".join(deps)],
                 stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    t_rootfs = time.monotonic() - t0

    root = os.path.join(scratch, "root")
    run(["cp", "-a", "--reflink=auto", cached, root])
    os.unlink(os.path.join(root, ".complete"))

    # The package as a user installs it: its maintainer scripts enable the
    # unit, dpkg's triggers compile the catalog. /run is empty in the tree,
    # so nothing tries to start services in the chroot.
    shutil.copy2(deb, os.path.join(root, "tmp", os.path.basename(deb)))
    r = subprocess.run(["chroot", root, "dpkg", "-i", "/tmp/" + os.path.basename(deb)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                            "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"})
    if r.returncode != 0:
        raise RuntimeError(f"dpkg -i in the guest tree failed:\n{r.stdout}")
    os.unlink(os.path.join(root, "tmp", os.path.basename(deb)))

    install_modules(root, kdir)

    os.makedirs(os.path.join(root, "etc/memhotplugd/memhotplugd.conf.d"), exist_ok=True)
    with open(os.path.join(root, "etc/memhotplugd/memhotplugd.conf.d/10-vm-test.conf"), "w") as f:
        f.write(TEST_CONFIG)
    # The shipped huge-page hook on node 0, as an administrator enables it: the count in a drop-in,
    # the instance wanted by memhotplugd-capacity.target (what "systemctl enable" links).
    dropin = os.path.join(root, f"etc/systemd/system/{HOOK_UNIT}.d")
    os.makedirs(dropin, exist_ok=True)
    with open(os.path.join(dropin, "pages.conf"), "w") as f:
        f.write(f"[Service]\nEnvironment=HUGEPAGES={HOOK_PAGES}\n")
    wants = os.path.join(root, "etc/systemd/system/memhotplugd-capacity.target.wants")
    os.makedirs(wants, exist_ok=True)
    os.symlink("/lib/systemd/system/memhotplugd-hugepages@.service", os.path.join(wants, HOOK_UNIT))
    shutil.copy2(os.path.join(HERE, "mhp-agent"), os.path.join(root, "usr/local/sbin/mhp-agent"))
    unit = os.path.join(root, "etc/systemd/system/mhp-agent.service")
    shutil.copy2(os.path.join(HERE, "mhp-agent.service"), unit)
    wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants")
    os.makedirs(wants, exist_ok=True)
    os.symlink("/etc/systemd/system/mhp-agent.service", os.path.join(wants, "mhp-agent.service"))

    image = os.path.join(scratch, "root.img")
    size_mib = int(run(["du", "-sm", root], stdout=subprocess.PIPE, text=True).stdout.split()[0])
    with open(image, "wb") as f:
        f.truncate((size_mib + 512) * MiB)
    # No journal and no lazy init: nothing for the guest to do in the
    # background on an emulated CPU; the image is thrown away after the run.
    run(["mkfs.ext4", "-q", "-F", "-L", "root", "-O", "^has_journal",
         "-E", "lazy_itable_init=0,root_owner=0:0", "-d", root, image])
    shutil.rmtree(root)

    initrd = run([os.path.join(HERE, "mkinitrd"), kdir, os.path.join(scratch, "initrd.cpio")],
                 stdout=subprocess.PIPE, text=True).stdout.strip()
    log(f"image ready in {time.monotonic() - t0:.1f}s (rootfs cache step {t_rootfs:.1f}s)")
    return image, initrd


class SystemdVM(VM):
    """vm.VM booting systemd from a disk image instead of guest-init."""

    def __init__(self, *, image, initrd, credentials=None, **kw):
        super().__init__(**kw)
        self.image, self.initrd = image, initrd
        self.credentials = credentials or {}

    def qemu_args(self, kernel, initrd):
        smbios = []
        for name, value in self.credentials.items():
            data = base64.b64encode(value.encode()).decode()
            smbios += ["-smbios", f"type=11,value=io.systemd.credential.binary:{name}={data}"]
        return super().qemu_args(kernel, initrd) + [
            "-drive", f"file={self.image},if=virtio,format=raw,cache=unsafe",
            "-device", "virtio-rng-pci"] + smbios

    def start(self, boot_attempts=2):
        return self.boot(vmlib.kernel_image(vmlib.kernel_dir()), self.initrd, boot_attempts)


# ---------------------------------------------------------------- checks

def journal_json(vm, match, timeout=60):
    out = vm.sh(f"journalctl --no-pager -o json {match}", timeout=timeout)
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def show(vm, unit, *props):
    out = vm.sh(f"systemctl show {' '.join('-p ' + p for p in props)} {unit}")
    return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)


def dimm_blocks(vm, dev_id, block_size):
    """Memory block numbers of one pc-dimm, from where QEMU mapped it."""
    for d in vm.qmp.execute("query-memory-devices"):
        data = d.get("data", {})
        if data.get("id") == dev_id:
            return list(range(data["addr"] // block_size,
                              (data["addr"] + data["size"]) // block_size))
    raise VMError(f"no memory device {dev_id}")


def blocks_state(vm, blocks):
    state = vm.blocks()
    return {b: state.get(b) for b in blocks}


def all_in_zone(states, zone):
    return all(s and s["state"] == "online" and s["zones"] == [zone] for s in states.values())


def describe(states):
    return "\n".join(f"memory{b}: {s}" for b, s in sorted(states.items()))


def wait_zone(vm, blocks, zone, timeout=120):
    try:
        vm.wait_until(lambda: all_in_zone(blocks_state(vm, blocks), zone), timeout=timeout,
                      interval=1, what=f"blocks {blocks[0]}..{blocks[-1]} online in {zone}")
        return True, ""
    except VMError as e:
        return False, f"{e}\n{describe(blocks_state(vm, blocks))}"


def pid1_figures(vm):
    """PID 1's resident memory (KiB), its CPU time (clock ticks) and the memory block device
    units it holds."""
    out = vm.sh("grep -E '^(VmRSS|RssAnon):' /proc/1/status; "
                "echo ticks $(cut -d' ' -f14,15 /proc/1/stat); "
                "echo units $(systemctl list-units --type=device --all --no-legend --plain "
                "| grep -c 'memory-memory')")
    f = {}
    for line in out.splitlines():
        words = line.replace(":", " ").split()
        if words[0] in ("VmRSS", "RssAnon"):
            f[words[0]] = int(words[1])
        elif words[0] == "ticks":
            f["ticks"] = int(words[1]) + int(words[2])
        elif words[0] == "units":
            f["units"] = int(words[1])
    return f


def pid1_idle(vm):
    """Until PID 1 has handled what udev passed on: udev's queue is empty, and PID 1, which reads
    the same events from its own monitor, has stopped using CPU (read from /proc alone: asking
    systemctl would keep it busy)."""
    vm.run("udevadm settle --timeout=120", timeout=180, check=False)
    last = None
    for _ in range(120):
        ticks = sum(map(int, vm.sh("cut -d' ' -f14,15 /proc/1/stat").split()))
        if last is not None and ticks - last <= 2:
            return
        last = ticks
        time.sleep(2)


def measure(vm, label, action):
    """PID 1's figures around action() (which returns what the log line says it did)."""
    before = pid1_figures(vm)
    what = action()
    pid1_idle(vm)
    after = pid1_figures(vm)
    delta = {k: after[k] - before[k] for k in after}
    delta["after"] = after["units"]
    log(f"{label}, {what}: PID 1 memory-block device units {before['units']} -> {after['units']}, "
        f"VmRSS {before['VmRSS']} -> {after['VmRSS']} KiB, RssAnon {before['RssAnon']} -> "
        f"{after['RssAnon']} KiB, CPU {delta['ticks'] * 10} ms")
    return delta


def pid1_cost(vm, t, bs, timings):
    """What the udev rule costs PID 1, the shipped one next to the one that tagged every block, at
    a hot-add and at a coldplug (the "add" that systemd-udev-trigger replays for every block at
    boot). PID 1 keeps a device unit for a block whose last uevent had the tag: a hot-added block
    loses its unit at its "online" uevent (the rule tags "add" only), a coldplugged one keeps it."""
    results = {}

    def hotadd():
        dev = vm.hotplug_dimm(UNITS_DIMM, reserve=False)
        blocks = dimm_blocks(vm, dev, bs)
        results["ok"], results["detail"] = wait_zone(vm, blocks, "Movable", timeout=600)
        return f"{len(blocks)} blocks hot-added and onlined"

    def coldplug():
        vm.sh("udevadm trigger --action=add --subsystem-match=memory", timeout=120)
        results["present"] = len(vm.sh("ls -d /sys/devices/system/memory/memory*").split())
        return f"'add' replayed for {results['present']} blocks"

    new_hot = measure(vm, "shipped rule", hotadd)
    new_cold = measure(vm, "shipped rule", coldplug)
    t.check(results["ok"] and new_hot["after"] == 0 and new_cold["after"] == 0,
            f"udev rule: a {UNITS_DIMM} hot-add and a coldplug of {results['present']} blocks give "
            f"PID 1 no memory block device unit; the hot-added blocks are online in ZONE_MOVABLE",
            f"units after the hot-add {new_hot['after']}, after the coldplug {new_cold['after']}\n"
            + results["detail"])

    vm.write_file("/etc/udev/rules.d/60-memhotplugd.rules", OLD_RULE)
    vm.sh("udevadm control --reload")
    old_hot = measure(vm, "old rule (every block tagged)", hotadd)
    old_cold = measure(vm, "old rule (every block tagged)", coldplug)
    vm.sh("rm -f /etc/udev/rules.d/60-memhotplugd.rules && udevadm control --reload")
    t.check(results["ok"] and old_cold["after"] >= results["present"],
            f"measurement is real: with the old rule the coldplug leaves PID 1 one device unit per "
            f"block ({old_cold['after']} for {results['present']})",
            f"units after the coldplug {old_cold['after']}\n" + results["detail"])

    # A unit's cost: what the old rule's coldplug added, less what the same replay costs with
    # the shipped rule, over the units it left.
    units = old_cold["units"]
    if units > 0:
        kib = (old_cold["RssAnon"] - new_cold["RssAnon"]) / units
        ms = (old_cold["ticks"] - new_cold["ticks"]) * 10 / units
        timings["pid1"] = (f"coldplug of {results['present']} blocks: +{units} units, "
                           f"+{old_cold['RssAnon']} KiB anon, {old_cold['ticks'] * 10} ms CPU "
                           f"(shipped rule: +{new_cold['RssAnon']} KiB, {new_cold['ticks'] * 10} ms); "
                           f"{kib:.2f} KiB and {ms:.1f} ms a unit, x8192: {kib * 8192 / 1024:.1f} MiB, "
                           f"{ms * 8192 / 1000:.0f} s of TCG CPU; hot-add of 256: "
                           f"{old_hot['ticks'] * 10} ms CPU (shipped rule {new_hot['ticks'] * 10} ms)")
        log(f"PID 1 and a unit per block: {timings['pid1']}")


def capacity_file(vm):
    out = vm.sh("cat /run/memhotplugd/capacity 2>/dev/null; echo INODE=$(stat -c %i /run/memhotplugd/capacity)")
    return dict(l.split("=", 1) for l in out.splitlines() if "=" in l and not l.startswith("#"))


def hook_lines(vm):
    """What the hook unit said, one line a run ("capacity event N: node 0: ...")."""
    out = vm.sh(f"journalctl --no-pager -o cat -u {HOOK_UNIT} -g '^capacity event' || true")
    return [l for l in out.splitlines() if l.startswith("capacity event")]


def wait_hook_ran(vm, seq):
    """Until the hook has said what it did for event seq, and is no longer running."""
    vm.wait_until(lambda: any(l.startswith(f"capacity event {seq}:") for l in hook_lines(vm))
                  and show(vm, HOOK_UNIT, "ActiveState")["ActiveState"] != "activating",
                  timeout=120, interval=1, what=f"{HOOK_UNIT} to run for capacity event {seq}")


def capacity_at_boot(vm, t):
    """Memory onlined at boot is a capacity event in the file, and starts no hook: the path unit
    is started after it (paths.target)."""
    _, active = vm.run("systemctl is-active memhotplugd-capacity.path", check=False)
    _, enabled = vm.run("systemctl is-enabled memhotplugd-kdump-reload.service "
                        "memhotplugd-kubelet-restart.service", check=False)
    boot = capacity_file(vm)
    t.check(active.strip() == "active" and enabled.split() == ["disabled", "disabled"]
            and int(boot.get("CAPACITY_SEQUENCE", 0)) >= 1 and hook_lines(vm) == [],
            f"memhotplugd-capacity.path is active (enabled by the package), the kdump and kubelet hooks are "
            f"disabled; the boot's memory is capacity event {boot.get('CAPACITY_SEQUENCE')} in "
            f"/run/memhotplugd/capacity and started no hook (before paths.target)",
            f"path unit: {active.strip()}; hooks: {enabled.split()}; file: {boot}; hook: {hook_lines(vm)}")


def capacity_events(vm, t, bs):
    """The capacity-changed event under systemd: memhotplugd-capacity.path starts
    memhotplugd-capacity.target once per hot-add or unplug, which starts the enabled hook; a daemon
    restart starts nothing."""
    before = capacity_file(vm)
    runs0 = len(hook_lines(vm))

    # Four DIMMs hot-added back to back: one job, one event, one run of the hook.
    devs = [vm.hotplug_dimm("256M") for _ in range(4)]
    blocks = [b for d in devs for b in dimm_blocks(vm, d, bs)]
    ok, detail = wait_zone(vm, blocks, "Movable")
    vm.wait_until(lambda: vm.sh("busctl get-property org.memhotplug1 /org/memhotplug1 "
                                "org.memhotplug1.Manager JobProgress").split() == ["(uuu)", "0", "0", "0"],
                  timeout=120, interval=1, what="an idle daemon")
    added = capacity_file(vm)
    seq = int(before["CAPACITY_SEQUENCE"]) + 1
    if ok and added.get("CAPACITY_SEQUENCE") == str(seq):
        wait_hook_ran(vm, seq)
    runs = hook_lines(vm)[runs0:]
    t.check(ok and added.get("CAPACITY_SEQUENCE") == str(seq)
            and int(added["ONLINE_BYTES"]) == int(before["ONLINE_BYTES"]) + len(blocks) * bs
            and len(runs) == 1 and runs[0].startswith(f"capacity event {seq}: node 0: {HOOK_PAGES} huge pages"),
            f"four DIMMs hot-added back to back ({len(blocks)} blocks): one capacity event ({seq}), "
            f"{HOOK_UNIT} ran once",
            f"{detail}\nbefore: {before}\nfile: {added}\nhook: {runs}\n"
            + vm.sh("journalctl --no-pager -o short-monotonic -u memhotplugd -g 'capacity event|Finished' || true"))

    # An unplug: the DIMM's blocks offlined (one job), then ejected. The last of the four: the
    # first may sit in the slot of a DIMM ejected earlier.
    gone = dimm_blocks(vm, devs[-1], bs)
    acpi = vm.acpi_memory_device(gone)
    rc, out = vm.run(f"memhotplugctl unplug {acpi}", timeout=180, check=False)
    vm.qmp.execute("device_del", id=devs[-1])
    vm.wait_until(lambda: not set(gone) & set(vm.blocks()), timeout=120, interval=1, what=f"{devs[-1]} removed")
    unplugged = capacity_file(vm)
    if unplugged.get("CAPACITY_SEQUENCE") == str(seq + 1):
        wait_hook_ran(vm, seq + 1)
    runs = hook_lines(vm)[runs0:]
    t.check(rc == 0 and unplugged.get("CAPACITY_SEQUENCE") == str(seq + 1)
            and int(unplugged["ONLINE_BYTES"]) == int(added["ONLINE_BYTES"]) - len(gone) * bs
            and len(runs) == 2 and runs[1].startswith(f"capacity event {seq + 1}:"),
            f"memhotplugctl unplug {acpi} and device_del {devs[-1]}: one capacity event ({seq + 1}), "
            f"{HOOK_UNIT} ran once more",
            f"rc={rc}: {out}\nfile: {unplugged}\nhook: {runs}")

    # A restart of the daemon: the file is not rewritten, the hook does not run.
    vm.run("systemctl restart memhotplugd", timeout=90, check=False)
    _, active = vm.run("systemctl is-active memhotplugd", check=False)
    vm.run("udevadm settle --timeout=60", timeout=90, check=False)
    restarted = capacity_file(vm)
    target = show(vm, "memhotplugd-capacity.target", "ActiveState", "InactiveExitTimestampMonotonic")
    runs = hook_lines(vm)[runs0:]
    t.check(active.strip() == "active" and restarted == unplugged and len(runs) == 2,
            "systemctl restart memhotplugd: the capacity file is not rewritten (same inode and sequence), the "
            "hook does not run",
            f"daemon {active.strip()}; before {unplugged}, after {restarted}; target {target}; hook: {runs}")
    log("the hook unit's journal (every event of the run):")
    for line in vm.sh(f"journalctl --no-pager -o short-monotonic -u {HOOK_UNIT} "
                      "-u memhotplugd-capacity.target || true").splitlines():
        log(f"  {line}")
    for line in vm.sh("journalctl --no-pager -o short-monotonic -u memhotplugd -g 'capacity event' "
                      "|| true").splitlines():
        log(f"  {line}")


def checks(vm, t, timings):
    bs = vm.block_size()
    log(f"memory block size {bs // MiB} MiB")

    rc, state = vm.run("systemctl is-system-running --wait", timeout=240, check=False)
    timings["system running"] = time.monotonic() - timings["_t0"]
    log(f"system state: {state.strip()} after {timings['system running']:.1f}s")
    if state.strip() != "running":
        log(vm.sh("systemctl --failed --no-legend --plain || true"))
    out = vm.sh("systemd-analyze time || true")
    log(out.strip().replace("\n", " "))

    # 1. enabled by the package, running.
    _, active = vm.run("systemctl is-active memhotplugd", check=False)
    _, enabled = vm.run("systemctl is-enabled memhotplugd", check=False)
    t.check(active.strip() == "active" and enabled.strip() == "enabled",
            "memhotplugd.service is enabled by the package and active",
            f"is-active: {active.strip()}, is-enabled: {enabled.strip()}\n"
            + vm.sh("systemctl status --no-pager -l memhotplugd || true"))

    # 1b. LockMemory=yes (the default) works in the unit's sandbox: LimitMEMLOCK=infinity, so
    # later mappings are locked too (MCL_FUTURE), and mlockall() passes the syscall filter.
    pid = show(vm, "memhotplugd.service", "MainPID")["MainPID"]
    status = vm.sh(f"grep -E '^(VmLck|VmRSS):' /proc/{pid}/status || true")
    m = re.search(r"VmLck:\s+(\d+)", status)
    said = vm.sh("journalctl --no-pager -o cat -u memhotplugd -g 'the daemon.s memory' || true")
    t.check(m and int(m.group(1)) > 0 and "and what it maps later" in said,
            f"LockMemory=yes under the unit: {' '.join(status.split())}",
            f"{status}\n{said}")
    log(f"  {said.strip()}")

    # 2. the coldplugged DIMM online, movable (the credential's policy, not /etc's), before
    # sysinit.target.
    cold = dimm_blocks(vm, "dimm0", bs)
    states = blocks_state(vm, cold)
    t.check(all_in_zone(states, "Movable"),
            f"coldplugged DIMM: blocks {cold[0]}..{cold[-1]} online in ZONE_MOVABLE, as the "
            "credential says over /etc's drop-in", describe(states))

    # 2a. the credential from SMBIOS type 11: imported by PID 1, passed by the unit, read last.
    rc, files = vm.run("busctl get-property org.memhotplug1 /org/memhotplug1 "
                       "org.memhotplug1.Manager ConfigFiles", check=False)
    loaded = vm.sh("journalctl --no-pager -o cat -b -u memhotplugd -g '^Policy loaded from' || true")
    first = loaded.strip().splitlines()[0] if loaded.strip() else ""
    log(f"  ConfigFiles: {files.strip()}")
    log(f"  {first}")
    t.check(rc == 0 and files.strip().endswith(f'"{CREDENTIAL_PATH}"')
            and first.endswith(f"{CREDENTIAL_PATH}: [Memory] Online=movable, 0 [Node] section(s), "
                               "ChunkBlocks=64"),
            "the memhotplugd.conf credential from QEMU's SMBIOS type 11 string reached the daemon at "
            "boot: the last of ConfigFiles, and the first 'Policy loaded' names it with Online=movable",
            f"rc={rc}: {files}\n{loaded}\n"
            + vm.sh("ls -l /run/credentials/@system /run/credentials/memhotplugd.service 2>&1 || true"))
    rc, out = vm.run("systemd-run --quiet --wait --pipe -p LoadCredential=memhotplugd.conf "
                     "/usr/sbin/memhotplugd --check-config", timeout=60, check=False)
    t.check(rc == 0 and "\n# credential memhotplugd.conf:3\nOnline=movable\n" in out,
            "memhotplugd --check-config under LoadCredential=memhotplugd.conf names "
            "'credential memhotplugd.conf:3' as the origin of Online=movable", f"rc={rc}:\n{out}")
    for line in out.splitlines():
        if "credential" in line:
            log(f"  check-config: {line}")
    onlined = {}
    for e in journal_json(vm, f"MESSAGE_ID={MSG_BLOCK_ONLINED}"):
        try:
            onlined.setdefault(int(e["MEMORY_BLOCK"]), int(e["__MONOTONIC_TIMESTAMP"]))
        except (KeyError, ValueError):
            pass
    sysinit = int(show(vm, "sysinit.target", "ActiveEnterTimestampMonotonic")
                  ["ActiveEnterTimestampMonotonic"])
    svc = show(vm, "memhotplugd.service", "ExecMainStartTimestampMonotonic",
               "ActiveEnterTimestampMonotonic")
    late = {b: onlined.get(b) for b in cold if onlined.get(b) is None or onlined[b] >= sysinit}
    last = max((onlined[b] for b in cold if b in onlined), default=0)
    log(f"service started {int(svc['ExecMainStartTimestampMonotonic']) / 1e6:.2f}s, "
        f"ready {int(svc['ActiveEnterTimestampMonotonic']) / 1e6:.2f}s, last coldplug block "
        f"onlined {last / 1e6:.2f}s, sysinit.target reached {sysinit / 1e6:.2f}s (monotonic)")
    t.check(sysinit > 0 and not late,
            "every coldplugged block was onlined (journal) before sysinit.target was reached",
            f"sysinit.target at {sysinit} us; blocks without an earlier entry: {late}")

    # 3. D-Bus: a property, the client, activation.
    rc, out = vm.run("busctl get-property org.memhotplug1 /org/memhotplug1 "
                     "org.memhotplug1.Manager OnlineBytes", check=False)
    m = re.fullmatch(r"t (\d+)", out.strip())
    t.check(rc == 0 and m and int(m.group(1)) >= len(cold) * bs,
            "busctl get-property OnlineBytes answers (at least the coldplugged DIMM)",
            f"rc={rc}: {out}")
    rc, out = vm.run("memhotplugctl status", check=False)
    t.check(rc == 0 and out.strip() != "", "memhotplugctl status answers", f"rc={rc}: {out}")
    if out:
        for line in out.strip().splitlines()[:12]:
            log(f"  {line}")

    # 3b. CAP_SYS_ADMIN only at start: /proc/iomem is opened with it (virtio-mem groups), then
    # dropped with capset(), which the unit's SystemCallFilter= must allow.
    pid = show(vm, "memhotplugd.service", "MainPID")["MainPID"]
    proc = vm.sh(f"cat /proc/{pid}/status || true")
    caps = {k: int(v, 16) for k, v in re.findall(r"^(Cap(?:Eff|Prm|Bnd)):\s*([0-9a-f]+)", proc, re.M)}
    journal = vm.sh("journalctl --no-pager -b -u memhotplugd || true")
    log(f"memhotplugd (pid {pid}): " + ", ".join(f"{k} {v:016x}" for k, v in caps.items()))
    t.check(len(caps) == 3 and not caps["CapEff"] & CAP_SYS_ADMIN and not caps["CapPrm"] & CAP_SYS_ADMIN
            and caps["CapBnd"] & CAP_SYS_ADMIN and "hides its addresses" not in journal
            and "CAP_SYS_ADMIN" not in journal and "not grouped" not in out,
            "CAP_SYS_ADMIN: in the unit's bounding set, used at start to open /proc/iomem, then dropped "
            "(not in CapEff nor CapPrm); no warning about it in the journal",
            proc + "\n" + journal[-3000:])

    vm.run("systemctl stop memhotplugd", timeout=60, check=False)
    _, stopped = vm.run("systemctl is-active memhotplugd", check=False)
    rc, out = vm.run("busctl get-property org.memhotplug1 /org/memhotplug1 "
                     "org.memhotplug1.Manager OnlineBytes", timeout=90, check=False)
    _, active = vm.run("systemctl is-active memhotplugd", check=False)
    t.check(stopped.strip() in ("inactive", "failed") and rc == 0 and active.strip() == "active",
            "D-Bus activation: a call after 'systemctl stop' starts memhotplugd.service again",
            f"after stop: {stopped.strip()}; busctl rc={rc}: {out.strip()}; "
            f"afterwards: {active.strip()}\n"
            + vm.sh("journalctl --no-pager -n 20 -u memhotplugd -u dbus || true"))

    # 4. journal fields and catalog.
    entries = journal_json(vm, f"MESSAGE_ID={MSG_BLOCK_ONLINED}")
    fields = ("MEMORY_BLOCK", "MEMORY_NODE", "MEMORY_ZONE")
    good = [e for e in entries if all(f in e for f in fields)]
    t.check(entries and len(good) == len(entries),
            f"journal: {len(entries)} block-onlined entries, each with {', '.join(fields)}",
            json.dumps(entries[:2], indent=1))
    if good:
        e = good[0]
        log(f"e.g. {e.get('MESSAGE')!r} MEMORY_BLOCK={e['MEMORY_BLOCK']} "
            f"MEMORY_NODE={e['MEMORY_NODE']} MEMORY_ZONE={e['MEMORY_ZONE']}")
    out = vm.sh(f"journalctl --no-pager -x -n 1 MESSAGE_ID={MSG_BLOCK_ONLINED} || true")
    t.check("memhotplugd onlined memory block" in out and "Subject: Memory block" in out,
            "journalctl -x shows the catalog text for a block-onlined entry", out)

    # 4b. the boot's memory started no capacity hook.
    capacity_at_boot(vm, t)

    # 5. runtime hot-add.
    dev = vm.hotplug_dimm("1G")
    hot = dimm_blocks(vm, dev, bs)
    ok, detail = wait_zone(vm, hot, "Movable")
    t.check(ok, f"runtime hot-add ({dev}): blocks {hot[0]}..{hot[-1]} online in ZONE_MOVABLE",
            detail)

    # 6. reload with a bad drop-in keeps the running policy.
    since = vm.sh("cat /proc/uptime").split()[0]
    vm.write_file("/etc/memhotplugd/memhotplugd.conf.d/50-bad.conf", BAD_DROPIN)
    rc, out = vm.run("systemctl reload memhotplugd", timeout=60, check=False)
    log(f"systemctl reload: rc={rc} {out.strip()}")
    _, active = vm.run("systemctl is-active memhotplugd", check=False)
    t.check(active.strip() == "active", "after a reload with a bad drop-in: still active",
            vm.sh("systemctl status --no-pager -l memhotplugd || true"))
    errors = journal_json(vm, f"MESSAGE_ID={MSG_CONFIG_ERROR}")
    bad = [e for e in errors if re.search(r"50-bad\.conf:3\b", e.get("MESSAGE", ""))]
    t.check(bad, "journal: config error names 50-bad.conf:3 (the unknown key)",
            json.dumps([{k: e.get(k) for k in ("MESSAGE", "CONFIG_FILE", "PRIORITY")}
                        for e in errors], indent=1))
    for e in bad[:1]:
        log(f"config error: {e.get('MESSAGE')!r} CONFIG_FILE={e.get('CONFIG_FILE')}")
    _, policy = vm.run("busctl get-property org.memhotplug1 /org/memhotplug1 "
                       "org.memhotplug1.Manager OnlinePolicy", check=False)
    log(f"OnlinePolicy after the failed reload: {policy.strip()}")
    dev2 = vm.hotplug_dimm("1G")
    hot2 = dimm_blocks(vm, dev2, bs)
    ok, detail = wait_zone(vm, hot2, "Movable")
    t.check(ok, f"hot-add after the failed reload ({dev2}) still follows the old policy (Movable)",
            detail)
    vm.sh("rm -f /etc/memhotplugd/memhotplugd.conf.d/50-bad.conf")

    # 7. sandboxing as systemd scores it, on the installed unit.
    rc, out = vm.run("systemd-analyze security --no-pager memhotplugd.service", timeout=120,
                     check=False)
    m = re.search(r"Overall exposure level for memhotplugd\.service:\s*([0-9.]+)\s*(\S+)", out)
    exposure = float(m.group(1)) if m else None
    timings["exposure"] = f"{m.group(1)} {m.group(2)}" if m else "?"
    t.check(exposure is not None and exposure <= 2.0,
            f"systemd-analyze security: overall exposure {timings['exposure']} (<= 2.0)",
            out[-2000:])

    # 8. watchdog configured and never fired; no restarts. (Checked before the
    # udev step below, whose fresh start would reset NRestarts.)
    p = show(vm, "memhotplugd.service", "WatchdogUSec", "NRestarts", "Result")
    t.check(p.get("WatchdogUSec") == "30s", f"WatchdogUSec={p.get('WatchdogUSec')}", p)
    t.check(p.get("NRestarts") == "0" and p.get("Result") == "success",
            f"no restarts (NRestarts={p.get('NRestarts')}, Result={p.get('Result')})",
            vm.sh("journalctl --no-pager -u memhotplugd | tail -n 30 || true"))

    # 9. memory hot-added while an admin has stopped the daemon: the udev rule does not start it
    # (memory blocks are not tagged, so PID 1 holds no unit per block), the kernel's own
    # auto_online_blocks (offline here, restored on stop) leaves the blocks offline, and the
    # daemon onlines them by policy when it is started again.
    vm.run("systemctl reset-failed memhotplugd; systemctl stop memhotplugd", check=False)
    _, stopped = vm.run("systemctl is-active memhotplugd", check=False)
    dev3 = vm.hotplug_dimm("1G")
    hot3 = dimm_blocks(vm, dev3, bs)
    vm.wait_until(lambda: all(s for s in blocks_state(vm, hot3).values()), timeout=60, interval=1,
                  what=f"blocks {hot3[0]}..{hot3[-1]} to appear")
    vm.run("udevadm settle --timeout=60", timeout=90, check=False)
    _, while_stopped = vm.run("systemctl is-active memhotplugd", check=False)
    offline = all(s["state"] == "offline" for s in blocks_state(vm, hot3).values())
    vm.run("systemctl start memhotplugd", timeout=90, check=False)
    ok, detail = wait_zone(vm, hot3, "Movable")
    t.check(stopped.strip() != "active" and while_stopped.strip() != "active" and offline and ok,
            f"hot-add ({dev3}) with the daemon stopped: it stays stopped, the blocks offline; "
            f"'systemctl start' onlines {hot3[0]}..{hot3[-1]} in ZONE_MOVABLE",
            f"before: {stopped.strip()}, after the hot-add: {while_stopped.strip()}, offline: "
            f"{offline}\n{detail}\n" + vm.sh("journalctl --no-pager -u memhotplugd | tail -n 15 || true"))

    # 10. systemctl service-log-level reaches the daemon (org.freedesktop.LogControl1).
    def debug_scans():
        return vm.sh("journalctl --no-pager -o cat -u memhotplugd PRIORITY=7 -g 'Scanned' | wc -l || true")
    rc, out = vm.run("systemctl service-log-level memhotplugd debug && "
                     "systemctl service-log-level memhotplugd", check=False)
    n = int(debug_scans().strip() or 0)
    vm.run("busctl call org.memhotplug1 /org/memhotplug1 org.memhotplug1.Manager Rescan", check=False)
    m = int(debug_scans().strip() or 0)
    vm.run("systemctl service-log-level memhotplugd info", check=False)
    t.check(rc == 0 and out.strip() == "debug" and m > n,
            "systemctl service-log-level memhotplugd debug: the level reads back, a Rescan's debug "
            "line reaches the journal",
            f"rc={rc}: {out.strip()}; debug 'Scanned' entries {n} -> {m}")

    # 11. what the rule costs PID 1.
    pid1_cost(vm, t, bs, timings)

    # 10. unplug under the unit's sandbox: the writer thread, PrepareUnplug reading
    # /sys/bus/acpi, the offline marks in the runtime directory, then the eject.
    try:
        acpi = vm.acpi_memory_device(hot)
    except VMError:
        acpi = None
    rc, out = vm.run(f"memhotplugctl unplug {acpi}", timeout=180, check=False)
    states = blocks_state(vm, hot)
    t.check(acpi and rc == 0 and all(s and s["state"] == "offline" for s in states.values()),
            f"memhotplugctl unplug {acpi} ({dev}) under the unit: exit 0, blocks {hot[0]}..{hot[-1]} "
            "offline", f"rc={rc}: {out}\n{describe(states)}\n"
            + vm.sh("journalctl --no-pager -u memhotplugd | tail -n 20 || true"))
    marks = vm.sh("cat /run/memhotplugd/offlined 2>/dev/null || true").split()
    t.check(all(f"memory{n}" in marks for n in hot), "the offline marks are in /run/memhotplugd/offlined",
            " ".join(marks))
    vm.qmp.execute("device_del", id=dev)
    try:
        vm.wait_until(lambda: not set(hot) & set(vm.blocks()), timeout=120, interval=1,
                      what=f"{dev} removed")
        gone = True
    except VMError:
        gone = False
    _, active = vm.run("systemctl is-active memhotplugd", check=False)
    t.check(gone and active.strip() == "active", f"device_del {dev}: removed, memhotplugd still active",
            vm.sh("journalctl --no-pager -u memhotplugd | tail -n 20 || true"))

    # 12. capacity-changed events and their hooks.
    capacity_events(vm, t, bs)

    wd = vm.sh("journalctl --no-pager -u memhotplugd -g 'watchdog' || true")
    t.check("Watchdog timeout" not in wd, "the watchdog never fired", wd)

    # The kernel itself: an oops in a sysfs read kills the reader with SIGKILL.
    oops = vm.sh("journalctl --no-pager -k -g 'BUG:|Oops|WARNING:|Call Trace' || true")
    t.check("BUG:" not in oops and "Oops" not in oops and "WARNING:" not in oops,
            "no kernel oops or warning in the guest",
            vm.sh("journalctl --no-pager -k | grep -A30 -E 'BUG:|Oops|WARNING:' | head -45 || true"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source-root", default=os.path.join(HERE, "..", ".."),
                    help="the tree scripts/build-deb builds the package from")
    ap.add_argument("--deb", help="use this memhotplugd .deb instead of building one")
    ap.add_argument("--log-dir", help="keep the guest console log here")
    ap.add_argument("--verbose", action="store_true", help="echo the guest console")
    ap.add_argument("--timeout", type=int, default=840, help="wall-clock limit for the VM")
    ap.add_argument("--kernel", help="tests/vm/get-kernel --version to boot (default 6.12)")
    args = ap.parse_args()
    vmlib.select_kernel(args.kernel)

    t = Tap()
    timings = {}
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (debootstrap, chroot, dpkg -i in the guest tree)")
        return 0
    scratch = tempfile.mkdtemp(prefix="mhp-vm-systemd-", dir="/var/tmp")
    start = time.monotonic()
    try:
        kdir = vmlib.kernel_dir()
        deb = args.deb
        if not deb:
            t0 = time.monotonic()
            out = os.path.join(scratch, "deb")
            run([os.path.join(args.source_root, "scripts", "build-deb"), out],
                stdout=subprocess.DEVNULL)
            deb = [d for d in glob.glob(os.path.join(out, "memhotplugd_*.deb"))][0]
            log(f"built {os.path.basename(deb)} in {time.monotonic() - t0:.1f}s")
        image, initrd = build_image(scratch, os.path.abspath(deb), kdir)

        guest = SystemdVM(image=image, initrd=initrd,
                          name="vm-systemd" + (f"-{args.kernel}" if args.kernel else ""),
                          credentials={"memhotplugd.conf": CREDENTIAL_CONFIG},
                          memory="1G", slots=10, maxmem="72G", dimms=[Dimm("1G")],
                          cmdline=["systemd.unit=multi-user.target", "systemd.show_status=1",
                                   "memory_hotplug.memmap_on_memory=1"],
                          boot_timeout=300, timeout=args.timeout,
                          log_dir=args.log_dir, verbose=args.verbose)
        t_boot = time.monotonic()
        try:
            with guest:
                timings["_t0"] = t_boot
                log(f"agent up (multi-user.target) {guest.boot_seconds:.1f}s after QEMU started")
                checks(guest, t, timings)
        except VMError as e:
            t.check(False, "the VM ran the checks to the end", e)
            if not args.log_dir:
                print("# --- console tail ---")
                for line in guest.console_tail(60).splitlines():
                    print(f"# {line}")
    except (subprocess.CalledProcessError, RuntimeError, OSError) as e:
        t.bail(f"setting up the guest failed: {e}")
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log(f"total {time.monotonic() - start:.1f}s; exposure {timings.get('exposure')}; "
        f"PID 1 with a unit per block: {timings.get('pid1')}")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
