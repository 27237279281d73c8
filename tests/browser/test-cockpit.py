#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Memory page for Cockpit (cockpit/), in a real browser against the real daemon.

Usage: test-cockpit.py MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF COCKPIT_DIR ARTIFACT_DIR

The daemon runs as in the integration tests (tests/integration/harness.py): under umockdev, on a
testbed of fake memory blocks with the kernel emulator, on a private dbus-daemon with the
project's bus policy (busclient.py). Debian's cockpit-ws serves the page on 127.0.0.1 only, with
--local-session=cockpit-bridge: cockpit 287's way to open a session without a login, its bridge
running as the user that runs cockpit-ws (root for the administrator, "nobody" for the
unprivileged user) and reaching the private bus through DBUS_SYSTEM_BUS_ADDRESS. Debian's
headless chromium loads the page and the test drives it through the DevTools protocol (cdp.py):
real clicks and typing, conditions waited for (never a fixed time).

A PNG of each view (overview.png, devices.png, activity.png; devices-readonly.png for the
unprivileged user) is written to ARTIFACT_DIR.

Output is TAP. MHP_TEST_ONLY=<substring of a scenario function's name> runs only those.
"""

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import busclient  # noqa: E402
import harness  # noqa: E402
from busclient import BUS_NAME, BusSetup, Client, PrivateBus  # noqa: E402
from cdp import CHROMIUM, Browser, end_process, log_tail  # noqa: E402
from harness import Block, check, scenario, state_writes, wait_until  # noqa: E402

COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"
COCKPIT_BRIDGE = "/usr/bin/cockpit-bridge"
TIMEOUT = 90  # for the browser's conditions: generous, the machine is shared
ADMIN = None  # cockpit-ws as the test's own user (root)
NOBODY = busclient.UNPRIVILEGED

if len(sys.argv) != 6:
    sys.stderr.write(__doc__)
    sys.exit(2)
COCKPIT_DIR = os.path.abspath(sys.argv[4])
ARTIFACTS = os.path.abspath(sys.argv[5])


def import_integration_test(name):
    """An integration test script as a module, for its fixtures. It reads its command line when
    imported (busclient.init()), so it is given the part it takes, which is ours too."""
    argv = sys.argv
    sys.argv = argv[:4]
    try:
        spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                      os.path.join(HERE, "..", "integration", name + ".py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    return module


# test-dax.py's testbed of device-dax instances (DaxBed: the dax bus, a CXL region over two memdevs,
# the dax emulator, the kmod stub's preflight); test-unplug.py's ACPI memory devices (DIMMs).
dax = import_integration_test("test-dax")
acpi_memory_device = import_integration_test("test-unplug").acpi_memory_device

# Node 0: two boot blocks in Normal, then two DIMMs in Movable (PNP0C80:00, blocks 4-7, and
# PNP0C80:01, blocks 8-9) after two more Movable blocks; node 1: four blocks its policy leaves
# offline, so the Plan has decisions to show, and far above them a CXL memory expander's region
# (dax2.0, 1 GiB), converted to system RAM at start and onlined movable.
CONFIG = (harness.BASE_DAEMON + "OfflineTimeoutSec=0\n\n[Memory]\nOnline=movable\n\n[Node 1]\nOnline=offline\n\n"
          "[Dax cxl]\nMatchSource=cxl\nMode=system-ram\nMemmapOnMemory=yes\nOnline=movable\n")
CXL = dax.cxl(memmap="0")
DIMMS = {"PNP0C80:00": [4, 5, 6, 7], "PNP0C80:01": [8, 9]}
HOT_ADDED = 10


def blocks():
    out = [Block(i, 0, state="online", zones=("Normal",)) for i in range(2)]
    out += [Block(i, 0, state="online", zones=("Movable",)) for i in range(2, 10)]
    out += [Block(i, 1) for i in range(16, 20)]
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cockpit:
    """cockpit-ws on 127.0.0.1 with a local session, as user (None: the test's own), with only this
    tree's package added to Cockpit's search path."""

    def __init__(self, bus_address, user=None):
        self.dir = tempfile.mkdtemp(prefix="memhotplugd-cockpit.")
        os.chmod(self.dir, 0o755)
        share = os.path.join(self.dir, "share")
        shutil.copytree(COCKPIT_DIR, os.path.join(share, "cockpit", "memhotplug"),
                        ignore=shutil.ignore_patterns("meson.build"))
        for root, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)
        self.port = free_port()
        env = busclient.unprivileged_env(bus_address)
        env.update(XDG_DATA_DIRS=share + ":/usr/share", XDG_DATA_HOME=os.path.join(self.dir, "nothing"),
                   XDG_CONFIG_DIRS=os.path.join(self.dir, "nothing"))
        if user is None:
            env["HOME"] = self.dir
        argv = [COCKPIT_WS, "--no-tls", "--address", "127.0.0.1", "--port", str(self.port),
                "--local-session=" + COCKPIT_BRIDGE]
        if user:
            argv = ["setpriv", "--reuid=" + user[0], "--regid=" + user[1], "--clear-groups"] + argv
        self.log = os.path.join(self.dir, "cockpit-ws.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=harness.die_with_parent)
        wait_until(self._listening, 60, what="cockpit-ws to listen on 127.0.0.1:%d (%s)" % (self.port, self.text()))

    def _listening(self):
        check(self.proc.poll() is None, "cockpit-ws exited: " + self.text())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
            return True
        except OSError:
            return False

    def url(self, view=""):
        # The page on its own, as the shell frames it: /cockpit/@localhost/PACKAGE/index.html#/VIEW
        return "http://127.0.0.1:%d/cockpit/@localhost/memhotplug/index.html#/%s" % (self.port, view)

    def text(self):
        return log_tail(self.log)

    def close(self):
        end_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def browser_env():
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith(("UMOCKDEV", "MHP_", "DBUS_"))}
    env["HOME"] = tempfile.gettempdir()
    return env


class Setup(BusSetup):
    """A private bus, the testbed with two nodes and two DIMMs, the daemon, cockpit-ws as user and a
    browser on the page."""

    cockpit = browser = None

    def __init__(self, case, user):
        try:
            self.bus = PrivateBus()
            self.bed = dax.DaxBed([CXL], blocks=blocks(), nodes=(0, 1))
            self.bed.bus_address = self.bus.address
            self.bed.write_config(CONFIG)
            for name, indices in DIMMS.items():
                acpi_memory_device(self.bed, name, indices)
            for i in self.bed.blocks:
                self.bed.emu.expect(i, None)  # nothing written unless a check says so
            for i in CXL.blocks():
                self.bed.emu.expect(i, "online_movable")
            self.client = Client(self.bus.address)
            self.daemon = self.bed.daemon()
            case.daemon = self.daemon
            self.daemon.wait_line(r"Acquired the bus name " + BUS_NAME.replace(".", r"\."))
            self.bed.emu.wait_online(CXL.blocks())
            wait_until(lambda: tuple(self.client.prop("JobProgress")) == (0, 0, 0), what="an idle daemon")
            self.cockpit = Cockpit(self.bus.address, user)
            self.browser = Browser(env=browser_env(), preexec_fn=harness.die_with_parent)
            case.note("cockpit-ws on port %d" % self.cockpit.port)
            self.browser.navigate(self.cockpit.url())
            self.browser.wait("document.getElementById('view').dataset.loaded === 'yes'", "the page to load", TIMEOUT)
        except BaseException:
            if self.cockpit:
                case.note("cockpit-ws log:\n" + self.cockpit.text())
            self.close()
            raise

    def view(self, name):
        """Switches to a view with a click on its tab; waits until the page shows it."""
        self.browser.click(".mh-tab[data-view=%s]" % name)
        self.browser.wait("document.getElementById('view').dataset.view === %r" % name, "the %s view" % name, TIMEOUT)

    def close(self):
        if self.browser:
            self.browser.close()
        if self.cockpit:
            self.cockpit.close()
        super().close()


# What the page draws for a node: its bar's runs as (first block, last block, label).
BAR = """[...document.querySelectorAll('.mh-node[data-node="%d"] .mh-seg')]
    .map(s => [+s.dataset.first, +s.dataset.last, s.dataset.label])"""


def bar(s, node):
    return [tuple(r) for r in s.browser.evaluate(BAR % node)]


def no_errors(s):
    errors = s.browser.errors()
    check(not errors, "the page logged errors: %s" % errors)


def result_text(s):
    return s.browser.evaluate("(document.getElementById('result') || {}).textContent || ''")


@scenario(["administrator: the page loads with no console error; the Overview shows both nodes, their blocks by zone "
           "and state, and the totals",
           "administrator: a block hot-added during the test appears on the Overview without a reload, and in "
           "Activity as it happens",
           "administrator: Activity shows the Plan's decision for each offline block, with its reason",
           "administrator: Devices lists the CXL device with its region, memdev serials, node, size, mode, "
           "memmap placement, blocks and rule; its Unplug button offlines its blocks (sysfs) from the top down",
           "administrator: unplugging a DIMM from Devices offlines its blocks (sysfs) from the top down, the page says "
           "it can be removed",
           "administrator: Cancel on the page stops an offline the kernel holds up: the block stays online (sysfs), "
           "the one below is never written, the page says cancelled",
           "administrator: after a reload that makes node 0 kernel, the Overview warns of the drift, Devices "
           "lists the drifted blocks, and Rezone moves one to Normal (offline, then online_kernel in sysfs)",
           "administrator: no console error in the whole session; a PNG of each view written"])
def test_admin(case):
    s = Setup(case, ADMIN)
    b, bed = s.browser, s.bed
    shots = []
    try:
        def overview():
            b.wait("document.querySelectorAll('.mh-node').length === 2", "two nodes", TIMEOUT)
            check(bar(s, 0) == [(0, 1, "Normal"), (2, 9, "Movable")], "node 0's bar: %s" % bar(s, 0))
            first, last = CXL.blocks()[0], CXL.blocks()[-1]
            check(bar(s, 1) == [(16, 19, "offline"), (20, first - 1, "no memory"), (first, last, "Movable")],
                  "node 1's bar: %s" % bar(s, 1))
            text = b.evaluate("document.getElementById('view').innerText")
            check(re.search(r"Present\n4\.50? GiB\nOnline\n3\.50? GiB\nOffline\n1(\.00)? GiB", text),
                  "no totals (4.5 GiB present, 3.5 GiB online, 1 GiB offline): %r" % text[:2000])
            check(b.evaluate("document.getElementById('privilege').hidden"), "the read-only notice shows for root")
            no_errors(s)
            b.screenshot(os.path.join(ARTIFACTS, "overview.png"))
            shots.append("overview.png")

        case.run("administrator: the page loads with no console error; the Overview shows both nodes, their blocks by "
                 "zone and state, and the totals", overview)

        def hot_add():
            b.evaluate("window.mhSameDocument = true")  # gone if the page reloads
            bed.emu.expect(HOT_ADDED, "online_movable")
            bed.add_block(Block(HOT_ADDED, 0))
            bed.emu.wait_online([HOT_ADDED])
            b.wait("JSON.stringify(%s) === JSON.stringify([[0, 1, 'Normal'], [2, 10, 'Movable']])" % BAR % 0,
                   "memory10 in node 0's bar as Movable", TIMEOUT)
            check(b.evaluate("window.mhSameDocument === true"), "the page was reloaded")
            s.view("activity")
            events = b.evaluate("document.getElementById('events').innerText")
            # From BlockStatesChanged: the daemon sends no InterfacesAdded for a new block.
            check("memory10 is online (Movable)" in events, "Activity: %r" % events)

        case.run("administrator: a block hot-added during the test appears on the Overview without a reload, and in "
                 "Activity as it happens", hot_add)

        def decisions():
            s.view("activity")
            rows = b.wait("""(() => { const r = [...document.querySelectorAll('tr[data-block]')]
                .map(t => [...t.cells].map(c => c.innerText)); return r.length === 4 ? r : null; })()""",
                          "four decisions", TIMEOUT)
            check([r[0] for r in rows] == ["memory%d" % i for i in range(16, 20)], "rows %s" % rows)
            check(all(r[2] == "offline" and "[Node 1]" in r[5] + r[6] for r in rows), "rows %s" % rows)

        case.run("administrator: Activity shows the Plan's decision for each offline block, with its reason", decisions)

        def device():
            s.view("devices")
            cells = b.wait("""(() => { const r = document.querySelector('tr[data-device="dax2.0"]');
                return r && [...r.cells].map(c => c.innerText); })()""", "dax2.0's row", TIMEOUT)
            want = ["dax2.0", "cxl region0, memdev serials 0x%x, 0x%x" % (dax.SERIAL0, dax.SERIAL1), "1", "1 GiB",
                    "system-ram", "device", "4 / 4", "[Dax cxl]"]
            check(cells[:8] == want, "row %s, want %s" % (cells, want))
            for i in CXL.blocks():
                bed.emu.expect(i, "offline")
            n = len(state_writes(bed))
            b.click('tr[data-device="dax2.0"] button[data-action=unplug]')
            b.wait("(document.getElementById('result') || {}).textContent", "the unplug's result", TIMEOUT)
            check("dax2.0 is offline and can be removed now (4 blocks)" in result_text(s), "result %r" % result_text(s))
            check(all(bed.read_attr(i, "state") == "offline" for i in CXL.blocks()),
                  "states %s" % [bed.read_attr(i, "state") for i in CXL.blocks()])
            got = [(w.index, w.value, w.result) for w in state_writes(bed)[n:]]
            check(got == [(i, "offline", "ok") for i in reversed(CXL.blocks())], "writes %s" % got)
            b.wait("""(() => { const r = document.querySelector('tr[data-device="dax2.0"]');
                return r && r.cells[6].innerText === '0 / 4'; })()""", "dax2.0's row to say 0 / 4 online", TIMEOUT)

        case.run("administrator: Devices lists the CXL device with its region, memdev serials, node, size, mode, "
                 "memmap placement, blocks and rule; its Unplug button offlines its blocks (sysfs) from the top down",
                 device)

        def unplug():
            s.view("devices")
            for i in DIMMS["PNP0C80:00"]:
                bed.emu.expect(i, "offline")
            n = len(state_writes(bed))
            b.type("#unplug-target", "PNP0C80:00")
            b.click("button[data-action=unplug-target]")
            b.wait("(document.getElementById('result') || {}).textContent", "the unplug's result", TIMEOUT)
            check("PNP0C80:00 is offline and can be removed now" in result_text(s), "result %r" % result_text(s))
            check(all(bed.read_attr(i, "state") == "offline" for i in DIMMS["PNP0C80:00"]),
                  "states %s" % [bed.read_attr(i, "state") for i in DIMMS["PNP0C80:00"]])
            got = [(w.index, w.value, w.result) for w in state_writes(bed)[n:]]
            check(got == [(i, "offline", "ok") for i in (7, 6, 5, 4)], "writes %s" % got)

        case.run("administrator: unplugging a DIMM from Devices offlines its blocks (sysfs) from the top down, the page "
                 "says it can be removed", unplug)

        def cancel():
            s.view("devices")
            # The kernel's offline of memory9 runs on until a signal ends it (EINTR), as offline_pages()
            # does while pages stay busy; memory8 is queued behind it.
            bed.set_fault(9, "stall 600000 1")
            bed.emu.expect(8, "offline")
            bed.emu.expect(9, "offline")
            b.evaluate("document.getElementById('unplug-target').value = ''")
            b.type("#unplug-target", "PNP0C80:01")
            b.click("button[data-action=unplug-target]")
            wait_until(lambda: bed.read_attr(9, "state") == "going-offline", TIMEOUT, what="memory9's offline to stall")
            b.wait("document.querySelector('button[data-action=cancel]') && "
                   "!document.querySelector('button[data-action=cancel]').disabled", "the Cancel button", TIMEOUT)
            b.screenshot(os.path.join(ARTIFACTS, "devices.png"))
            shots.append("devices.png")
            b.click("button[data-action=cancel]")
            b.wait("(document.getElementById('result') || {}).textContent", "the unplug's result", TIMEOUT)
            text = result_text(s)
            check("PNP0C80:01 failed" in text and "cancelled" in text, "result %r" % text)
            check(bed.read_attr(9, "state") == "online" and bed.read_attr(8, "state") == "online",
                  "states %s %s" % (bed.read_attr(8, "state"), bed.read_attr(9, "state")))
            w9 = [(w.value, w.result) for w in state_writes(bed, 9)]
            check(w9 == [("offline", "EINTR")], "memory9 got %s" % w9)
            check(not state_writes(bed, 8), "memory8 got %s" % state_writes(bed, 8))

        case.run("administrator: Cancel on the page stops an offline the kernel holds up: the block stays online "
                 "(sysfs), the one below is never written, the page says cancelled", cancel)

        def rezone():
            # Node 0's policy becomes kernel: its Movable blocks that are not boot memory drift
            # (memory2-3, the DIMM PNP0C80:01's 8-9 and the hot-added 10; PNP0C80:00 is offline).
            drifted = [2, 3, 8, 9, HOT_ADDED]
            bed.write_config(CONFIG + "\n[Node 0]\nOnline=kernel\n")
            s.client.call("Reload")
            s.view("overview")
            b.wait("(document.getElementById('warnings') || {}).textContent", "the drift warning", TIMEOUT)
            text = b.evaluate("document.getElementById('warnings').textContent")
            check("%d online blocks are in a zone the policy would not choose now" % len(drifted) in text,
                  "warnings %r" % text)
            s.view("devices")
            rows = b.wait("""(() => { const r = [...document.querySelectorAll('tr[data-block]')]
                .map(t => [...t.cells].slice(0, 4).map(c => c.innerText)); return r.length ? r : null; })()""",
                          "the drifted blocks", TIMEOUT)
            check(rows == [["memory%d" % i, "0", "Movable", "Normal"] for i in drifted], "Drift rows %s" % rows)
            bed.emu.expect(HOT_ADDED, "unset")  # offline, then online_kernel
            n = len(state_writes(bed))
            b.click('tr[data-block="%d"] button[data-action=rezone]' % HOT_ADDED)
            b.wait("document.querySelectorAll('tr[data-block]').length === %d" % (len(drifted) - 1),
                   "memory%d to leave the Drift table" % HOT_ADDED, TIMEOUT)
            got = [(w.index, w.value, w.result) for w in state_writes(bed)[n:]]
            check(got == [(HOT_ADDED, "offline", "ok"), (HOT_ADDED, "online_kernel", "ok")], "writes %s" % got)
            check((bed.read_attr(HOT_ADDED, "state"), bed.read_attr(HOT_ADDED, "valid_zones")) == ("online", "Normal"),
                  "memory%d is %s in %s" % (HOT_ADDED, bed.read_attr(HOT_ADDED, "state"),
                                            bed.read_attr(HOT_ADDED, "valid_zones")))

        case.run("administrator: after a reload that makes node 0 kernel, the Overview warns of the drift, Devices "
                 "lists the drifted blocks, and Rezone moves one to Normal (offline, then online_kernel in sysfs)",
                 rezone)

        def clean():
            s.view("activity")  # by now with the unplugs, the cancel and the rezone in its events
            b.screenshot(os.path.join(ARTIFACTS, "activity.png"))
            shots.append("activity.png")
            no_errors(s)
            check(sorted(shots) == ["activity.png", "devices.png", "overview.png"], "screenshots %s" % shots)
            for name in shots:
                with open(os.path.join(ARTIFACTS, name), "rb") as f:
                    check(f.read(8) == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % name)
            print("# screenshots: %s" % " ".join(os.path.join(ARTIFACTS, n) for n in shots), flush=True)

        case.run("administrator: no console error in the whole session; a PNG of each view written", clean)
    finally:
        s.close()


@scenario(["unprivileged user: the page loads with no console error and shows the nodes, with a notice that "
           "changes need administrative access",
           "unprivileged user: every action on Devices is disabled and says why",
           "unprivileged user: a forced call (the disabled button enabled by hand, and a direct call) is refused "
           "(AccessDenied: the daemon's bus policy), nothing is written"])
def test_unprivileged(case):
    s = Setup(case, NOBODY)
    b, bed = s.browser, s.bed
    start = len(state_writes(bed))  # the CXL device's onlining at start
    try:
        def loads():
            b.wait("document.querySelectorAll('.mh-node').length === 2", "two nodes", TIMEOUT)
            check(bar(s, 0) == [(0, 1, "Normal"), (2, 9, "Movable")], "node 0's bar: %s" % bar(s, 0))
            b.wait("!document.getElementById('privilege').hidden", "the read-only notice", TIMEOUT)
            text = b.evaluate("document.getElementById('privilege').textContent")
            check("administrative access" in text, "notice %r" % text)
            no_errors(s)

        case.run("unprivileged user: the page loads with no console error and shows the nodes, with a notice that "
                 "changes need administrative access", loads)

        def disabled():
            s.view("devices")
            buttons = b.evaluate("[...document.querySelectorAll('button[data-action]')]"
                                 ".map(e => [e.dataset.action, e.disabled, e.title])")
            check(sorted(set(a for a, _d, _t in buttons)) == ["revert", "unplug", "unplug-target"]
                  and all(d and "administrative access" in t for _a, d, t in buttons), "buttons %s" % buttons)
            b.type("#unplug-target", "PNP0C80:00")
            b.click("button[data-action=unplug-target]")  # a real click on a disabled button: nothing
            b.screenshot(os.path.join(ARTIFACTS, "devices-readonly.png"))
            check(not result_text(s), "a disabled button acted: %r" % result_text(s))

        case.run("unprivileged user: every action on Devices is disabled and says why", disabled)

        def forced():
            b.evaluate("document.querySelector('button[data-action=unplug-target]').disabled = false")
            b.click("button[data-action=unplug-target]")
            b.wait("(document.getElementById('result') || {}).textContent", "the refusal", TIMEOUT)
            check("org.freedesktop.DBus.Error.AccessDenied" in result_text(s), "result %r" % result_text(s))
            direct = b.evaluate("""cockpit.dbus('org.memhotplug1', {bus: 'system'})
                .call('/org/memhotplug1', 'org.memhotplug1.Manager', 'CancelJob', [])
                .then(() => 'succeeded', e => e.name)""")
            check(direct == "org.freedesktop.DBus.Error.AccessDenied", "CancelJob from the page's session: %r" % direct)
            check(all(bed.read_attr(i, "state") == "online" for i in DIMMS["PNP0C80:00"]), "a block went offline")
            check(not state_writes(bed)[start:], "written: %s" % state_writes(bed)[start:])
            no_errors(s)

        case.run("unprivileged user: a forced call (the disabled button enabled by hand, and a direct call) is refused "
                 "(AccessDenied: the daemon's bus policy), nothing is written", forced)
    finally:
        s.close()


def main():
    # preflight_dax: libdaxctl's module loading goes to the fault preload's stub, never the kernel.
    return harness.main([test_admin, test_unprivileged], files=(busclient.BUS_POLICY, COCKPIT_DIR),
                        tools=(COCKPIT_WS, COCKPIT_BRIDGE, CHROMIUM, "setpriv", "dbus-daemon", "daxctl"),
                        preflights=[dax.preflight_dax])


if __name__ == "__main__":
    sys.exit(main())
