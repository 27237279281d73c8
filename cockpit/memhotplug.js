// SPDX-License-Identifier: LGPL-2.1-or-later
// The Memory page: memhotplugd's state and actions, through its D-Bus API only (org.memhotplug1,
// see memhotplugd(8)). Every change goes through the daemon's own methods, so the daemon's
// authorisation decides; the page only greys out what it knows will be refused.
"use strict";

const _ = cockpit.gettext;

const BUS_NAME = "org.memhotplug1";
const PATH = "/org/memhotplug1";
const MANAGER = "org.memhotplug1.Manager";
const DEVICE = "org.memhotplug1.Device";
const ACTIVITY_MAX = 200; // events kept in the Activity view
// DriftBlocks, NodePlacement, NodeTiers, Demotion, TieringWarnings and the memmap counters change
// without a signal (memhotplugd(8)): read again this often while the page is shown.
const POLL_MS = 5000;

// superuser "try": with administrative access turned on, the calls are made as root; without it,
// as the user, and the daemon refuses what that user may not do.
const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
const permission = cockpit.permission({ admin: true });

const state = {
    loaded: false,
    down: null, // why the daemon cannot be read, or null
    manager: {},
    blocks: [], // ListBlocks rows as objects
    devices: [], // ListDevices rows, with the Device object's own properties
    plan: [],
    activity: [], // newest first
    running: null, // the call this page has under way: { what, target, progress: [] }
    result: null, // the last action's outcome: { ok, text }
};

/* -- small helpers ------------------------------------------------------------------------ */

// Builds an element: h("td", { class: "x", onclick: fn }, "text", child, [children]).
function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false)
            continue;
        if (k.startsWith("on"))
            el.addEventListener(k.substring(2), v);
        else if (k === "class")
            el.className = v;
        else
            el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
        if (c === null || c === undefined || c === false)
            continue;
        el.append(c instanceof Node ? c : String(c));
    }
    return el;
}

function bytes(n) {
    if (n === undefined || n === null || n < 0)
        return "—";
    return cockpit.format_bytes(n, 1024);
}

function hex(n) {
    return "0x" + n.toString(16);
}

function unwrap(props) {
    const out = {};
    for (const [k, v] of Object.entries(props))
        out[k] = v && typeof v === "object" && "v" in v ? v.v : v;
    return out;
}

function errorText(ex) {
    const name = ex && ex.name && ex.name !== "Error" ? ex.name.replace(/^org\.memhotplug1\.Error\./, "") + ": " : "";
    return name + cockpit.message(ex);
}

function now() {
    return new Date().toLocaleTimeString();
}

/* -- reading the daemon ------------------------------------------------------------------- */

function blockRow(r) {
    return { index: r[0], node: r[1], state: r[2], zone: r[3], start: r[4], size: r[5], removable: r[6], rule: r[7] };
}

function deviceRow(r) {
    return {
        name: r[0], path: r[1], node: r[2], source: r[3], mode: r[4], memmap: r[5], resource: r[6], size: r[7],
        online: r[8], total: r[9], rule: r[10], reason: r[11],
    };
}

function planRow(r) {
    return { block: r[0], node: r[1], action: r[2], type: r[3], zone: r[4], rule: r[5], reason: r[6], note: r[7] };
}

async function readDevice(row) {
    try {
        const [props] = await client.call(row.path, "org.freedesktop.DBus.Properties", "GetAll", [DEVICE]);
        return Object.assign(row, { props: unwrap(props) });
    } catch (ex) {
        return Object.assign(row, { props: {} }); // gone meanwhile: the next refresh drops it
    }
}

async function refresh() {
    try {
        const [props] = await client.call(PATH, "org.freedesktop.DBus.Properties", "GetAll", [MANAGER]);
        const [blocks] = await client.call(PATH, MANAGER, "ListBlocks", []);
        const [devices] = await client.call(PATH, MANAGER, "ListDevices", []);
        const [plan] = await client.call(PATH, MANAGER, "Plan", []);
        state.manager = unwrap(props);
        state.blocks = blocks.map(blockRow).sort((a, b) => a.index - b.index);
        state.devices = await Promise.all(devices.map(deviceRow).map(readDevice));
        state.plan = plan.map(planRow);
        state.down = null;
    } catch (ex) {
        state.down = errorText(ex);
    }
    state.loaded = true;
    render();
}

