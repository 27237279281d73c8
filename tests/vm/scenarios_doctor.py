# SPDX-License-Identifier: LGPL-2.1-or-later
"""memhotplugctl doctor in a real guest (driven by test_vm.py).

Two boots of the same guest (a coldplugged DIMM, a system bus, memhotplugd with
KernelAutoOnline=takeover, the kernel's config in /boot as Debian installs it):
clean, doctor finds nothing wrong and exits 0; then with three faults planted,
doctor names each one as an error and exits 1:
- a udev rule that onlines memory blocks itself (/etc/udev/rules.d);
- memhp_default_state=online on the kernel command line, against takeover;
- the kmem module missing (its file deleted, its modules.dep line gone).
"""

import glob
import json
import os

from scenarios_daemon import REPO, config, daemon_log, daemon_vm, start_daemon
from vm import Dimm, VMError, kernel_dir

RACING_RULE = 'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", ATTR{state}="online"\n'
RULE_PATH = "/etc/udev/rules.d/40-vm-hotadd.rules"


def guest_files():
    """The bus policy, and the kernel's config where Debian puts it (/boot/config-RELEASE)."""
    kconfig = sorted(glob.glob(os.path.join(kernel_dir(), "boot", "config-*")))
    if not kconfig:
        raise VMError("no config-* next to the kernel image")
    return [(os.path.join(REPO, "units", "org.memhotplug1.conf"),
             "/usr/share/dbus-1/system.d/org.memhotplug1.conf"),
            (kconfig[-1], "/boot/" + os.path.basename(kconfig[-1]))]


def run_doctor(ctx, vm, what):
    """memhotplugctl doctor --json in the guest: (exit status, findings)."""
    rc, out = vm.run("memhotplugctl doctor --json=short", check=False, timeout=120)
    try:
        findings = json.loads(out)["Findings"]
    except (ValueError, KeyError):
        ctx.check(False, f"{what}: doctor prints JSON", diag=f"exit {rc}\n{out}", fatal=True)
    text = "\n".join(f"  {f['Severity']:8} {f['Check']:12} {f['Text']}" + (f"  [fix: {f['Fix']}]" if f["Fix"] else "")
                     for f in findings)
    ctx.note(f"{what}: doctor exit {rc}:\n{text}")
    return rc, findings, text


def find(findings, severity, check, *texts):
    return next((f for f in findings if f["Severity"] == severity and f["Check"] == check
                 and all(t in f["Text"] for t in texts)), None)


def start(ctx, vm):
    ctx.booted(vm)
    vm.start_dbus()
    start_daemon(ctx, vm, config(auto="takeover"))
    try:
        vm.wait_until(lambda: vm.run("memhotplugctl status", check=False)[0] == 0, timeout=15,
                      what="memhotplugctl status")
    except VMError as e:
        ctx.check(False, "memhotplugd answers on the bus", diag=f"{e}\n{daemon_log(vm)}", fatal=True)


def doctor(ctx):
    """memhotplugctl doctor: nothing wrong on a clean guest; three planted faults named."""
    if not ctx.args.ctl:
        ctx.tap.skip(f"{ctx.name}: memhotplugctl doctor", "no --ctl given")
        return
    files = guest_files()

    with daemon_vm(ctx, dimms=[Dimm("1G")], files=files) as vm:
        start(ctx, vm)
        rc, findings, text = run_doctor(ctx, vm, "clean guest")
        wrong = [f for f in findings if f["Severity"] in ("warning", "error")]
        ctx.check(rc == 0 and not wrong, "clean guest: doctor exits 0 with no warning or error",
                  diag=f"exit {rc}\n{text}\n--- daemon log ---\n{daemon_log(vm)}")
        ctx.check(find(findings, "ok", "daemon", "memhotplugd runs") and
                  find(findings, "ok", "kernel", "CONFIG_MEMORY_HOTPLUG=y (/boot/config-") and
                  find(findings, "ok", "cmdline", "memhp_default_state=offline") and
                  find(findings, "ok", "auto-online", "KernelAutoOnline=takeover"),
                  "clean guest: the daemon, the kernel's config, the command line and auto_online_blocks "
                  "were checked", diag=text)

    with daemon_vm(ctx, dimms=[Dimm("1G")], files=files, auto_online="online") as vm:
        # The faults: a racing rule, and the kmem module gone (not loaded, not installed).
        vm.write_file(RULE_PATH, RACING_RULE)
        vm.sh("rmmod kmem 2>/dev/null; rm -f $(find /lib/modules -name 'kmem.ko*'); "
              "sed -i '/\\/kmem\\.ko/d' /lib/modules/$(uname -r)/modules.dep")
        ctx.check(vm.run("modprobe kmem", check=False)[0] != 0 and
                  vm.run("test -e /sys/module/kmem", check=False)[0] != 0,
                  "faulty guest: kmem can no longer be loaded")
        start(ctx, vm)
        rc, findings, text = run_doctor(ctx, vm, "faulty guest")
        ctx.check(rc == 1, "faulty guest: doctor exits 1", diag=text)
        rule = find(findings, "error", "agents", RULE_PATH, "onlines memory blocks")
        ctx.check(rule and rule["Fix"] == "ln -s /dev/null " + RULE_PATH,
                  "faulty guest: the racing udev rule is an error, masking it the fix", diag=text)
        ctx.check(find(findings, "error", "cmdline", "memhp_default_state=online", "KernelAutoOnline=takeover"),
                  "faulty guest: memhp_default_state=online against takeover is an error", diag=text)
        release = vm.sh("uname -r").strip()
        ctx.check(find(findings, "error", "hot-add", "kmem module is not installed for kernel " + release),
                  "faulty guest: the missing kmem module is an error naming the kernel", diag=text)


SCENARIOS = {
    "doctor": doctor,
}
