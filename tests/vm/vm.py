#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boot a real kernel in QEMU (TCG) and drive memory hotplug in it.

Standard library only, so it runs with Debian's /usr/bin/python3 and nothing
installed. The pieces:

  QMP       a minimal QMP client on a unix socket (hot-add, virtio-mem resize)
  VM        one QEMU process: builds the command line from a few options,
            records the serial console, talks to the guest agent (see
            guest-init) over a virtio-serial port, and always kills QEMU:
            on context exit, at interpreter exit, on SIGTERM, after a wall
            clock limit, and (PR_SET_PDEATHSIG) when this process dies.

Typical use:

    with VM(dimms=[Dimm("2G")]) as vm:
        print(vm.run("cat /proc/meminfo"))
        vm.hotplug_dimm("1G")
"""

import atexit
import base64
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("MEMHOTPLUGD_VM_CACHE", "/var/cache/memhotplugd-vm")
QEMU = os.environ.get("MEMHOTPLUGD_VM_QEMU", "qemu-system-x86_64")
# Which of get-kernel's kernels a VM boots when it names none: unset is get-kernel's default
# (6.12). The runners' --kernel sets it, so every VM of a run, and every helper that asks
# kernel_dir(), boots the same one.
KERNEL_ENV = "MEMHOTPLUGD_VM_KERNEL"

GiB = 1 << 30
MiB = 1 << 20
KiB = 1 << 10


class VMError(Exception):
    pass


def parse_size(s):
    """'2G', '512M', '128K' or an int -> bytes."""
    if isinstance(s, int):
        return s
    m = re.fullmatch(r"(\d+)([KMGT]?)", s.strip().upper())
    if not m:
        raise ValueError(f"bad size {s!r}")
    return int(m.group(1)) * {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": GiB << 10}[m.group(2)]


# ---------------------------------------------------------------- kernel/initramfs

def kernel_dir(version=None):
    """The extracted Debian kernel package (get-kernel prints it): VERSION's, else the one
    $MEMHOTPLUGD_VM_KERNEL names, else get-kernel's default."""
    version = version or os.environ.get(KERNEL_ENV)
    cmd = [os.path.join(HERE, "get-kernel")] + (["--version", version] if version else [])
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1]


def select_kernel(version):
    """Makes VERSION (a get-kernel --version) the kernel of every VM this process starts."""
    if version:
        os.environ[KERNEL_ENV] = version


def kernel_image(kdir):
    boot = os.path.join(kdir, "boot")
    images = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))
    if not images:
        raise VMError(f"no vmlinuz in {boot}")
    return os.path.join(boot, images[-1])


def build_initramfs(output, kdir, binaries=(), files=()):
    """binaries/files: (host path, guest path) pairs added over the base."""
    cmd = [os.path.join(HERE, "mkinitramfs"), "--kernel", kdir, "--output", output]
    for src, dest in binaries:
        cmd += ["--bin", f"{src}:{dest}"]
    for src, dest in files:
        cmd += ["--file", f"{src}:{dest}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return output


# ---------------------------------------------------------------- QMP

class QMP:
    """Just enough QMP: greeting, capabilities, execute, remember events."""

    def __init__(self, path, timeout=30):
        self.events = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise VMError(f"QMP socket {path} never came up")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rb")
        greeting = self._read()
        if "QMP" not in greeting:
            raise VMError(f"unexpected QMP greeting {greeting}")
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise VMError("QMP connection closed")
        return json.loads(line)

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise VMError(f"QMP {command} {arguments}: {reply['error']}")
            return reply.get("return")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- devices

@dataclass
class Dimm:
    size: str = "1G"
    node: int = None


@dataclass
class VirtioMem:
    size: str = "4G"          # the device's maximum
    requested: str = "0"      # plugged at boot
    node: int = None
    block_size: str = None


@dataclass
class Nvdimm:
    size: str = "1G"          # usable size; the backing file adds the label area
    node: int = None


@dataclass
class Cxl:
    """A CXL type-3 memory expander with volatile memory, behind its own host bridge
    (pxb-cxl), root port and a 4 GiB fixed memory window (CFMWS), so each device can carry a
    one-way region of its own. The guest sees memN with this serial; no region exists until
    the guest makes one (tests/vm/cxl-region)."""
    size: str = "512M"
    serial: int = None        # default 0x4d4850000 + index


# Every live VM, so atexit/SIGTERM can kill what a crash left behind.
_live = set()
# Reentrant: a second SIGTERM can arrive while the first one's handler holds it.
_live_lock = threading.RLock()


def _kill_all():
    with _live_lock:
        vms = list(_live)
    for vm in vms:
        vm.kill()


atexit.register(_kill_all)


def _on_sigterm(signum, frame):
    # meson test sends SIGTERM on timeout: unwind so context managers run.
    _kill_all()
    raise SystemExit(128 + signum)


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _on_sigterm)


