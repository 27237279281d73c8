#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every non-static function asserts its pointer arguments, as systemd does: `assert(p);` (or
`assert(p && ...)`, `assert_return(p, ...)`) among the first lines of the body, before any
statement that is neither a declaration nor an assert, and no declaration's initializer uses it
before its assert. A NULL where none is allowed then stops at the function that was handed it, not
somewhere below.

A pointer that may be NULL by contract (a *_free(NULL), an optional out-parameter, a root that
defaults) is on MAY_BE_NULL below with the reason; nothing else is excused.

Only the files in CHECKED are looked at, and every daemon/*.c file must be among them: a new one
is added here (and its contract read) when it is made. A definition is a
top-level `{` at the start of a line (clang-format's Linux braces) and the text before it back to
the previous top-level `;`, `}` or preprocessor line; functions a macro defines
(DEFINE_STRING_TABLE_*) are not seen."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import Tap  # noqa: E402

# The files checked, relative to the source root.
CHECKED = [
    "daemon/acpi-memory.c",
    "daemon/block.c",
    "daemon/blocks.c",
    "daemon/bus-block.c",
    "daemon/bus-budget.c",
    "daemon/bus-device.c",
    "daemon/bus-introspect.c",
    "daemon/bus-log-control.c",
    "daemon/bus-manager.c",
    "daemon/bus-objects.c",
    "daemon/bus-placement.c",
    "daemon/bus-request.c",
    "daemon/bus-signal.c",
    "daemon/bus-tiering.c",
    "daemon/bus-unplug.c",
    "daemon/bus.c",
    "daemon/capacity.c",
    "daemon/caps.c",
    "daemon/cxl.c",
    "daemon/dax-convert.c",
    "daemon/dax.c",
    "daemon/device-log.c",
    "daemon/devices-act.c",
    "daemon/devices-report.c",
    "daemon/devices-hotplug.c",
    "daemon/devices.c",
    "daemon/dlopen-dax.c",
    "daemon/event-util.c",
    "daemon/fileio.c",
    "daemon/intake.c",
    "daemon/kernel-auto.c",
    "daemon/kernel-delegate.c",
    "daemon/kernel-info.c",
    "daemon/headroom-facts.c",
    "daemon/zoneinfo.c",
    "daemon/log.c",
    "daemon/main.c",
    "daemon/manager.c",
    "daemon/memblock.c",
    "daemon/memlock.c",
    "daemon/metrics.c",
    "daemon/monitor.c",
    "daemon/offline-marks.c",
    "daemon/onliner.c",
    "daemon/outcome.c",
    "daemon/placement-facts.c",
    "daemon/platform-facts.c",
    "daemon/queue.c",
    "daemon/saved-settings.c",
    "daemon/state-writer.c",
    "daemon/sysfs.c",
    "daemon/tiering.c",
    "daemon/tiers.c",
    "daemon/uevent-parse.c",
    "daemon/unplug-target.c",
    "daemon/unplug.c",
    "daemon/virtio-mem.c",
    "common/agents.c",
    "common/acpi-memory-links.c",
    "common/format-util.c",
    "common/iomem.c",
    "common/parse-util.c",
    "common/read-file.c",
    "common/strv.c",
    "policy/config.c",
    "policy/dax-policy.c",
    "policy/dax-rule.c",
    "policy/daxctl-import.c",
    "policy/delegation.c",
    "policy/ini-file.c",
    "policy/memtypes.c",
    "policy/placement.c",
    "policy/platform.c",
    "policy/policy.c",
    "ctl/block-list.c",
    "ctl/ctl-bus.c",
    "ctl/ctl-util.c",
    "ctl/doctor.c",
    "ctl/doctor-agents.c",
    "ctl/doctor-bus.c",
    "ctl/doctor-config.c",
    "ctl/doctor-hotadd.c",
    "ctl/doctor-kernel.c",
    "ctl/json-writer.c",
    "ctl/map-sysfs.c",
    "ctl/map.c",
    "ctl/memhotplugctl.c",
    "ctl/rows.c",
    "ctl/status-placement.c",
    "ctl/table.c",
    "ctl/verb-control.c",
    "ctl/verb-devices.c",
    "ctl/verb-doctor.c",
    "ctl/verb-list.c",
    "ctl/verb-map.c",
    "ctl/verb-metrics.c",
    "ctl/verb-plan.c",
    "ctl/verb-rezone.c",
    "ctl/verb-status.c",
]

# The daemon/*.c files checked (in CHECKED) that define no non-static function: the check of the
# others fails when it finds none, to catch a definition it cannot parse.
NO_FUNCTIONS = {
    # Only the org.freedesktop.LogControl1 vtable is seen outside.
    "daemon/bus-log-control.c",
}

# (file, function, parameter): why it may be NULL. Read the callers before adding one.
MAY_BE_NULL = {
    # Freeing nothing does nothing, as free(NULL) does.
    ("daemon/dax.c", "dax_device_free", "d"): "free(NULL)",
    ("daemon/blocks.c", "decider_free", "dc"): "free(NULL)",
    ("daemon/bus-budget.c", "bus_budget_free", "b"): "free(NULL)",
    ("daemon/bus-objects.c", "bus_objects_free", "o"): "free(NULL)",
    ("daemon/bus.c", "bus_free", "b"): "free(NULL)",
    ("daemon/devices.c", "device_table_free", "t"): "free(NULL)",
    ("daemon/intake.c", "intake_free", "in"): "free(NULL)",
    ("daemon/kernel-auto.c", "kernel_settings_free", "k"): "free(NULL)",
    ("daemon/manager.c", "manager_free", "m"): "free(NULL)",
    ("daemon/offline-marks.c", "offline_marks_free", "k"): "free(NULL)",
    ("daemon/onliner.c", "onliner_free", "o"): "free(NULL)",
    ("daemon/outcome.c", "outcome_free", "o"): "free(NULL)",
    ("daemon/metrics.c", "metrics_free", "x"): "free(NULL)",
    ("daemon/capacity.c", "capacity_done", "c"): "free(NULL)",
    ("daemon/placement-facts.c", "placement_free", "p"): "free(NULL)",
    ("daemon/event-util.c", "timer_free", "t"): "free(NULL)",
    ("daemon/monitor.c", "monitor_free", "m"): "free(NULL)",
    ("daemon/platform-facts.c", "platform_free", "p"): "free(NULL)",
    ("daemon/state-writer.c", "state_writer_free", "w"): "free(NULL)",
    ("daemon/sysfs.c", "sysfs_free", "s"): "free(NULL)",
    ("common/strv.c", "strv_free", "l"): "free(NULL)",
    ("policy/config.c", "config_free", "c"): "free(NULL)",
    ("ctl/table.c", "table_free", "t"): "free(NULL)",
    ("ctl/doctor.c", "doctor_done", "d"): "free(NULL)",
    # An empty list may be NULL: n is 0 then.
    ("common/agents.c", "racing_rules_free", "l"): "an empty list",
    ("common/iomem.c", "iomem_virtio_mem_free", "l"): "an empty list",
    # No blocks (asserted as indices || n == 0).
    ("daemon/blocks.c", "blocks_reconsider", "indices"): "an empty list",
    ("daemon/bus-request.c", "request_new", "indices"): "an empty list",
    ("daemon/intake.c", "intake_reconsider", "indices"): "an empty list",
    # No rows at all (asserted as rows || n == 0).
    ("ctl/rows.c", "rows_make_ranges", "rows"): "an empty list",
    # No timer (not made yet, or freed) is not armed, and disarming it does nothing.
    ("daemon/event-util.c", "timer_disarm", "t"): "no timer",
    ("daemon/event-util.c", "timer_armed", "t"): "no timer",
    # The writer and the uevent monitor are made only when needed: stopping or setting none does
    # nothing.
    ("daemon/state-writer.c", "state_writer_stop", "w"): "no writer",
    ("daemon/monitor.c", "monitor_set_batching", "m"): "no monitor (intake without one)",
    # No bus (--once, --no-bus), so no budget: nothing to count.
    ("daemon/bus-budget.c", "bus_budget_defer", "b"): "no budget",
    ("daemon/bus-budget.c", "bus_budget_undefer", "b"): "no budget",
    # No intake yet (a Manager the unit tests build by hand, or one still being set up): nothing
    # to delegate to, no queued arithmetic, no new blocks.
    ("daemon/intake.c", "intake_set_delegate", "in"): "no intake",
    ("daemon/intake.c", "intake_queued_arithmetic", "in"): "no intake",
    ("daemon/intake.c", "intake_new_blocks_seq", "in"): "no intake",
    ("daemon/intake.c", "intake_burst_started", "in"): "no intake",
    # Handed back to the callback as it came, never read here.
    ("daemon/event-util.c", "timer_new", "userdata"): "opaque",
    ("daemon/event-util.c", "event_add_later", "userdata"): "opaque",
    ("daemon/monitor.c", "monitor_new", "userdata"): "opaque",
    ("daemon/state-writer.c", "state_writer_new", "userdata"): "opaque",
    ("daemon/blocks.c", "decider_new", "userdata"): "opaque",
    ("daemon/bus.c", "bus_reply_rows", "userdata"): "opaque",
    ("daemon/intake.c", "intake_new", "userdata"): "opaque",
    ("daemon/offline-marks.c", "offline_marks_new", "userdata"): "opaque",
    ("daemon/onliner.c", "onliner_new", "userdata"): "opaque",
    ("daemon/outcome.c", "outcome_subscribe", "userdata"): "opaque",
    ("daemon/metrics.c", "metrics_new", "userdata"): "opaque",
    # NULL: no file.
    ("daemon/metrics.c", "metrics_set_path", "path"): "no file",
    ("daemon/acpi-memory.c", "acpi_memory_device_blocks", "userdata"): "opaque",
    ("common/acpi-memory-links.c", "acpi_memory_links", "userdata"): "opaque",
    ("policy/ini-file.c", "ini_file_parse", "userdata"): "opaque",
    ("ctl/rows.c", "rows_make_ranges", "userdata"): "opaque",
    ("ctl/ctl-bus.c", "bus_read_properties", "userdata"): "opaque",
    # sd_event_source_set_description() takes NULL: a source without a name.
    ("daemon/event-util.c", "timer_new", "description"): "no name",
    ("daemon/event-util.c", "event_add_later", "description"): "no name",
    # NULL: the default root, /sys.
    ("daemon/sysfs.c", "sysfs_new", "root"): "the default /sys",
    # Optional out-parameters, set only when given.
    ("common/read-file.c", "open_regular_at", "ret_st"): "optional",
    ("common/read-file.c", "read_fd_capped", "ret_size"): "optional",
    ("policy/config.c", "config_load_full", "ret_error_file"): "optional",
    ("policy/daxctl-import.c", "daxctl_import", "ret_error_file"): "optional",
    ("policy/ini-file.c", "ini_conf_files_list", "ret_error_dir"): "optional",
    ("ctl/block-list.c", "block_list_parse", "ret_bad"): "optional",
    ("ctl/doctor.c", "doctor_add", "fix"): "optional: a finding with nothing to do",
    ("ctl/doctor-bus.c", "doctor_check_bus", "bus"): "no system bus, which is a finding",
    ("daemon/manager.c", "manager_reload", "ret_error"): "optional",
    ("daemon/onliner.c", "onliner_totals", "ret_onlined"): "optional",
    ("daemon/onliner.c", "onliner_totals", "ret_failed"): "optional",
    # NULL: the system's drop-in directories.
    ("policy/config.c", "config_load_full", "dropin_dirs"): "the default directories",
    ("policy/config.c", "config_load_full", "credentials_dir"): "no credentials (not run by systemd)",
    # NULL: a string that could not be made (strdup() failed); -ENOMEM, as systemd's strv_consume().
    ("common/strv.c", "strv_consume", "s"): "a failed allocation",
    # A rule without a name: the [Dax] defaults.
    ("policy/dax-rule.c", "dax_rule_init", "name"): "no name",
    # A missing string is written as JSON's null.
    ("ctl/json-writer.c", "json_field_string", "s"): "null",
    # The C runtime's own argv; nothing calls main().
    ("ctl/memhotplugctl.c", "main", "argv"): "the runtime's",
    ("daemon/main.c", "main", "argv"): "the runtime's",
    # No online type asked for (_ONLINE_TYPE_INVALID), no rule: the policy decides and names its own
    # (asserted as rule || type < 0).
    ("daemon/placement-facts.c", "placement_decide_block", "rule"): "the policy's own",
    # No MESSAGE_ID= field, no extra fields: most log lines.
    ("daemon/log.c", "log_fields_errno", "message_id"): "no MESSAGE_ID=",
    ("daemon/log.c", "log_fields_errno", "fields"): "no fields",
    ("daemon/log.c", "log_block", "message_id"): "no MESSAGE_ID=",
    ("daemon/device-log.c", "log_device", "message_id"): "no MESSAGE_ID=",
    # No placement input: a block that needs no placement, or whose facts could not be built.
    ("policy/policy.c", "policy_decide", "in"): "no placement",
    ("policy/policy.c", "policy_decide_as", "in"): "no placement",
    # An empty buffer may be NULL (a fuzzer's empty input); these assert (p || size == 0).
    ("common/read-file.c", "fopen_buffer", "data"): "empty",
    ("common/agents.c", "agents_rules_races", "text"): "empty",
}

CODE = re.compile(
    r"""(?P<comment>/\*.*?\*/|//[^\n]*)|(?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')""",
    re.DOTALL,
)
DEFINITION_OPEN = re.compile(r"^\{", re.MULTILINE)
PREPROCESSOR = re.compile(r"^[ \t]*#[^\n]*(?:\\\n[^\n]*)*", re.MULTILINE)
IDENT = re.compile(r"[A-Za-z_]\w*")
KEYWORDS = {"return", "goto", "else", "case", "do", "break", "continue", "default"}
# A declaration statement: optional _cleanup_(...), qualifiers, a type, then a declarator.
DECLARATION = re.compile(
    r"^(?:_cleanup_\w*\s*\([^()]*\)\s*)?"
    r"(?:(?:const|struct|enum|union|unsigned|signed|static|volatile)\s+)*"
    r"(?P<type>[A-Za-z_]\w*)(?:\s+|\s*\*+\s*)(?:const\s+)?\**\s*[A-Za-z_]\w*\s*"
    r"(?:\[[^\]]*\]\s*)*(?:=|,|$)",
    re.DOTALL,
)