// Signals come in bursts (a chunk of blocks, then the properties): one refresh per burst.
let refreshTimer = null;
let refreshing = null;
function scheduleRefresh() {
    if (refreshTimer)
        return;
    refreshTimer = window.setTimeout(async () => {
        refreshTimer = null;
        await refreshing;
        refreshing = refresh();
    }, 150);
}

function remember(text, kind) {
    state.activity.unshift({ time: now(), text, kind: kind || "info" });
    state.activity.length = Math.min(state.activity.length, ACTIVITY_MAX);
}

// Blocks as ranges: [1, 2, 3, 7] -> "memory1–memory3, memory7".
function ranges(indices) {
    const out = [];
    for (const i of [...indices].sort((a, b) => a - b)) {
        const last = out[out.length - 1];
        if (last && last[1] === i - 1)
            last[1] = i;
        else
            out.push([i, i]);
    }
    return out.map(([a, b]) => (a === b ? "memory" + a : cockpit.format("memory$0–memory$1", a, b))).join(", ");
}

// One event per state a burst of rows leaves blocks in (a chunk can carry thousands of rows).
function blockStates(rows) {
    const last = new Map();
    for (const [block, st, zone] of rows)
        last.set(block, zone ? st + " (" + zone + ")" : st);
    const byState = new Map();
    for (const [block, st] of last)
        byState.set(st, (byState.get(st) || []).concat([block]));
    for (const [st, blocks] of byState)
        remember(cockpit.format(blocks.length === 1 ? _("$0 is $1") : _("$0 are $1"), ranges(blocks), st));
}

function onSignal(path, iface, signal, args) {
    if (iface === MANAGER && signal === "BlockStatesChanged") {
        blockStates(args[0]);
    } else if (iface === MANAGER && signal === "OfflineProgress") {
        const [block, result, reason] = args;
        remember(cockpit.format(_("memory$0: offline $1"), block, result) + (reason && reason !== result ? " — " + reason : ""),
                 result === "offlined" ? "info" : "warning");
        if (state.running)
            state.running.progress.push({ block, result, reason });
    } else if (iface === MANAGER && signal === "JobFinished") {
        const [total, done, failed] = args;
        remember(cockpit.format(_("Job finished: $0 of $1 blocks done, $2 failed"), done, total, failed),
                 failed ? "warning" : "info");
    } else if (iface === "org.freedesktop.DBus.ObjectManager" && signal === "InterfacesAdded") {
        remember(cockpit.format(_("$0 appeared"), args[0].replace(PATH + "/", "")));
    } else if (iface === "org.freedesktop.DBus.ObjectManager" && signal === "InterfacesRemoved") {
        remember(cockpit.format(_("$0 went away"), args[0].replace(PATH + "/", "")));
    } else if (iface === "org.freedesktop.DBus.Properties" && path === PATH && args[0] === MANAGER) {
        const changed = unwrap(args[1]);
        Object.assign(state.manager, changed);
        if ("JobProgress" in changed) {
            const [done, failed, total] = changed.JobProgress;
            if (total > 0)
                remember(cockpit.format(_("Job: $0 of $1 blocks done, $2 failed"), done, total, failed));
        }
    }
    scheduleRefresh();
    render();
}

/* -- actions ------------------------------------------------------------------------------ */

function allowed() {
    return permission.allowed === true;
}

const READ_ONLY = _("Changing memory needs administrative access: memhotplugd carries out these actions for root only.");

// Runs one of the daemon's methods for a button; the daemon's answer is shown as it is.
async function act(what, target, method, args, summarize) {
    state.running = { what, target, progress: [] };
    state.result = null;
    remember(cockpit.format(_("$0 $1 requested"), what, target));
    render();
    try {
        const reply = await client.call(PATH, MANAGER, method, args, { timeout: 24 * 3600 * 1000 });
        state.result = { ok: true, text: summarize(reply) };
    } catch (ex) {
        state.result = { ok: false, text: cockpit.format(_("$0 $1 failed: $2"), what, target, errorText(ex)) };
    }
    remember(state.result.text, state.result.ok ? "info" : "warning");
    state.running = null;
    scheduleRefresh();
    render();
}

function rowsSummary(rows) {
    const failed = rows.filter(r => !r[1]);
    if (!failed.length)
        return cockpit.format(cockpit.ngettext("$0 block done", "$0 blocks done", rows.length), rows.length);
    return failed.map(r => cockpit.format("memory$0: $1", r[0], r[2])).join("; ");
}

