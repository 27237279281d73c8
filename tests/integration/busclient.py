#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The private-bus client machinery that test-dbus.py and test-dax.py share: their command line, a
private dbus-daemon configured like a Debian system bus (default-deny for method calls, no one may
own names) that includes the project's own bus policy (or an open policy), a GDBus client, calls as
an unprivileged user in a setpriv child, and memhotplugctl runs against the private bus.

A test script calls init(__doc__) first (instead of harness.init()): it takes
MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL] from the command line.

The private bus never is the machine's system bus: its socket is in a temporary directory, and the
daemon still runs only through harness.Bed (umockdev and the safety checks of harness.py).
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import TIMEOUT, Failure, check, wait_until

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

BUS_NAME = "org.memhotplug1"
PATH = "/org/memhotplug1"
MANAGER = "org.memhotplug1.Manager"
PROPS = "org.freedesktop.DBus.Properties"
UNPRIVILEGED = ("nobody", "nogroup")

BUS_POLICY = None  # set by init()
CTL = None


def init(doc):
    """The command line: MEMHOTPLUGD FAULT_PRELOAD_SO BUS_POLICY_CONF [MEMHOTPLUGCTL]."""
    global BUS_POLICY, CTL
    if len(sys.argv) not in (4, 5):
        sys.stderr.write(doc)
        sys.exit(2)
    harness.init(sys.argv[1], sys.argv[2])
    BUS_POLICY = os.path.abspath(sys.argv[3])
    CTL = os.path.abspath(sys.argv[4]) if len(sys.argv) == 5 and sys.argv[4] else None


# ---------------------------------------------------------------------------------------------
# Private buses

BUS_HEAD = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
"""

# Debian's /usr/share/dbus-1/system.conf, default policy.
SYSTEM_POLICY = """  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{include}</include>
</busconfig>
"""

# Anyone may own and call anything: only the daemon's own check stands between a user and a
# mutating method.
OPEN_POLICY = """  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    """A dbus-daemon on a socket in a temporary directory that user nobody can reach."""

    def __init__(self, project_policy=True):
        self.dir = tempfile.mkdtemp(prefix="memhotplugd-bus.")
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "bus.sock")
        self.address = "unix:path=" + self.socket
        self.config = os.path.join(self.dir, "bus.conf")
        with open(self.config, "w") as f:
            f.write(BUS_HEAD.format(socket=self.socket))
            f.write(SYSTEM_POLICY.format(include=BUS_POLICY) if project_policy else OPEN_POLICY)
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("UMOCKDEV")}
        # Its log goes to a file: a pipe that nobody reads would stop dbus-daemon at its first 64 KiB
        # of warnings (one a call, when a client passes max_replies_per_connection).
        self.log = os.path.join(self.dir, "dbus-daemon.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["dbus-daemon", "--config-file=" + self.config, "--nofork", "--print-address"],
                                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, text=True, preexec_fn=harness.die_with_parent)
        line = self.proc.stdout.readline()
        if not line.startswith("unix:path=" + self.socket):
            with open(self.log) as log:
                err = log.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError("dbus-daemon did not start: %r %s" % (line, err))
        os.chmod(self.socket, 0o777)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# GDBus client


class BusError(Exception):
    def __init__(self, name, message):
        super().__init__("%s: %s" % (name, message))
        self.name = name
        self.message = message


# A message in Client.wire: sent (incoming False) or received, its type ("method-call",
# "method-return", "error", "signal"), member, serial, the serial it replies to, a signal's arguments.
Wire = collections.namedtuple("Wire", "incoming kind member serial reply_serial args")


def state_rows(signals):
    """The rows of the BlockStatesChanged signals among signals (Client.signals entries), in order:
    (position in signals, block, state, zone)."""
    return [(k, row[0], row[1], row[2]) for k, sg in enumerate(signals) if sg[3] == "BlockStatesChanged"
            for row in sg[4][0]]


