#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian's headless chromium, driven through the Chrome DevTools Protocol with nothing but the
standard library: a WebSocket client (RFC 6455, client side: masked frames, no extensions) on the
page target's debugging socket, commands by id, events collected by a reader thread.

Only what the browser test needs: navigate, evaluate (waiting for a condition), real mouse clicks
and typed text through the Input domain, screenshots, and every console error, uncaught exception
and browser log error the page produced.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"


class CdpError(Exception):
    pass


def log_tail(path, size=3000):
    """The end of a helper's log file, for a failure's message."""
    try:
        with open(path, errors="replace") as f:
            return f.read()[-size:]
    except OSError:
        return ""


def end_process(proc):
    """SIGTERM, and SIGKILL if that takes 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class WebSocket:
    def __init__(self, host, port, path, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        # No Origin header: chromium then accepts the connection without --remote-allow-origins.
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise CdpError("the debugging socket closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise CdpError("no WebSocket upgrade: %r" % head[:200])
        self.sock.settimeout(None)
        self.send_lock = threading.Lock()

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def send(self, text, opcode=1):
        data = text.encode() if isinstance(text, str) else text
        head = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        with self.send_lock:
            self.sock.sendall(head + mask + body)

    def recv(self):
        """One whole text message (fragments joined); answers pings; None once closed."""
        parts = []
        while True:
            b0, b1 = self._recv_exact(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._recv_exact(8))[0]
            mask = self._recv_exact(4) if b1 & 0x80 else None
            data = self._recv_exact(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 8:
                return None
            if opcode == 9:
                self.send(data, opcode=10)
                continue
            if opcode == 10:
                continue
            parts.append(data)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Browser:
    """A headless chromium with one page, its DevTools connection and what the page logged."""

    def __init__(self, width=1280, height=900, env=None, preexec_fn=None):
        self.profile = tempfile.mkdtemp(prefix="memhotplugd-chromium.")
        self.width = width
        argv = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--password-store=basic",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
                "--force-device-scale-factor=1", "about:blank"]
        self.log_path = os.path.join(self.profile, "chromium.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=preexec_fn)
        self.cond = threading.Condition()
        self.replies = {}
        self.events = []
        self.next_id = 0
        self.ws = None
        try:
            port = self._port()
            targets = self._json(port, "/json/list")
            page = next(t for t in targets if t.get("type") == "page")
            path = page["webSocketDebuggerUrl"].split(str(port), 1)[1]
            self.ws = WebSocket("127.0.0.1", port, path)
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
            for domain in ("Runtime", "Log", "Page"):
                self.call(domain + ".enable")
        except BaseException:
            self.close()
            raise

    def _port(self, timeout=60):
        """chromium writes its debugging port to DevToolsActivePort in the profile once it listens."""
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError("chromium exited (%s): %s" % (self.proc.returncode, self.chromium_log()))
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except FileNotFoundError:
                pass
            time.sleep(0.1)
        raise CdpError("chromium did not open its debugging port in %ds: %s" % (timeout, self.chromium_log()))

    @staticmethod
    def _json(port, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=30) as r:
            return json.load(r)

    def chromium_log(self):
        return log_tail(self.log_path)

    def _read(self):
        while True:
            try:
                text = self.ws.recv()
            except (OSError, EOFError):
                text = None
            with self.cond:
                if text is None:
                    self.replies[None] = "closed"
                    self.cond.notify_all()
                    return
                msg = json.loads(text)
                if "id" in msg:
                    self.replies[msg["id"]] = msg
                else:
                    self.events.append(msg)
                self.cond.notify_all()

    def call(self, method, timeout=60, **params):
        with self.cond:
            self.next_id += 1
            mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        with self.cond:
            while mid not in self.replies:
                if None in self.replies:
                    raise CdpError("the DevTools connection closed during %s" % method)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CdpError("%s: no answer in %ds" % (method, timeout))
                self.cond.wait(left)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise CdpError("%s: %s" % (method, reply["error"]))
        return reply.get("result", {})

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def evaluate(self, expression):
        """The value of a JavaScript expression (awaited if a promise); raises on an exception."""
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError("%s: %s" % (expression[:80], d.get("exception", {}).get("description", d.get("text"))))
        return r["result"].get("value")

    def wait(self, expression, what, timeout=60):
        """Waits for a JavaScript expression to be truthy (a condition, never a fixed time); returns it."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
            except CdpError as e:  # the page may be between documents
                last = e
            if time.monotonic() > deadline:
                raise CdpError("timed out after %ds waiting for %s%s" % (timeout, what, " (%s)" % last if last else ""))
            time.sleep(0.1)

    def click(self, selector):
        """A real click (mouse pressed and released at the element's centre), as a user's."""
        box = self.evaluate("(() => { const e = document.querySelector(%s); if (!e) return null;"
                            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                            " return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector))
        if not box:
            raise CdpError("nothing matches %s" % selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type(self, selector, text):
        """Focuses an input and types text into it."""
        self.evaluate("document.querySelector(%s).focus()" % json.dumps(selector))
        self.call("Input.insertText", text=text)

    def screenshot(self, path):
        """The whole page (not only the window) as a PNG."""
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": self.width, "height": max(size["height"], 100), "scale": 1})
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data["data"]))

    def errors(self):
        """Every console error, uncaught exception and browser log error so far, as text."""
        out = []
        with self.cond:
            events = list(self.events)
        for e in events:
            p = e.get("params", {})
            if e.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description")))
                                                                   for a in p.get("args", []))))
            elif e.get("method") == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: %s" % d.get("exception", {}).get("description", d.get("text")))
            elif e.get("method") == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                entry = p["entry"]
                out.append("log (%s): %s %s" % (entry.get("source"), entry.get("text"), entry.get("url", "")))
        return out

    def close(self):
        if self.ws:
            self.ws.close()
        end_process(self.proc)
        shutil.rmtree(self.profile, ignore_errors=True)
