#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The core calls no bus function: the bus subscribes to the core's outcomes (daemon/outcome.c).

Fails when a daemon/ file other than bus*.c and bus*.h includes "bus.h" or "bus-internal.h" or
calls (or declares) a bus_*() function. main.c and manager.c start and stop the bus, and only
that. Comments and string literals are not code and are left out, so a comment may name
bus_setup()."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import Tap  # noqa: E402

# The only ways into the bus from the rest of daemon/: what main.c and manager.c need to start it,
# stop it and print its interfaces.
ALLOWED_INCLUDES = {
    "main.c": {"bus.h"},
    "manager.c": {"bus.h"},
}
ALLOWED_CALLS = {
    "main.c": {"bus_introspect"},
    "manager.c": {"bus_setup", "bus_free"},
}
BUS_HEADERS = {"bus.h", "bus-internal.h"}

CODE = re.compile(
    r"""(?P<comment>/\*.*?\*/|//[^\n]*)|(?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')""",
    re.DOTALL,
)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)
CALL = re.compile(r"\b(bus_[A-Za-z0-9_]*)\s*\(")


def without_comments(text):
    """The text with comments blanked (newlines kept, for line numbers); strings stay, so that
    an #include's file name is still seen."""
    return CODE.sub(
        lambda mo: re.sub(r"[^\n]", " ", mo.group(0)) if mo.group("comment") else mo.group(0), text
    )


def without_strings(text):
    return CODE.sub(lambda mo: re.sub(r"[^\n]", " ", mo.group(0)), text)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def is_bus_file(name):
    return name.startswith("bus") and name.endswith((".c", ".h"))


def violations(name, text):
    """What is wrong with one daemon/ file, as "name:line: what" strings."""
    if is_bus_file(name):
        return []
    found = []
    code = without_comments(text)
    for mo in INCLUDE.finditer(code):
        header = mo.group(1)
        if header in BUS_HEADERS and header not in ALLOWED_INCLUDES.get(name, set()):
            found.append('%s:%d: includes "%s"' % (name, line_of(code, mo.start()), header))
    code = without_strings(text)
    for mo in CALL.finditer(code):
        func = mo.group(1)
        if func not in ALLOWED_CALLS.get(name, set()):
            found.append("%s:%d: calls %s()" % (name, line_of(code, mo.start()), func))
    return found


def self_check(tap):
    """The check itself can fail: each of these must be found, or must not be."""
    bad = {
        "an include of bus.h": ('#include "bus.h"\n', "onliner.c"),
        "an include of bus-internal.h": ('  #  include "bus-internal.h"\n', "manager.c"),
        "a bus call": ("static void f(Manager *m) { bus_emit_block_state(m, 1); }\n", "blocks.c"),
        "a call main.c is not allowed": ("int main(void) { bus_setup(NULL); }\n", "main.c"),
    }
    for desc, (text, name) in bad.items():
        tap.ok(bool(violations(name, text)), "self-check: finds %s in %s" % (desc, name))
    good = {
        "a comment naming bus_setup()": ("/* the bus subscribes at bus_setup() */\n", "outcome.h"),
        "a string naming bus_free()": ('log_debug("bus_free() ran");\n', "outcome.c"),
        "sd-bus and libcxl calls": ("sd_bus_flush(b); sym_cxl_bus_get_first(c);\n", "cxl.c"),
        "manager.c's bus_setup()": ('#include "bus.h"\nr = bus_setup(m);\n', "manager.c"),
        "a bus file": ('#include "bus-internal.h"\nbus_block_done(m, 1, 0);\n', "bus-signal.c"),
    }
    for desc, (text, name) in good.items():
        found = violations(name, text)
        tap.ok(not found, "self-check: lets %s in %s pass" % (desc, name), "\n".join(found))


def main():
    daemon_dir = sys.argv[1]
    tap = Tap()
    self_check(tap)
    names = sorted(n for n in os.listdir(daemon_dir) if n.endswith((".c", ".h")))
    tap.ok(
        "onliner.c" in names and "manager.c" in names,
        "%s holds the daemon's sources" % daemon_dir,
    )
    for name in names:
        with open(os.path.join(daemon_dir, name), encoding="utf-8") as f:
            found = violations(name, f.read())
        tap.ok(not found, "daemon/%s calls no bus function" % name, "\n".join(found))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
