#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The core calls no bus function: the bus subscribes to the core's outcomes (daemon/outcome.c).
And every "look again in a moment" goes through the one timer helper (daemon/event-util.c).

Fails when a daemon/ file other than bus*.c and bus*.h includes "bus.h" or "bus-internal.h" or
calls (or declares) a bus_*() function. main.c and manager.c start and stop the bus, and only
that. Fails too when a daemon/ file other than event-util.c makes or sets an sd-event time source
itself (sd_event_add_time(), sd_event_add_time_relative(), sd_event_source_set_time*()): each
such site once had its own arm and re-arm code. Comments and string literals are not code and are
left out, so a comment may name bus_setup().

And no daemon/ file searches a reason's text (strstr(), strchr(), strrchr(), strncmp(), memmem()
on an expression naming "reason"): a decision carries its facts (policy.h, Decision), and its text
is made of them only where it leaves the process; searching it for what decided once stood in for
those facts."""

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
# The one file that makes and arms time sources: the Timer and event_add_later().
TIMER_FILES = {"event-util.c"}

CODE = re.compile(
    r"""(?P<comment>/\*.*?\*/|//[^\n]*)|(?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')""",
    re.DOTALL,
)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)
CALL = re.compile(r"\b(bus_[A-Za-z0-9_]*)\s*\(")
TIME_CALL = re.compile(
    r"\b(sd_event_add_time(?:_relative)?|sd_event_source_set_time(?:_relative|_accuracy)?)\s*\("
)

TEXT_SEARCH = re.compile(r"\b(strstr|strchr|strrchr|strncmp|memmem)\s*\(")
REASON = re.compile(r"reason", re.IGNORECASE)


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


def timer_violations(name, text):
    """Time sources one daemon/ file makes or sets itself, as "name:line: what" strings."""
    if name in TIMER_FILES:
        return []
    code = without_strings(text)
    return [
        "%s:%d: calls %s(): use event-util.h" % (name, line_of(code, mo.start()), mo.group(1))
        for mo in TIME_CALL.finditer(code)
    ]


def call_arguments(code, start):
    """The text between the parenthesis at start and the one that closes it."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                return code[start + 1 : i]
    return code[start + 1 :]


def reason_search_violations(name, text):
    """Searches of a reason's text in one daemon/ file, as "name:line: what" strings."""
    code = without_strings(text)
    return [
        "%s:%d: %s() on a reason: ask the Decision's facts"
        % (name, line_of(code, mo.start()), mo.group(1))
        for mo in TEXT_SEARCH.finditer(code)
        if REASON.search(call_arguments(code, mo.end() - 1))
    ]


# What each check must find, and must let pass: (text, file name) by what it is.
BUS_BAD = {
    "an include of bus.h": ('#include "bus.h"\n', "onliner.c"),
    "an include of bus-internal.h": ('  #  include "bus-internal.h"\n', "manager.c"),
    "a bus call": ("static void f(Manager *m) { bus_emit_block_state(m, 1); }\n", "blocks.c"),
    "a call main.c is not allowed": ("int main(void) { bus_setup(NULL); }\n", "main.c"),
}
BUS_GOOD = {
    "a comment naming bus_setup()": ("/* the bus subscribes at bus_setup() */\n", "outcome.h"),
    "a string naming bus_free()": ('log_debug("bus_free() ran");\n', "outcome.c"),
    "sd-bus and libcxl calls": ("sd_bus_flush(b); sym_cxl_bus_get_first(c);\n", "cxl.c"),
    "manager.c's bus_setup()": ('#include "bus.h"\nr = bus_setup(m);\n', "manager.c"),
    "a bus file": ('#include "bus-internal.h"\nbus_block_done(m, 1, 0);\n', "bus-signal.c"),
}
TIMER_BAD = {
    "sd_event_add_time()": ("r = sd_event_add_time(e, &s, 1, 0, 1, f, m);", "blocks.c"),
    "sd_event_add_time_relative()": ("sd_event_add_time_relative (e, &s, 1, 9, 1, f);", "dax.c"),
    "sd_event_source_set_time()": ("(void)sd_event_source_set_time(s, now + 1);", "monitor.c"),
    "sd_event_source_set_time_relative()": ("sd_event_source_set_time_relative(s, 1);", "bus.c"),
}
TIMER_GOOD = {
    "a comment naming sd_event_add_time()": ("/* not sd_event_add_time() */", "onliner.c"),
    "other sd-event calls": ("sd_event_add_defer(e, &s, f, m); sd_event_now(e, 1, &t);", "q.c"),
    "the helper's own call": ("r = sd_event_add_time(e, &s, 1, 0, 1, f, t);", "event-util.c"),
}

REASON_BAD = {
    "strstr() on d->reason": ('if (strstr(d->reason, "auto-movable"))', "blocks.c"),
    "strchr() on a reason": ("p = strchr(reason, '(');", "blocks.c"),
    "strncmp() on a kept reason": ("strncmp(why->reason + 1, p, n) == 0", "bus-manager.c"),
    "strstr() for AUTO_MOVABLE_REASON": ("strstr(t, AUTO_MOVABLE_REASON)", "placement-facts.c"),
    "a search nested in a call": ("f(strrchr(get(q->reason), ':'));", "devices.c"),
}
REASON_GOOD = {
    "a comment naming strstr(reason)": ("/* once strstr(d->reason, ...) */", "blocks.c"),
    "strstr() on a path": ('if (strstr(path, "/ndbus"))', "dax.c"),
    "a string literal": ('log_debug("strchr(reason)");', "manager.c"),
    "a reason after the call": ('if (strncmp(s, "x", 1) == 0) f(reason);', "main.c"),
}


def self_check(tap, check, bad, good):
    """The check itself can fail: each of bad must be found, and none of good."""
    for desc, (text, name) in bad.items():
        tap.ok(bool(check(name, text)), "self-check: finds %s in %s" % (desc, name))
    for desc, (text, name) in good.items():
        found = check(name, text)
        tap.ok(not found, "self-check: lets %s in %s pass" % (desc, name), "\n".join(found))


def main():
    daemon_dir = sys.argv[1]
    tap = Tap()
    self_check(tap, violations, BUS_BAD, BUS_GOOD)
    self_check(tap, timer_violations, TIMER_BAD, TIMER_GOOD)
    self_check(tap, reason_search_violations, REASON_BAD, REASON_GOOD)
    names = sorted(n for n in os.listdir(daemon_dir) if n.endswith((".c", ".h")))
    tap.ok(
        "onliner.c" in names and "manager.c" in names,
        "%s holds the daemon's sources" % daemon_dir,
    )
    for name in names:
        with open(os.path.join(daemon_dir, name), encoding="utf-8") as f:
            text = f.read()
        found = violations(name, text)
        tap.ok(not found, "daemon/%s calls no bus function" % name, "\n".join(found))
        found = timer_violations(name, text)
        tap.ok(not found, "daemon/%s makes no time source of its own" % name, "\n".join(found))
        found = reason_search_violations(name, text)
        tap.ok(not found, "daemon/%s searches no reason's text" % name, "\n".join(found))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