function unplug(target) {
    return act(_("Unplug of"), target, "PrepareUnplug", [target],
               ([rows]) => cockpit.format(cockpit.ngettext("$0 is offline and can be removed now ($1 block)",
                                                           "$0 is offline and can be removed now ($1 blocks)", rows.length),
                                          target, rows.length));
}

function revert(name) {
    return act(_("Revert of"), name, "RevertDevice", [name], ([rows]) => cockpit.format(_("$0 is devdax again: $1"), name, rowsSummary(rows)));
}

async function cancel() {
    try {
        const [n, rows] = await client.call(PATH, MANAGER, "CancelJob", []);
        remember(n ? rows.map(r => cockpit.format("memory$0: $1", r[0], r[2])).join("; ")
                   : _("Nothing to cancel"));
    } catch (ex) {
        remember(cockpit.format(_("Cancel failed: $0"), errorText(ex)), "warning");
    }
    render();
}

async function rezone(row) {
    await act(_("Rezone of"), "memory" + row.block, "OfflineBlocks", [[row.block]], ([rows]) => rowsSummary(rows));
    if (state.result && state.result.ok)
        await act(_("Onlining of"), "memory" + row.block, "OnlineBlocks", [[row.block], row.type], ([rows]) => rowsSummary(rows));
}

// A button for an action the daemon may refuse this user: disabled, with the reason, unless allowed.
function actionButton(label, action, onclick, extra) {
    const ok = allowed() && !state.running;
    return h("button", Object.assign({
        type: "button", class: "mh-button", "data-action": action, disabled: !ok,
        title: allowed() ? null : READ_ONLY, onclick,
    }, extra || {}), label);
}

/* -- views -------------------------------------------------------------------------------- */

function card(title, ...body) {
    return h("section", { class: "mh-card" }, h("h2", {}, title), body);
}

function table(head, rows, attrs) {
    return h("table", Object.assign({ class: "mh-table" }, attrs || {}),
             h("thead", {}, h("tr", {}, head.map(t => h("th", {}, t)))),
             h("tbody", {}, rows));
}

function dl(pairs) {
    const shown = v => (v === "" || v === undefined || v === null ? "—" : v);
    return h("dl", { class: "mh-dl" }, pairs.filter(p => p).map(([k, v]) => [h("dt", {}, k), h("dd", {}, shown(v))]));
}

function blockClass(b) {
    if (b.state === "online")
        return "mh-zone-" + (b.zone || "unknown").toLowerCase().replace(/[^a-z0-9]/g, "");
    return "mh-state-" + b.state.replace(/[^a-z-]/g, "");
}

function blockLabel(b) {
    return b.state === "online" ? b.zone : b.state;
}

// A node's address range as a bar: one segment per run of neighbouring blocks in the same zone
// or state, as wide as its share of the range; holes between blocks are drawn as gaps.
function nodeBar(blocks) {
    const bar = h("div", { class: "mh-bar", role: "img" });
    const runs = [];
    for (const b of blocks) {
        const last = runs[runs.length - 1];
        const cls = blockClass(b);
        if (last && last.cls === cls && last.end === b.index - 1) {
            last.end = b.index;
            last.count++;
        } else {
            if (last && b.index > last.end + 1)
                runs.push({ cls: "mh-gap", start: last.end + 1, end: b.index - 1, count: b.index - last.end - 1, label: _("no memory") });
            runs.push({ cls, start: b.index, end: b.index, count: 1, label: blockLabel(b) });
        }
    }
    // A hole (CXL windows sit far above the boot memory) is drawn narrow, not to scale: at most a
    // tenth of the node's blocks wide.
    const holeMax = Math.max(1, Math.ceil(blocks.length / 10));
    for (const r of runs) {
        const seg = h("span", {
            class: "mh-seg " + r.cls,
            title: cockpit.format("memory$0–memory$1: $2", r.start, r.end, r.label),
            "data-first": r.start, "data-last": r.end, "data-label": r.label,
        });
        seg.style.flexGrow = String(r.cls === "mh-gap" ? Math.min(r.count, holeMax) : r.count);
        bar.append(seg);
    }
    bar.setAttribute("aria-label", runs.map(r => cockpit.format("memory$0–$1 $2", r.start, r.end, r.label)).join(", "));
    return bar;
}