def _remove_stale_tmpdirs():
    """A harness killed by SIGKILL leaves its sockets and NVDIMM images in
    mhp-vm.<pid>.*; remove those whose pid is gone."""
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        parts = entry.split(".")
        if len(parts) != 3 or parts[0] != "mhp-vm" or not parts[1].isdigit():
            continue
        if not os.path.exists(f"/proc/{parts[1]}"):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)


def _set_pdeathsig():
    # Runs in the child before exec: QEMU gets SIGKILL if we die, even by
    # SIGKILL, so no VM can outlive the harness.
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# ---------------------------------------------------------------- the VM

class VM:
    def __init__(self, *, memory="1G", slots=8, maxmem="16G", smp=2,
                 numa_nodes=0, dimms=(), virtio_mem=(), nvdimms=(), cxl=(),
                 auto_online=False, cmdline=(), binaries=(), files=(),
                 timeout=300, boot_timeout=120, name="vm", log_dir=None,
                 verbose=False, qemu_extra=()):
        """
        numa_nodes:  0 for no NUMA topology, else N nodes sharing `memory`.
        auto_online: False boots with memhp_default_state=offline; True keeps
                     the kernel's own default (online for Debian's kernel); a
                     string is passed as memhp_default_state.
        binaries:    (host path, guest path) added to the initramfs.
        cxl:         Cxl devices; they need QEMU 8+ (volatile-memdev, get-kernel installs
                     bookworm-backports' QEMU) and make the machine q35 with cxl=on and the
                     CPU without the hypervisor bit (6.12 refuses to commit a CXL region
                     while it sees a hypervisor; TCG emulates the cache flush it needs).
        timeout:     hard wall-clock limit for the whole VM.
        qemu_extra:  more QEMU arguments, appended as given.
        """
        self.memory = parse_size(memory)
        self.slots, self.maxmem, self.smp = slots, maxmem, smp
        self.numa_nodes = numa_nodes
        self.dimms = list(dimms)
        self.virtio_mem = list(virtio_mem)
        self.nvdimms = list(nvdimms)
        self.cxl = list(cxl)
        self.auto_online = auto_online
        self.extra_cmdline = list(cmdline)
        self.binaries, self.files = list(binaries), list(files)
        self.qemu_extra = list(qemu_extra)
        self.timeout, self.boot_timeout = timeout, boot_timeout
        self.name = name
        self.verbose = verbose
        self.log_dir = log_dir
        self.proc = None
        self.qmp = None
        self.agent = None
        self.console = []           # (monotonic time, line)
        self.console_lock = threading.Condition()
        self._hotplug_count = 0
        self._watchdog = None
        self.boot_seconds = None
        self.tcg_thread = os.environ.get("MEMHOTPLUGD_VM_TCG_THREAD", "single")
        _remove_stale_tmpdirs()
        self.tmp = tempfile.mkdtemp(prefix=f"mhp-vm.{os.getpid()}.")

    # -- command line

    def _node_arg(self, node):
        return f",node={node}" if node is not None else ""

    def qemu_args(self, kernel, initrd):
        machine = "pc,nvdimm=on" if self.nvdimms else "pc"
        cpu = "max"
        if self.cxl:
            machine = "q35,cxl=on" + (",nvdimm=on" if self.nvdimms else "")
            cpu = "max,hypervisor=off"
            for i in range(len(self.cxl)):
                machine += f",cxl-fmw.{i}.targets.0=cxl.{i + 1},cxl-fmw.{i}.size=4G"
        args = [QEMU, "-accel", f"tcg,thread={self.tcg_thread}", "-cpu", cpu, "-M", machine,
                "-m", f"{self.memory // MiB}M,slots={self.slots},maxmem={self.maxmem}",
                "-smp", str(self.smp),
                "-nographic", "-nodefaults", "-no-reboot", "-monitor", "none",
                "-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
                "-qmp", f"unix:{self.tmp}/qmp.sock,server=on,wait=off",
                "-chardev", f"socket,id=agent,path={self.tmp}/agent.sock,server=on,wait=off",
                "-device", "virtio-serial-pci,id=vser0",
                "-device", "virtserialport,bus=vser0.0,chardev=agent,name=mhp.agent",
                "-kernel", kernel, "-initrd", initrd, "-append", self.kernel_cmdline()]
        if self.numa_nodes:
            per_node = self.memory // self.numa_nodes
            for n in range(self.numa_nodes):
                cpus = f",cpus={n}" if n < self.smp else ""
                args += ["-object", f"memory-backend-ram,id=ram{n},size={per_node}",
                         "-numa", f"node,nodeid={n}{cpus},memdev=ram{n}"]
        for i, d in enumerate(self.dimms):
            args += ["-object", f"memory-backend-ram,id=mem{i},size={parse_size(d.size)}",
                     "-device", f"pc-dimm,id=dimm{i},memdev=mem{i}{self._node_arg(d.node)}"]
        for i, v in enumerate(self.virtio_mem):
            bs = f",block-size={v.block_size}" if v.block_size else ""
            args += ["-object", f"memory-backend-ram,id=vmem{i},size={parse_size(v.size)}",
                     "-device", f"virtio-mem-pci,id=vm{i},memdev=vmem{i},"
                                f"requested-size={parse_size(v.requested)}{bs}"
                                f"{self._node_arg(v.node)}"]
        for i, nv in enumerate(self.nvdimms):
            # The label area lives at the end of the backing file, so the
            # file is the usable size plus label-size.
            path = os.path.join(self.tmp, f"nvdimm{i}.img")
            total = parse_size(nv.size) + 128 * KiB
            with open(path, "wb") as f:
                f.truncate(total)
            args += ["-object", f"memory-backend-file,id=nvm{i},share=on,"
                                f"mem-path={path},size={total}",
                     "-device", f"nvdimm,id=nvdimm{i},memdev=nvm{i},label-size=128K"
                                f"{self._node_arg(nv.node)}"]
        for i, c in enumerate(self.cxl):
            serial = self.cxl_serial(i)
            args += ["-object", f"memory-backend-ram,id=cxlmem{i},size={parse_size(c.size)}",
                     "-device", f"pxb-cxl,bus_nr={12 + 40 * i},bus=pcie.0,id=cxl.{i + 1}",
                     "-device", f"cxl-rp,port=0,bus=cxl.{i + 1},id=cxlrp{i},chassis=0,"
                                f"slot={i + 2}",
                     "-device", f"cxl-type3,bus=cxlrp{i},volatile-memdev=cxlmem{i},"
                                f"id=cxl-vmem{i},sn={serial}"]
        return args + self.qemu_extra

    def cxl_serial(self, index):
        c = self.cxl[index]
        return c.serial if c.serial is not None else 0x4D4850000 + index

    def kernel_cmdline(self):
        # cryptomgr.notests saves ~2 s of emulated crypto self-tests per boot.
        args = ["console=ttyS0", "panic=-1", "loglevel=4", "edd=off", "cryptomgr.notests",
                "no_timer_check", "tsc=reliable", "random.trust_cpu=on"]
        if self.auto_online is False:
            args.append("memhp_default_state=offline")
        elif isinstance(self.auto_online, str):
            args.append(f"memhp_default_state={self.auto_online}")
        return " ".join(args + self.extra_cmdline)

    # -- lifecycle

    def start(self, boot_attempts=2):
        kdir = kernel_dir()
        initrd = build_initramfs(os.path.join(self.tmp, "initramfs.cpio"), kdir,
                                 self.binaries, self.files)
        return self.boot(kernel_image(kdir), initrd, boot_attempts)

    def boot(self, kernel, initrd, boot_attempts=2):
        """Starts QEMU on kernel and initrd; a guest kernel panic at boot earns another try."""
        args = self.qemu_args(kernel, initrd)
        if self.verbose:
            print("# " + " ".join(args), file=sys.stderr)
        for attempt in range(1, boot_attempts + 1):
            try:
                self._launch(args)
                return self
            except VMError:
                # Multi-threaded TCG can, rarely, crash the guest kernel while
                # it patches its own code at boot. That is the emulator, not
                # the code under test: boot once more. Anything else is real.
                if attempt == boot_attempts or "Kernel panic" not in self.console_text():
                    raise
                print(f"# {self.name}: guest kernel panicked while booting, retrying",
                      file=sys.stderr)
                self._save_log(suffix=f".attempt{attempt}")
                self._teardown()

    def _launch(self, args):
        for sock in ("qmp.sock", "agent.sock"):
            if os.path.exists(os.path.join(self.tmp, sock)):
                os.unlink(os.path.join(self.tmp, sock))
        self.console = []
        t0 = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=_set_pdeathsig)
        with _live_lock:
            _live.add(self)
        self._watchdog = threading.Timer(self.timeout, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        threading.Thread(target=self._read_console, args=(self.proc, self.console),
                         daemon=True).start()
        self.qmp = QMP(f"{self.tmp}/qmp.sock")
        self._connect_agent()
        self._wait_ready(t0)
        self.boot_seconds = time.monotonic() - t0

    def _expire(self):
        print(f"# {self.name}: wall-clock limit {self.timeout}s reached, killing QEMU",
              file=sys.stderr)
        self.kill()

    def kill(self):
        """Idempotent, safe from any thread or signal handler."""
        if self._watchdog:
            self._watchdog.cancel()
        p = self.proc
        if p and p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        with _live_lock:
            _live.discard(self)

    def stop(self):
        """Ask QEMU to quit, then make sure it has."""
        if self.proc and self.proc.poll() is None and self.qmp:
            try:
                self.qmp.execute("quit")
                self.proc.wait(timeout=10)
            except (VMError, OSError, subprocess.TimeoutExpired):
                pass
        self._teardown()
        self._save_log()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _teardown(self):
        self.kill()
        for c in (self.qmp, self.agent):
            if c:
                try:
                    c.close()
                except OSError:
                    pass
        self.qmp = self.agent = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- serial console

    def _read_console(self, proc, console):
        # Bound to one QEMU process and its list, so a retried boot's reader
        # cannot mix into the next attempt's log.
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            with self.console_lock:
                console.append((time.monotonic(), line))
                self.console_lock.notify_all()
            if self.verbose:
                print(f"# [{self.name}] {line}", file=sys.stderr)
        with self.console_lock:
            self.console_lock.notify_all()

    def console_text(self):
        with self.console_lock:
            return "\n".join(line for _, line in self.console)

    def console_tail(self, n=40):
        with self.console_lock:
            return "\n".join(line for _, line in self.console[-n:])

    def wait_console(self, pattern, timeout=60):
        """Wait for a console line matching the regex; return the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self.console_lock:
            while True:
                for _, line in self.console[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.console)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise VMError(f"console never showed /{pattern}/")
                self.console_lock.wait(min(left, 0.5))

    def _save_log(self, suffix=""):
        if not self.log_dir:
            return
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, f"{self.name}{suffix}.console.log"), "w") as f:
            f.write(self.console_text() + "\n")

    # -- guest agent

    def _connect_agent(self):
        path = f"{self.tmp}/agent.sock"
        deadline = time.monotonic() + 30
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise VMError("agent socket never came up")
                time.sleep(0.05)
        self.agent = s
        self._agent_buf = b""

    def _agent_line(self, deadline):
        """Next line from the agent, or VMError at the deadline/QEMU exit."""
        while b"\n" not in self._agent_buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise VMError("timed out waiting for the guest agent")
            if self.proc.poll() is not None:
                raise VMError(f"QEMU exited ({self.proc.returncode})")
            self.agent.settimeout(min(left, 1.0))
            try:
                chunk = self.agent.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise VMError("agent connection closed")
            self._agent_buf += chunk
        line, _, self._agent_buf = self._agent_buf.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    def _wait_ready(self, t0):
        deadline = t0 + self.boot_timeout
        try:
            while self._agent_line(deadline) != "@@READY":
                pass
        except VMError as e:
            raise VMError(f"{self.name}: guest did not come up: {e}\n"
                          f"--- console tail ---\n{self.console_tail()}") from None

    def run(self, script, timeout=60, check=True):
        """Run a sh script in the guest; return (exit status, output).

        With check=True a non-zero status raises VMError carrying the output.
        """
        cmd_id = secrets.token_hex(6)
        payload = base64.b64encode(script.encode()).decode()
        self.agent.sendall(f"{cmd_id} {payload}\n".encode())
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._agent_line(deadline)
            except VMError as e:
                raise VMError(f"{self.name}: running {script!r}: {e}") from None
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[0] == "@@R" and parts[1] == cmd_id:
                rc = int(parts[2])
                out = base64.b64decode(parts[3]).decode(errors="replace") if len(parts) > 3 else ""
                if check and rc != 0:
                    raise VMError(f"{self.name}: {script!r} exited {rc}:\n{out}")
                return rc, out

    def sh(self, script, timeout=60):
        """Run and return the output; raise on failure."""
        return self.run(script, timeout=timeout)[1]

    def write_file(self, path, content, mode="644"):
        b64 = base64.b64encode(content.encode()).decode()
        self.sh(f"mkdir -p $(dirname {path}) && echo {b64} | base64 -d > {path} && chmod {mode} {path}")

    # -- hotplug via QMP

    def hotplug_dimm(self, size, node=None, reserve=True):
        """object-add + device_add a pc-dimm; returns its device id. reserve=False maps the
        backend with MAP_NORESERVE: a DIMM larger than the host's RAM, of which the guest
        touches little (its memmap, with memory_hotplug.memmap_on_memory=1)."""
        self._hotplug_count += 1
        i = self._hotplug_count
        backend = {"qom-type": "memory-backend-ram", "id": f"hpmem{i}", "size": parse_size(size)}
        if not reserve:
            backend["reserve"] = False
        self.qmp.execute("object-add", **backend)
        dev = {"driver": "pc-dimm", "id": f"hpdimm{i}", "memdev": f"hpmem{i}"}
        if node is not None:
            dev["node"] = node
        self.qmp.execute("device_add", **dev)
        return f"hpdimm{i}"

    def set_virtio_mem(self, index, requested):
        self.qmp.execute("qom-set", path=f"/machine/peripheral/vm{index}",
                         property="requested-size", value=parse_size(requested))

    def virtio_mem_size(self, index):
        return self.qmp.execute("qom-get", path=f"/machine/peripheral/vm{index}",
                                property="size")

    # -- guest state helpers

    def acpi_memory_device(self, blocks):
        """The PNP0C80 device (a DIMM) whose physical_node links are exactly these blocks."""
        out = self.sh("for d in /sys/bus/acpi/devices/PNP0C80:*; do for l in $d/physical_node*; do "
                      "[ -e $l ] && echo ${d##*/} $(basename $(readlink $l)); done; done; true")
        owners = {}
        for line in out.splitlines():
            name, block = line.split()
            owners.setdefault(name, set()).add(int(block[len("memory"):]))
        for name, owned in owners.items():
            if owned == set(blocks):
                return name
        raise VMError(f"no PNP0C80 device owns exactly {blocks}: {owners}")

    def blocks(self):
        """{block number: {'state', 'zones', 'node'}} for every memory block."""
        # Builtins only: under TCG every fork costs milliseconds, and this
        # runs in polling loops over dozens of blocks. valid_zones of an
        # offline block is read only once its node link is there: before,
        # Linux 6.12 oopses in the read (NODE_DATA(NUMA_NO_NODE)) and kills
        # the reader, which a poll during a large hot-add runs into.
        # A block removed while the loop runs (an unplug) is left out, not misread.
        out = self.sh(
            "cd /sys/devices/system/memory && for b in memory*; do "
            "{ read s < $b/state; } 2>/dev/null || continue; "
            "n=-; for l in $b/node*; do [ -e $l ] && n=${l##*node}; done; "
            "z=-; { [ $n != - ] || [ $s = online ]; } && [ -e $b/valid_zones ] && "
            "{ read -r z < $b/valid_zones; } 2>/dev/null; "
            "echo ${b#memory} $s $n $z; done")
        result = {}
        for line in out.splitlines():
            num, state, node, zones = (line.split(" ", 3) + ["-", "-", "-"])[:4]
            if not num.isdigit() or not (node == "-" or node.isdigit()):
                continue
            result[int(num)] = {"state": state,
                                "node": None if node == "-" else int(node),
                                "zones": [] if zones == "-" else zones.split()}
        return result

    def block_size(self):
        return int(self.sh("cat /sys/devices/system/memory/block_size_bytes").strip(), 16)

    def meminfo(self, key="MemTotal"):
        """A /proc/meminfo value in bytes."""
        out = self.sh(f"grep '^{key}:' /proc/meminfo")
        return int(out.split()[1]) * KiB

    # -- optional guest services

    def start_udevd(self):
        """systemd-udevd in the guest, with the current devices replayed."""
        self.sh("mkdir -p /run/udev && /usr/lib/systemd/systemd-udevd --daemon "
                "&& udevadm trigger --action=add && udevadm settle -t 30", timeout=60)

    def start_dbus(self):
        """A system bus; put bus policy files in /usr/share/dbus-1/system.d first."""
        self.sh("mkdir -p /run/dbus && dbus-daemon --system --fork")

    def wait_until(self, predicate, timeout=60, interval=0.5, what="condition"):
        """Poll predicate() (host side) until truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise VMError(f"{self.name}: timed out waiting for {what}")
            time.sleep(interval)


# ---------------------------------------------------------------- command line

def _device(spec, cls):
    """'2G' or '2G@1' (size on node 1)."""
    size, _, node = spec.partition("@")
    return cls(size, node=int(node)) if node else cls(size)


def main(argv=None):
    """Boot a VM, run one command in it, print its output, stop the VM.

    For poking at the kernel by hand, e.g.
      vm.py --dimm 2G --bin build/daemon/memhotplugd:/usr/sbin/memhotplugd -- \\
          'memhotplugd --once --log-target stderr; cat /proc/meminfo'
    """
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    ap.add_argument("--dimm", action="append", default=[], help="SIZE[@NODE], coldplugged")
    ap.add_argument("--virtio-mem", action="append", default=[], help="SIZE[@NODE] (max size)")
    ap.add_argument("--nvdimm", action="append", default=[], help="SIZE[@NODE]")
    ap.add_argument("--numa", type=int, default=0, help="number of guest NUMA nodes")
    ap.add_argument("--auto-online", action="store_true", help="keep the kernel's auto-online")
    ap.add_argument("--append", action="append", default=[], help="extra kernel argument")
    ap.add_argument("--bin", action="append", default=[], help="HOST:GUEST binary to add")
    ap.add_argument("--kernel", help="get-kernel --version to boot (default 6.12)")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo the console")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args(argv)
    select_kernel(args.kernel)
    vm = VM(dimms=[_device(d, Dimm) for d in args.dimm],
            virtio_mem=[_device(d, VirtioMem) for d in args.virtio_mem],
            nvdimms=[_device(d, Nvdimm) for d in args.nvdimm],
            numa_nodes=args.numa, auto_online=args.auto_online, cmdline=args.append,
            binaries=[tuple(b.split(":", 1)) for b in args.bin], verbose=args.verbose,
            name="cli")
    with vm:
        print(f"# booted in {vm.boot_seconds:.1f}s", file=sys.stderr)
        rc, out = vm.run(" ".join(args.command), timeout=600, check=False)
        sys.stdout.write(out)
    return rc


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.exit(main())