# What comes before a `{` that does not open a block: an `=`, or struct (union, enum) and a tag.
INITIALIZED_OR_TYPE = re.compile(
    r".*=|\s*(?:(?:static|const)\s+)*(?:struct|union|enum)\b[\s\w]*$", re.DOTALL
)


def without_braces(stmt):
    """stmt with its {...} groups (members, initializers) taken out."""
    while True:
        shorter = re.sub(r"\{[^{}]*\}", " _ ", stmt)
        if shorter == stmt:
            return stmt
        stmt = shorter


def blanked(text):
    """The text with comments, strings and preprocessor lines blanked (newlines kept)."""
    text = CODE.sub(lambda mo: re.sub(r"[^\n]", " ", mo.group(0)), text)
    return PREPROCESSOR.sub(lambda mo: re.sub(r"[^\n]", " ", mo.group(0)), text)


def split_top(text, sep=","):
    """text split at sep outside parentheses and brackets."""
    parts, depth, cur = [], 0, []
    for c in text:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def matching(text, start, open_c, close_c):
    """The index of the bracket that closes the one at start."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_c:
            depth += 1
        elif text[i] == close_c:
            depth -= 1
            if depth == 0:
                return i
    return len(text)


def pointer_parameters(params):
    """The names of the pointer parameters (including arrays and function pointers)."""
    names = []
    for p in split_top(params):
        p = p.strip()
        if not p or p in ("void", "...") or ("*" not in p and "[" not in p):
            continue
        fp = re.search(r"\(\s*\*\s*([A-Za-z_]\w*)\s*\)", p)
        if fp:
            names.append(fp.group(1))
            continue
        idents = [i for i in IDENT.findall(re.sub(r"\[[^\]]*\]", "", p)) if i != "const"]
        if idents:
            names.append(idents[-1])
    return names


def definitions(text):
    """(name, params, body, line, static) of each function defined at top level."""
    code = blanked(text)
    found = []
    for mo in DEFINITION_OPEN.finditer(code):
        start = mo.start()
        # Back to the previous top-level boundary.
        i, depth = start - 1, 0
        while i >= 0:
            c = code[i]
            if c == ")":
                depth += 1
            elif c == "(":
                depth -= 1
            elif depth == 0 and c in ";}{":
                break
            i -= 1
        head = code[i + 1 : start].strip()
        if "=" in head.split("(", 1)[0] or "(" not in head:
            continue  # an initializer, a struct
        # The parameter list: the last top-level parenthesis group of the head.
        close = head.rstrip().rfind(")")
        depth, open_ = 0, None
        for j in range(close, -1, -1):
            if head[j] == ")":
                depth += 1
            elif head[j] == "(":
                depth -= 1
                if depth == 0:
                    open_ = j
                    break
        if open_ is None:
            continue
        before = head[:open_]
        name = IDENT.findall(before)
        if not name:
            continue
        end = matching(code, start, "{", "}")
        found.append(
            (
                name[-1],
                head[open_ + 1 : close],
                code[start + 1 : end],
                code.count("\n", 0, start) + 1,
                bool(re.match(r"(?:\w+\s+)*static\b", before.strip())),
            )
        )
    return found


def leading_statements(body):
    """The body's first statements, as ("assert" or "declaration", text, end offset), up to the
    first statement that is neither a declaration nor an assert."""
    found, i = [], 0
    while True:
        rest = body[i:]
        stripped = rest.lstrip()
        if not stripped:
            break
        i += len(rest) - len(stripped)
        # One statement: to the top-level `;`. A `{` first means a block or a compound statement,
        # unless an `=` came before it (an initializer) or it opens a struct's members.
        j, depth = i, 0
        while j < len(body):
            c = body[j]
            if c in "([" or (c == "{" and depth == 0 and INITIALIZED_OR_TYPE.match(body[i:j])):
                depth += 1
            elif c in "([{" and depth > 0:
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif depth == 0 and c in ";{":
                break
            j += 1
        if j >= len(body) or body[j] == "{":
            break
        stmt = " ".join(body[i:j].split())
        if re.match(r"assert(?:_return)?\s*\(", stmt):
            found.append(("assert", stmt, j + 1))
        else:
            mo = DECLARATION.match(without_braces(stmt))
            if not mo or mo.group("type") in KEYWORDS:
                break
            found.append(("declaration", stmt, j + 1))
        i = j + 1
    return found


def leading_asserts(body):
    """The assert statements among the body's first statements: those before the first statement
    that is neither a declaration nor an assert."""
    return [stmt for kind, stmt, _end in leading_statements(body) if kind == "assert"]


def asserted(name, asserts):
    pattern = re.compile(
        r"assert\s*\(\s*%s\s*(?:\)|&&)|assert_return\s*\(\s*%s\s*(?:,|&&)" % (name, name)
    )
    return any(pattern.match(a) for a in asserts)


def violations(path, text, allow=None):
    """Pointer parameters of non-static functions left unasserted, or used in a declaration's
    initializer before their assert, as "path:line: what"."""
    allow = MAY_BE_NULL if allow is None else allow
    found = []
    for name, params, body, line, static in definitions(text):
        if static:
            continue
        leading = leading_statements(body)
        asserts = [stmt for kind, stmt, _end in leading if kind == "assert"]
        for p in pointer_parameters(params):
            if (path, name, p) in allow:
                continue
            if not asserted(p, asserts):
                found.append("%s:%d: %s(): no assert(%s)" % (path, line, name, p))
                continue
            for kind, stmt, _end in leading:
                if kind == "assert" and asserted(p, [stmt]):
                    break
                if kind == "assert" and re.search(r"\b%s\b" % p, stmt):
                    found.append(
                        "%s:%d: %s(): %s used before assert(%s)" % (path, line, name, p, p)
                    )
                    break
                if "=" in stmt and re.search(r"\b%s\b" % p, stmt.split("=", 1)[1]):
                    found.append(
                        "%s:%d: %s(): %s used before assert(%s)" % (path, line, name, p, p)
                    )
                    break
    return found


def unused_allowances(paths_texts):
    """MAY_BE_NULL entries that name no pointer parameter of a checked function: stale."""
    present = set()
    for path, text in paths_texts:
        for name, params, _body, _line, static in definitions(text):
            if not static:
                for p in pointer_parameters(params):
                    present.add((path, name, p))
    return sorted(k for k in MAY_BE_NULL if k not in present)


def fn(signature, *lines):
    """A function definition as clang-format lays it out: signature, then the body's lines."""
    body = "".join(("        " + ln if ln else "") + "\n" for ln in lines)
    return signature + "\n{\n" + body + "}\n"