function legend() {
    const items = [["mh-zone-movable", "Movable"], ["mh-zone-normal", "Normal"], ["mh-zone-dma32", "DMA32"],
        ["mh-state-offline", _("offline")], ["mh-state-going-offline", _("going offline")], ["mh-gap", _("no memory")]];
    return h("div", { class: "mh-legend" }, items.map(([cls, label]) => h("span", {}, h("span", { class: "mh-swatch " + cls }), label)));
}

function warnings(m) {
    const out = [];
    if (m.LastConfigError)
        out.push(cockpit.format(_("Configuration error: $0"), m.LastConfigError));
    if (m.KernelAutoOnlineFallback)
        out.push(cockpit.format(_("Kernel auto-onlining not taken over: $0"), m.KernelAutoOnlineFallback));
    if (m.DriftBlocks > 0)
        out.push(cockpit.format(_("$0 online blocks are in a zone the policy would not choose now (drift); see Devices"), m.DriftBlocks));
    for (const w of m.TieringWarnings || [])
        out.push(w);
    return out;
}

function placementOf(node) {
    return (state.manager.NodePlacement || []).find(r => r[0] === node);
}

function placementText(p) {
    // boot kernel, kernel, movable, memmap on the device (of movable), headroom, ratio %, NUMA-aware
    const [, bootKernel, kernel, movable, memmapDevice, headroom, ratio, numaAware] = p;
    const base = bootKernel + kernel;
    const ratioText = base > 0
        ? cockpit.format(_("$0 movable over $1 kernel = $2% (limit $3%)"), bytes(movable - memmapDevice), bytes(base),
                         Math.round((movable - memmapDevice) * 100 / base), ratio)
        : cockpit.format(_("$0 movable, no kernel memory (limit $1%)"), bytes(movable - memmapDevice), ratio);
    return [
        [_("Movable : kernel"), ratioText],
        [_("Headroom"), cockpit.format(_("$0 more can go to ZONE_MOVABLE"), bytes(headroom))],
        [_("NUMA-aware"), numaAware ? _("yes") : _("no")],
    ];
}

function overview() {
    const m = state.manager;
    const nodes = [...new Set(state.blocks.map(b => b.node))].sort((a, b) => a - b);
    const warn = warnings(m);
    const job = m.JobProgress || [0, 0, 0];
    const tiers = m.NodeTiers || [];
    const sys = placementOf(-1);
    return [
        warn.length ? h("div", { class: "mh-alert mh-warning", id: "warnings" }, h("ul", {}, warn.map(w => h("li", {}, w)))) : null,
        card(_("Daemon"), dl([
            [_("Version"), m.Version],
            [_("Kernel auto-onlining"), cockpit.format("$0 ($1)", m.KernelAutoOnlineMode || "—", m.KernelAutoOnline || "—")],
            [_("Policy"), m.OnlinePolicy],
            [_("Platform default"), m.PlatformDefault],
            [_("Kernel online policy"), m.KernelOnlinePolicy],
            [_("memmap_on_memory"), m.MemmapOnMemory],
            m.MemmapPages >= 0 ? [_("Memory map"), cockpit.format(_("$0 ($1 at boot)"), bytes(m.MemmapPages * 4096), bytes(m.MemmapBootPages * 4096))] : null,
            [_("Job"), job[2] ? cockpit.format(_("$0 of $1 blocks done, $2 failed"), job[0], job[2], job[1]) : _("idle")],
        ])),
        card(_("Totals"), dl([
            [_("Present"), bytes(m.PresentBytes)],
            [_("Online"), bytes(m.OnlineBytes)],
            [_("Offline"), bytes(m.OfflineBytes)],
            ...(m.ZoneOnlineBytes || []).map(([zone, n]) => [cockpit.format(_("In $0"), zone), bytes(n)]),
            sys ? placementText(sys)[0] : null,
            [_("Demotion"), cockpit.format(_("$0 (configured: $1)"), m.Demotion || "—", m.DemotionMode || "—")],
        ])),
        legend(),
        nodes.map(node => {
            const blocks = state.blocks.filter(b => b.node === node);
            const nb = (m.NodeBytes || []).find(r => r[0] === node);
            const tier = tiers.find(t => t[0] === node);
            const p = placementOf(node);
            const first = blocks[0];
            const last = blocks[blocks.length - 1];
            return h("section", { class: "mh-card mh-node", "data-node": node },
                     h("h2", {}, cockpit.format(_("Node $0"), node),
                       h("small", {}, cockpit.format(" $0–$1", hex(first.start), hex(last.start + last.size - 1)))),
                     nodeBar(blocks),
                     dl([
                         nb ? [_("Present"), cockpit.format(_("$0, $1 online, $2 offline"), bytes(nb[1]), bytes(nb[2]), bytes(nb[3]))] : null,
                         ...(p ? placementText(p) : []),
                         tier ? [_("Memory tier"), cockpit.format(_("$0$1"), tier[1], tier[2] ? _(", with CPUs") : _(", no CPUs"))] : null,
                     ]));
        }),
        nodes.length ? null : h("p", { class: "mh-empty" }, _("No memory blocks.")),
    ];
}