def states_before_reply(wire, method, want):
    """That every (block, state) in want came in a BlockStatesChanged before the reply to the last
    call of method in wire (Client.wire_since()); "" if so, else what is wrong."""
    calls = [w.serial for w in wire if not w.incoming and w.kind == "method-call" and w.member == method]
    if not calls:
        return "no %s call" % method
    reply = next((k for k, w in enumerate(wire) if w.incoming and w.reply_serial == calls[-1]), None)
    if reply is None:
        return "no reply to %s" % method
    seen = {(r[0], r[1]) for w in wire[:reply] if w.kind == "signal" and w.member == "BlockStatesChanged"
            for r in w.args[0]}
    missing = [x for x in want if tuple(x) not in seen]
    if missing:
        after = [tuple(r) for w in wire[reply:] if w.kind == "signal" and w.member == "BlockStatesChanged"
                 for r in w.args[0]]
        return "%s replied before BlockStatesChanged carried %s (after the reply: %s)" % (method, missing, after)
    return ""


class Client:
    """A connection to a private bus; calls are synchronous, signals are collected by a thread
    that runs its own GLib main context."""

    def __init__(self, address):
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        self.cond = threading.Condition()
        self.signals = []  # (monotonic time, path, interface, member, unpacked args)
        self.wire = []  # Wire entries, once record_wire() was called
        self.ctx = GLib.MainContext()
        self.loop = GLib.MainLoop(self.ctx)
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(5)

    def _run(self, ready):
        self.ctx.push_thread_default()
        self.sub = self.conn.signal_subscribe(BUS_NAME, None, None, None, None, Gio.DBusSignalFlags.NONE,
                                              self._on_signal)
        ready.set()
        self.loop.run()
        self.ctx.pop_thread_default()

    def _on_signal(self, conn, sender, path, iface, member, params):
        with self.cond:
            self.signals.append((time.monotonic(), path, iface, member, params.unpack()))
            self.cond.notify_all()

    def record_wire(self):
        """From now on, every message this connection sends or receives, in the order it passed
        through the connection: a GDBus filter, which runs before a reply is handed to its caller
        and before a signal is handed to the thread above, so that a reply and a signal are seen in
        the order the bus delivered them (the signal list alone cannot say that)."""
        with self.cond:
            self.wire = []
        self.conn.add_filter(self._on_wire)

    def _on_wire(self, conn, msg, incoming):
        kind = msg.get_message_type().value_nick
        body = msg.get_body() if incoming and kind == "signal" else None
        with self.cond:
            self.wire.append(Wire(incoming, kind, msg.get_member(), msg.get_serial(), msg.get_reply_serial(),
                                  body.unpack() if body is not None else None))
        return msg

    def wire_mark(self):
        with self.cond:
            return len(self.wire)

    def wire_since(self, mark):
        with self.cond:
            return self.wire[mark:]

    def close(self):
        self.loop.quit()
        self.thread.join(5)
        try:
            self.conn.close_sync(None)
        except GLib.Error:
            pass

    def call(self, method, args=None, sig=None, path=PATH, iface=MANAGER, timeout=TIMEOUT, dest=BUS_NAME):
        params = GLib.Variant(sig, args) if sig else None
        try:
            v = self.conn.call_sync(dest, path, iface, method, params, None, Gio.DBusCallFlags.NONE,
                                    int(timeout * 1000), None)
        except GLib.Error as e:
            name = Gio.DBusError.get_remote_error(e)
            Gio.DBusError.strip_remote_error(e)
            raise BusError(name or "(local) " + str(e.domain), e.message)
        return v.unpack() if v is not None else None

    def error_of(self, method, args=None, sig=None, **kw):
        """The error a call ends in; fails if it succeeds."""
        try:
            v = self.call(method, args, sig, **kw)
        except BusError as e:
            return e
        raise Failure("%s(%s) succeeded (%r), an error was expected" % (method, args, v))

    def props(self, path=PATH, iface=MANAGER):
        return self.call("GetAll", (iface,), "(s)", path=path, iface=PROPS)[0]

    def prop(self, name, path=PATH, iface=MANAGER):
        return self.call("Get", (iface, name), "(ss)", path=path, iface=PROPS)[0]

    def mark(self):
        with self.cond:
            return len(self.signals)

    def signals_since(self, mark, member=None):
        with self.cond:
            return [s for s in self.signals[mark:] if member is None or s[3] == member]

    def wait_signal(self, pred, what, mark=0, timeout=TIMEOUT):
        with self.cond:
            wait_until(lambda: any(pred(s) for s in self.signals[mark:]), timeout, self.cond, what)


