#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A D-Bus client that calls and does not read: it speaks the wire protocol on a plain socket (every
D-Bus library reads its socket on a thread or in its main loop, and answers Peer.Ping by itself), so
the daemon's replies stay in dbus-daemon's queue for it, charged to the daemon's connection.

Usage: slowclient.py ADDRESS CONNECTIONS CALLS [METHOD]

On CONNECTIONS connections it sends CALLS calls each (METHOD: GetManagedObjects, the default, or an
interface-qualified Manager method such as Plan), prints {"sent": N} and waits for a line on stdin;
then it reads its sockets, answering the daemon's pings, until every call has its reply or error,
(or until nothing came for 3 s) and prints {"replies": N, "errors": {name: count}, "pings": N,
"unanswered": N}. Run it as the user to test (the
kernel tells dbus-daemon who is calling).
"""

import json
import os
import select
import socket
import struct
import sys
import time

IDLE = 3.0  # seconds without a message after which the calls still unanswered stay so

def pad(buf, align):
    return buf + b"\0" * (-len(buf) % align)


def string(code, value):
    """A header field (y v) with a string-like value: o and s have a 32-bit length, g one byte."""
    b = value.encode()
    field = struct.pack("<B", code) + struct.pack("<B", 1) + code_sig(code) + b"\0"
    if code_sig(code) == b"g":
        return field + struct.pack("<B", len(b)) + b + b"\0"
    field = pad(field, 4)
    return field + struct.pack("<I", len(b)) + b + b"\0"


def code_sig(code):
    return {1: b"o", 2: b"s", 3: b"s", 4: b"s", 6: b"s", 7: b"s", 8: b"g"}[code]


def message(serial, mtype, fields, flags=0):
    """A message with no body; fields: [(code, value)] of string-like header fields, or (5, serial)."""
    array = b""
    for code, value in fields:
        array = pad(array, 8)
        if code == 5:  # REPLY_SERIAL, u
            array += struct.pack("<BB", 5, 1) + b"u\0" + struct.pack("<I", value)
        else:
            array += string(code, value)
    head = struct.pack("<cBBBIII", b"l", mtype, flags, 1, 0, serial, len(array))
    return pad(head + array, 8)


def call(serial, dest, path, iface, member):
    return message(serial, 1, [(1, path), (2, iface), (3, member), (6, dest)])


def connect(address):
    assert address.startswith("unix:path=")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(address[len("unix:path="):].split(",")[0])
    s.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        line += s.recv(1)
    if not line.startswith(b"OK"):
        raise RuntimeError("auth: %r" % line)
    s.sendall(b"BEGIN\r\n")
    s.sendall(call(1, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello"))
    return s


def parse_fields(buf):
    """{code: value} of a little-endian header field array."""
    out, i = {}, 0
    while i < len(buf):
        i += -i % 8
        code, slen = buf[i], buf[i + 1]
        sig = buf[i + 2:i + 2 + slen].decode()
        i += 3 + slen
        if sig == "u":
            i += -i % 4
            out[code] = struct.unpack_from("<I", buf, i)[0]
            i += 4
        elif sig in ("s", "o"):
            i += -i % 4
            n = struct.unpack_from("<I", buf, i)[0]
            out[code] = buf[i + 4:i + 4 + n].decode()
            i += 5 + n
        elif sig == "g":
            n = buf[i]
            out[code] = buf[i + 1:i + 1 + n].decode()
            i += 2 + n
        else:
            raise RuntimeError("header field of type %s" % sig)
    return out


class Reader:
    def __init__(self, sock):
        self.sock, self.buf, self.serial = sock, b"", 1000000

    def messages(self):
        """The complete messages read so far: (type, serial, header fields)."""
        while True:
            if len(self.buf) < 16:
                return
            endian, mtype, _, _, body, serial, flen = struct.unpack_from("<cBBBIII", self.buf)
            if endian != b"l":
                raise RuntimeError("big-endian message")
            total = 16 + flen + (-flen % 8) + body
            if len(self.buf) < total:
                return
            fields = parse_fields(self.buf[16:16 + flen])
            self.buf = self.buf[total:]
            yield mtype, serial, fields


def main():
    address, conns, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    method = sys.argv[4] if len(sys.argv) > 4 else "GetManagedObjects"
    if method == "GetManagedObjects":
        iface = "org.freedesktop.DBus.ObjectManager"
    else:
        iface, method = "org.memhotplug1.Manager", method
    socks = [connect(address) for _ in range(conns)]
    for s in socks:
        s.setblocking(False)
    # Sent without reading: a socket whose send buffer is full is written again once the
    # others had their turn (dbus-daemon reads its clients even while it cannot deliver to them).
    pending = {s: b"".join(call(2 + k, "org.memhotplug1", "/org/memhotplug1", iface, method)
                           for k in range(calls)) for s in socks}
    deadline = time.monotonic() + 120
    while any(pending.values()) and time.monotonic() < deadline:
        for s, data in pending.items():
            if data:
                try:
                    pending[s] = data[s.send(data):]
                except BlockingIOError:
                    pass
        select.select([], [s for s, d in pending.items() if d], [], 0.1)
    print(json.dumps({"sent": conns * calls - sum(len(d) > 0 for d in pending.values())}), flush=True)
    sys.stdin.readline()

    replies, errors, pings = 0, {}, 0
    readers = {s: Reader(s) for s in socks}
    want = conns * calls
    deadline = time.monotonic() + 120
    idle_since = time.monotonic()
    # Until every call is answered, or nothing came for IDLE seconds after the last message: a
    # daemon may leave a call of a client that does not read unanswered.
    while replies + sum(errors.values()) < want and time.monotonic() < deadline:
        if time.monotonic() - idle_since > IDLE:
            break
        ready, _, _ = select.select(socks, [], [], 0.5)
        if ready:
            idle_since = time.monotonic()
        for s in ready:
            r = readers[s]
            try:
                chunk = s.recv(1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise RuntimeError("disconnected")
            r.buf += chunk
            for mtype, their_serial, fields in list(r.messages()):
                serial = fields.get(5, 0)
                if mtype == 1 and fields.get(3) == "Ping":  # the daemon asks whether we read
                    pings += 1
                    r.serial += 1
                    s.setblocking(True)
                    s.sendall(message(r.serial, 2, [(5, their_serial), (6, fields[7])], flags=1))
                    s.setblocking(False)
                elif mtype == 2 and serial >= 2:
                    replies += 1
                elif mtype == 3 and serial >= 2:
                    errors[fields.get(4, "?")] = errors.get(fields.get(4, "?"), 0) + 1
    unanswered = want - replies - sum(errors.values())
    print(json.dumps({"replies": replies, "errors": errors, "pings": pings, "unanswered": unanswered}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