function deviceSource(d) {
    const p = d.props || {};
    if (p.CXLRegion)
        return cockpit.format("$0 $1", d.source, p.CXLRegion) +
               ((p.CXLSerials || []).length ? cockpit.format(_(", memdev serials $0"), p.CXLSerials.map(hex).join(", ")) : "");
    if (p.NvdimmUUID)
        return cockpit.format("$0 $1", d.source, p.NvdimmUUID);
    return d.source;
}

function unplugPanel() {
    const input = h("input", { type: "text", id: "unplug-target", class: "mh-input", placeholder: "PNP0C80:03, virtio5, dax0.0, 32-39, 0x140000000-0x17fffffff", "aria-label": _("Device or range") });
    const running = state.running;
    return card(_("Unplug"),
                h("p", {}, _("Offline the memory of a DIMM (its ACPI name), a virtio-mem device, a dax device, blocks or an address range, so that it can be removed. Blocks are offlined from the highest down; a block in a kernel zone refuses the unplug at once.")),
                h("div", { class: "mh-form" }, input,
                  actionButton(_("Prepare unplug"), "unplug-target", () => {
                      if (input.value.trim())
                          unplug(input.value.trim());
                  })),
                running ? h("div", { class: "mh-progress", id: "running" },
                            h("p", {}, cockpit.format(_("$0 $1 in progress"), running.what, running.target)),
                            h("ul", {}, running.progress.map(p => h("li", {}, cockpit.format("memory$0: $1 $2", p.block, p.result, p.reason)))),
                            h("button", { type: "button", class: "mh-button mh-danger", "data-action": "cancel", disabled: !allowed(), title: allowed() ? null : READ_ONLY, onclick: cancel }, _("Cancel")))
                    : null,
                state.result ? h("div", { class: "mh-alert " + (state.result.ok ? "mh-success" : "mh-danger"), id: "result" }, state.result.text) : null);
}

function devices() {
    const drift = state.plan.filter(r => r.action === "rezone");
    const byIndex = new Map(state.blocks.map(b => [b.index, b]));
    return [
        unplugPanel(),
        card(_("Device memory (CXL, NVDIMM, HMEM)"),
             state.devices.length
                 ? table([_("Device"), _("Source"), _("Node"), _("Size"), _("Mode"), _("Memmap"), _("Blocks online"), _("Rule"), _("Policy"), ""],
                         state.devices.map(d => h("tr", { "data-device": d.name },
                                                  h("td", {}, d.name), h("td", {}, deviceSource(d)), h("td", {}, d.node),
                                                  h("td", {}, bytes(d.size)), h("td", {}, d.mode), h("td", {}, d.memmap),
                                                  h("td", {}, cockpit.format("$0 / $1", d.online, d.total)), h("td", {}, d.rule),
                                                  h("td", {}, (d.props || {}).Action || "", d.reason ? h("div", { class: "mh-note" }, d.reason) : null),
                                                  h("td", { class: "mh-actions" },
                                                    d.mode === "system-ram" && d.online > 0 ? actionButton(_("Unplug"), "unplug", () => unplug(d.name), { "data-target": d.name }) : null,
                                                    d.mode === "system-ram" ? actionButton(_("Revert to devdax"), "revert", () => revert(d.name), { "data-target": d.name }) : null))))
                 : h("p", { class: "mh-empty" }, _("No device-dax instances."))),
        card(_("Drift"),
             drift.length
                 ? table([_("Block"), _("Node"), _("Now in"), _("Policy wants"), _("Reason"), ""],
                         drift.map(r => h("tr", { "data-block": r.block },
                                          h("td", {}, "memory" + r.block), h("td", {}, r.node),
                                          h("td", {}, byIndex.has(r.block) ? byIndex.get(r.block).zone : ""), h("td", {}, r.zone || r.type),
                                          h("td", {}, r.reason),
                                          h("td", { class: "mh-actions" }, actionButton(_("Rezone"), "rezone", () => rezone(r), { "data-target": String(r.block) })))))
                 : h("p", { class: "mh-empty" }, _("Every online block is in the zone the policy chooses."))),
    ];
}