# What the check must find, and must let pass.
BAD = {
    "a missing assert": fn("int f(Foo *f, int n)", "return f->x + n;"),
    "an assert of another parameter": fn("int f(A *a, B *b)", "assert(a);", "return 0;"),
    "an assert after a static table": fn(
        "int f(Foo *f)", "static const int t[] = { 1, 2 };", "", "if (t[0])", "        return 0;",
        "assert(f);", "return 1;",
    ),
    "an assert after the first statement": fn(
        "int f(Foo *f)", "int r;", "", "r = g();", "assert(f);", "return r;"
    ),
    "an assert inside an if": fn("int f(Foo *f)", "if (x) {", "        assert(f);", "}"),
    "an unasserted function pointer": fn("void f(int (*cb)(void *u), void *u)", "assert(u);"),
    "an unasserted array": fn("int f(const char *const argv[])", "return 0;"),
    "a wrapped parameter list": fn(
        "int f(Foo *f, const char *path,\n      int n)", "assert(f);", "return n;"
    ),
    "a comment that looks like an assert": fn("int f(Foo *f)", "/* assert(f); */", "return 0;"),
    "a use before the assert": fn("int f(Foo *f)", "int x = f->x;", "", "assert(f);", "return x;"),
    "a use in an earlier assert": fn("int f(Foo *f)", "assert(f->x > 0);", "assert(f);", "return 0;"),
    "an assert of a longer name": fn("int f(Foo *f)", "assert(fd);", "return 0;"),
}
GOOD = {
    "asserts after declarations": fn(
        "int f(Foo *f, char **ret)", "_cleanup_(freep) char *p = NULL;", "const char *const *s;",
        "int r;", "", "assert(f);", "assert(ret);", "return 0;",
    ),
    "asserts after a static table": fn(
        "int f(Foo *f)", "static const struct { int a; } t[] = {", "        { 1 },", "};", "int r;",
        "", "assert(f);", "return t[0].a;",
    ),
    "assert(p && ...)": fn("bool f(const char *s)", "assert(s && *s);", "return 1;"),
    "assert_return()": fn("int f(Foo *f)", "assert_return(f, -EINVAL);", "return 0;"),
    "a static function": fn("static int f(Foo *f)", "return f->x;"),
    "no pointer parameters": fn("int f(int a, unsigned b)", "return a + b;"),
    "a struct initializer": "static const Foo t[] = {\n        { .a = 1 },\n};\n"
    + fn("int f(void)", "return 0;"),
    "an allowlisted parameter": fn("Foo *foo_free(Foo *f)", "free(f);", "return NULL;"),
}
SELF_ALLOW = {("self.c", "foo_free", "f"): "self-check"}