# A child that runs D-Bus calls as another user and prints what happened as JSON: the kernel tells
# dbus-daemon (SO_PEERCRED) who is calling, so it has to be a separate process.
CHILD = r"""
import json, sys
from gi.repository import Gio, GLib
address, calls = sys.argv[1], json.loads(sys.argv[2])
conn = Gio.DBusConnection.new_for_address_sync(
    address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)
out = []
for c in calls:
    if c.get("sig") == "text":  # parameters in GVariant text form (JSON cannot carry a variant)
        params = GLib.Variant.parse(None, c["args"], None, None)
    else:
        params = GLib.Variant(c["sig"], tuple(c["args"])) if c.get("sig") else None
    try:
        v = conn.call_sync("org.memhotplug1", c["path"], c["iface"], c["method"], params, None,
                           Gio.DBusCallFlags.NONE, 20000, None)
        out.append({"ok": True, "value": repr(v.unpack() if v is not None else None)})
    except GLib.Error as e:
        name = Gio.DBusError.get_remote_error(e)
        Gio.DBusError.strip_remote_error(e)
        out.append({"ok": False, "error": name, "message": e.message})
print(json.dumps(out))
"""


def unprivileged_env(address):
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith(("UMOCKDEV", "MHP_", "DBUS_"))}
    env.update(DBUS_SYSTEM_BUS_ADDRESS=address, HOME="/nonexistent", LC_ALL="C.UTF-8")
    return env


def as_user(address, calls, user=UNPRIVILEGED):
    """Runs calls [(path, iface, method, sig, args)] as user; returns one dict per call. With sig
    "text", args is the parameter tuple in GVariant text form."""
    spec = [{"path": p, "iface": i, "method": m, "sig": s, "args": a} for p, i, m, s, a in calls]
    argv = ["setpriv", "--reuid=" + user[0], "--regid=" + user[1], "--clear-groups",
            "/usr/bin/python3", "-c", CHILD, address, json.dumps(spec)]
    out = subprocess.run(argv, env=unprivileged_env(address), cwd="/", capture_output=True, text=True,
                         timeout=60)
    check(out.returncode == 0, "the child as %s failed (%d): %s" % (user[0], out.returncode, out.stderr))
    results = json.loads(out.stdout)
    check(len(results) == len(calls), "child returned %d results for %d calls" % (len(results), len(calls)))
    return results


def start_slow_client(address, connections, calls, method="GetManagedObjects", user=UNPRIVILEGED):
    """slowclient.py as user: calls method (GetManagedObjects, or a Manager method without arguments)
    calls times on each connection and reads nothing. Returns the process and what it said it sent
    ({"sent": N})."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slowclient.py")
    proc = subprocess.Popen(["setpriv", "--reuid=" + user[0], "--regid=" + user[1], "--clear-groups",
                             "/usr/bin/python3", script, address, str(connections), str(calls), method],
                            env=unprivileged_env(address), cwd="/", stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline() or "{}")


def read_slow_client(proc):
    """Lets the slow client read its replies; returns what it got ({"replies", "errors", "pings"})."""
    proc.stdin.write("read\n")
    proc.stdin.flush()
    got = json.loads(proc.stdout.readline() or "{}")
    proc.wait(30)
    return got


def cpu_ticks(pid):
    """The process's user and system time, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_quiet(pid, quiet=2.0, timeout=120):
    """Waits until the process has used no CPU for quiet seconds: whatever it was asked, it is done."""
    deadline = time.monotonic() + timeout
    last, since = cpu_ticks(pid), time.monotonic()
    while time.monotonic() - since < quiet:
        check(time.monotonic() < deadline, "pid %d still busy after %ds" % (pid, timeout))
        time.sleep(0.2)
        now = cpu_ticks(pid)
        if now != last:
            last, since = now, time.monotonic()


def ctl(address, *args, user=None):
    """memhotplugctl against the private bus at address (as user, if given)."""
    argv = [CTL] + list(args)
    if user:
        argv = ["setpriv", "--reuid=" + user[0], "--regid=" + user[1], "--clear-groups"] + argv
    return subprocess.run(argv, env=unprivileged_env(address), cwd="/", capture_output=True, text=True,
                          timeout=60)


class BusSetup:
    """The base of a test's Setup: what it may hold (a private bus, a testbed, the daemon, a client),
    and close(), which ends whichever of them it has."""

    bus = bed = daemon = client = None

    def close(self):
        if self.daemon:
            self.daemon.kill()
        if self.client:
            self.client.close()
        if self.bed:
            self.bed.cleanup()
        if self.bus:
            self.bus.stop()