function activity() {
    const m = state.manager;
    const job = m.JobProgress || [0, 0, 0];
    const decided = state.plan.filter(r => r.action !== "rezone");
    const meter = h("progress", { max: String(Math.max(job[2], 1)), value: String(job[0] + job[1]) });
    return [
        card(_("Current job"),
             job[2] ? [h("p", { id: "job" }, cockpit.format(_("$0 of $1 blocks done, $2 failed"), job[0], job[2], job[1])), meter]
                    : h("p", { id: "job" }, _("Idle")),
             dl([[_("Onlined since start"), m.BlocksOnlined], [_("Failed since start"), m.BlocksFailed]])),
        card(_("Events"),
             state.activity.length
                 ? h("ol", { class: "mh-events", id: "events" }, state.activity.map(e => h("li", { class: "mh-event-" + e.kind }, h("time", {}, e.time), " ", e.text)))
                 : h("p", { class: "mh-empty", id: "events" }, _("Nothing happened since this page was opened."))),
        card(_("Decisions for offline blocks"),
             decided.length
                 ? table([_("Block"), _("Node"), _("Action"), _("Online as"), _("Zone"), _("Rule"), _("Reason")],
                         decided.map(r => h("tr", { "data-block": r.block },
                                            h("td", {}, "memory" + r.block), h("td", {}, r.node), h("td", {}, r.action),
                                            h("td", {}, r.type), h("td", {}, r.zone), h("td", {}, r.rule),
                                            h("td", {}, r.reason, r.note ? h("div", { class: "mh-note" }, r.note) : null))))
                 : h("p", { class: "mh-empty" }, _("No block is offline."))),
    ];
}

const VIEWS = { overview, devices, activity };

function currentView() {
    const p = cockpit.location.path[0];
    return p in VIEWS ? p : "overview";
}

function render() {
    const view = currentView();
    for (const tab of document.querySelectorAll(".mh-tab"))
        tab.classList.toggle("mh-active", tab.dataset.view === view);

    const priv = document.getElementById("privilege");
    priv.hidden = permission.allowed !== false;
    priv.textContent = READ_ONLY + " " + _("Turn on administrative access to unplug, revert or rezone memory.");

    const fail = document.getElementById("failure");
    fail.hidden = !state.down;
    fail.textContent = state.down ? cockpit.format(_("memhotplugd cannot be reached: $0"), state.down) : "";

    const main = document.getElementById("view");
    // Keep what the user is typing across the re-renders that signals cause.
    const typed = document.getElementById("unplug-target");
    const keep = typed ? { value: typed.value, focus: document.activeElement === typed } : null;
    main.dataset.view = view;
    main.dataset.loaded = state.loaded ? "yes" : "no";
    main.replaceChildren(...(state.loaded ? [VIEWS[view]()].flat(Infinity).filter(x => x) : [h("p", { class: "mh-empty" }, _("Loading…"))]));
    const input = document.getElementById("unplug-target");
    if (input && keep) {
        input.value = keep.value;
        if (keep.focus)
            input.focus();
    }
}

function init() {
    cockpit.translate();
    for (const tab of document.querySelectorAll(".mh-tab"))
        tab.addEventListener("click", () => cockpit.location.go([tab.dataset.view]));
    cockpit.addEventListener("locationchanged", render);
    permission.addEventListener("changed", render);
    client.subscribe({ path_namespace: PATH }, onSignal);
    client.addEventListener("owner", (event, owner) => {
        if (owner === null)
            state.down = _("memhotplugd is not running");
        scheduleRefresh();
        render();
    });
    window.setInterval(() => {
        if (!cockpit.hidden)
            scheduleRefresh();
    }, POLL_MS);
    refresh();
}

if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", init);
else
    init();
