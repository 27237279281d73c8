#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The defaults agree: memhotplugd --check-config, conf/memhotplugd.conf and the documentation.

The daemon's own dump of an empty configuration is the truth. For every key of [Daemon],
[Memory] and [Dax]:
  - conf/memhotplugd.conf shows it, commented out, with that value;
  - its entry in memhotplugd.conf(5) states a default, and it is that value.
And anywhere in the man pages, README.md and docs/*.md, a phrase that calls KEY=VALUE the
default ("Online=movable (the default)", "the default policy, Online=movable") must name the
real default. A key that several sections have (Online=) is taken as [Memory]'s unless the
sentence names [Dax] before it.

Usage: test-defaults.py MEMHOTPLUGD SOURCE_ROOT. TAP on stdout.
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import Tap  # noqa: E402


def real_defaults(daemon):
    """{(section, key): value} from --check-config of an empty file."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        out = subprocess.run([daemon, "--check-config", "--config", f.name], check=True,
                             stdout=subprocess.PIPE, text=True, env=env).stdout
    return parse_ini(out, commented=False)


def parse_ini(text, commented):
    """Key=Value lines by section; with commented, the "#Key=Value" and "#[Section]" lines."""
    values, section = {}, None
    for line in text.splitlines():
        if commented:
            if not line.startswith("#") or line.startswith("# "):
                if line.startswith("["):
                    section = line.strip("[]")
                continue
            line = line[1:]
        elif line.startswith("#"):
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", line.strip())
        if m:
            section = m.group(1)
            continue
        m = re.fullmatch(r"([A-Za-z]+)=(.*)", line.strip())
        if m and section:
            values.setdefault((section, m.group(1)), m.group(2))
    return values


def roff_text(roff):
    """A man page as plain running text, one string per line of source, macros dropped."""
    lines = []
    for line in roff.splitlines():
        if line.startswith(".\\\""):
            continue
        m = re.match(r"\.(B|I|BR|BI|IB|RB|IR|RI)\s+(.*)", line)
        if m:
            # Alternating-font macros join their words without spaces; quoted words keep theirs.
            words = re.findall(r'"([^"]*)"|(\S+)', m.group(2))
            sep = " " if m.group(1) in ("B", "I") else ""
            line = sep.join(a or b for a, b in words)
        elif line.startswith("."):
            line = "\n" + line  # a structural macro: .TP, .PP, .SH …
        line = re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-").replace("\\(em", "-")
        line = line.replace("\\(aq", "'").replace("\\(bu", "*")
        lines.append(line)
    return lines


def section_text(lines, title):
    """The text of the .SH whose title starts with title, up to the next .SH."""
    out, on = [], False
    for line in lines:
        if line.startswith("\n.SH"):
            on = line[len("\n.SH"):].strip().strip('"').startswith(title)
            continue
        if on:
            out.append(line)
    return out


def tp_entries(lines):
    """{key: text} of the .TP entries of a section: the key is the first word of the entry's
    first line, up to its '='."""
    entries, key, buf = {}, None, []
    for line in lines + ["\n.TP"]:
        if line.startswith("\n.TP") or line.startswith("\n.SS") or line.startswith("\n.PP"):
            if key:
                entries[key] = " ".join(buf)
            key, buf = None, []
            if line.startswith("\n.TP"):
                key = ""
            continue
        if key == "":
            m = re.match(r"([A-Za-z]+)=", line)
            key = m.group(1) if m else None
            continue
        if key:
            buf.append(line)
    return entries


def dax_entries(lines, keys):
    """{key: text} from the [Dax] paragraph: each key's text runs to the next key's."""
    text = " ".join(lines)
    start = text.find("[Dax] holds the defaults")
    if start < 0:
        return {}
    text = text[start:]
    entries, spans = {}, []
    pos = 0
    for key in keys:
        i = text.find(key + "=", pos)
        if i < 0:
            continue
        spans.append((key, i))
        pos = i + 1
    for n, (key, i) in enumerate(spans):
        end = spans[n + 1][1] if n + 1 < len(spans) else text.find("\n.PP", i)
        entries[key] = text[i + len(key) + 1:end if end > 0 else None]
    return entries


def stated_default(text):
    """The default an entry states: "takeover (default)", "Default 64.", "(default 301, …",
    "; default movable)"; not "off by default"."""
    m = re.search(r"([\w./-]+)\s+\((?:the\s+)?default\)", text)
    if m:
        return m.group(1)
    m = re.search(r"(?:^|[(;.]\s*)[Dd]efault:?\s+([^\s,;:)]+)", text)
    return m.group(1).rstrip(".") if m else None


def same(doc, real):
    """A documented value against --check-config's: times are dumped with their unit."""
    if doc == real:
        return True
    m = re.fullmatch(r"(\d+)s", real)
    return bool(m and doc == m.group(1))


# "KEY=VALUE (the default" and "the default policy, KEY=VALUE".
CLAIMS = [re.compile(r"\b([A-Z][A-Za-z]+)=([\w./-]+)\s*,?\s*\((?:the\s+)?default\b"),
          re.compile(r"\bdefault(?:\s+policy)?,\s+([A-Z][A-Za-z]+)=([\w./-]+)")]


def claims(text, defaults):
    """(key, value, real default, excerpt) of every phrase that calls KEY=VALUE the default."""
    found = []
    for rx in CLAIMS:
        for m in rx.finditer(text):
            key, value = m.group(1), m.group(2).rstrip(".")
            sections = [s for (s, k) in defaults if k == key]
            if not sections:
                continue
            sentence = text[max(text.rfind(".", 0, m.start()), m.start() - 200):m.start()]
            section = "Dax" if "Dax" in sections and "[Dax" in sentence else \
                ("Memory" if "Memory" in sections else sections[0])
            found.append((f"[{section}] {key}", value, defaults[(section, key)],
                          " ".join(text[max(0, m.start() - 40):m.end() + 10].split())))
    return found


def main():
    daemon, root = sys.argv[1], sys.argv[2]
    t = Tap()
    defaults = real_defaults(daemon)
    sections = ("Daemon", "Memory", "Dax")
    keys = [(s, k) for (s, k) in defaults if s in sections]
    t.ok(len(keys) >= 19, f"--check-config shows {len(keys)} keys of [Daemon], [Memory], [Dax]")

    with open(os.path.join(root, "conf", "memhotplugd.conf")) as f:
        shipped = parse_ini(f.read(), commented=True)
    bad = [f"[{s}] {k}: conf says {shipped.get((s, k))!r}, --check-config {defaults[(s, k)]!r}"
           for (s, k) in keys if not same(shipped.get((s, k), "(absent)"), defaults[(s, k)])]
    t.ok(not bad, "conf/memhotplugd.conf shows every key with its default", "\n".join(bad))

    with open(os.path.join(root, "docs", "memhotplugd.conf.5")) as f:
        lines = roff_text(f.read())
    documented = {}
    for s in ("Daemon", "Memory"):
        for k, text in tp_entries(section_text(lines, f"[{s}]")).items():
            documented[(s, k)] = stated_default(text)
    dax_keys = [k for (s, k) in keys if s == "Dax"]
    for k, text in dax_entries(section_text(lines, "[Dax]"), dax_keys).items():
        documented[("Dax", k)] = stated_default(text)
    bad = [f"[{s}] {k}: memhotplugd.conf(5) says {documented.get((s, k))!r}, "
           f"--check-config {defaults[(s, k)]!r}"
           for (s, k) in keys if not same(documented.get((s, k)) or "(none stated)", defaults[(s, k)])]
    t.ok(not bad, "memhotplugd.conf(5) states the default of every key, and it is the real one",
         "\n".join(bad))

    docs = os.path.join(root, "docs")
    pages = sorted(os.path.join(docs, n) for n in os.listdir(docs)
                   if re.search(r"\.[158]$", n) or n.endswith(".md"))
    pages.append(os.path.join(root, "README.md"))
    for path in pages:
        with open(path) as f:
            raw = f.read()
        text = " ".join(roff_text(raw)) if not path.endswith(".md") else raw.replace("`", "")
        text = " ".join(text.split())
        wrong = [f"{key}={value} called the default; it is {real}: \"…{excerpt}…\""
                 for key, value, real, excerpt in claims(text, defaults) if not same(value, real)]
        t.ok(not wrong, f"{os.path.relpath(path, root)}: every KEY=VALUE called the default is the default",
             "\n".join(wrong))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