def main():
    root = sys.argv[1]
    tap = Tap()
    for desc, text in BAD.items():
        tap.ok(bool(violations("self.c", text, SELF_ALLOW)), "self-check: finds %s" % desc)
    for desc, text in GOOD.items():
        found = violations("self.c", text, SELF_ALLOW)
        tap.ok(not found, "self-check: lets %s pass" % desc, "\n".join(found))
    daemon_dir = os.path.join(root, "daemon")
    missing = sorted(
        "daemon/" + n
        for n in os.listdir(daemon_dir)
        if n.endswith(".c") and "daemon/" + n not in CHECKED
    )
    tap.ok(not missing, "every daemon/*.c file is checked", "not in CHECKED: " + " ".join(missing))
    texts = []
    for path in CHECKED:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text = f.read()
        texts.append((path, text))
        defs = [d for d in definitions(text) if not d[4]]
        found = violations(path, text)
        if path in NO_FUNCTIONS:
            tap.ok(
                not defs,
                "%s: no non-static function" % path,
                "non-static functions found: take it off NO_FUNCTIONS",
            )
            continue
        tap.ok(
            bool(defs) and not found,
            "%s: %d non-static functions assert their pointer arguments" % (path, len(defs)),
            "\n".join(found) if found else "no non-static function found",
        )
    stale = unused_allowances(texts)
    tap.ok(not stale, "every allowance names a checked parameter", "\n".join(map(str, stale)))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
