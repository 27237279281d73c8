/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel-auto.h"
#include "log.h"
#include "tiering.h"

void tiering_restore(Manager *m)
{
        SavedSetting *st;
        int r;

        assert(m);

        st = kernel_setting(m, SETTING_DEMOTION);

        r = setting_restore(m->sysfs, m->options.runtime_dir, SETTING_DEMOTION, st);
        if (r < 0)
                log_error_errno(r, "Failed to restore demotion_enabled=%s: %m", st->original);
        else if (r > 0)
                log_info("Restored the kernel's demotion_enabled=%s", st->original);
}

void tiering_apply(Manager *m)
{
        SavedSetting *st;
        DemotionMode mode;
        SettingStep step;
        int r;

        assert(m);

        st = kernel_setting(m, SETTING_DEMOTION);
        mode = m->config->demotion;

        if (mode == DEMOTION_KEEP) {
                tiering_restore(m); /* a reload that drops Demotion=, or a crashed run's change */
                return;
        }
        r = setting_set(m->sysfs, m->options.runtime_dir, SETTING_DEMOTION, st,
                        mode == DEMOTION_YES ? "true" : "false", &step);
        if (r < 0 && step == SETTING_STEP_READ)
                log_warning_errno(
                        r, "Demotion=%s, but the kernel's demotion_enabled cannot be read, ignoring: %m",
                        demotion_mode_to_string(mode));
        else if (r < 0 && step == SETTING_STEP_SAVE)
                log_warning_errno(r,
                                  "Demotion=%s, but the kernel's demotion_enabled=%s cannot be saved in %s, "
                                  "leaving it: %m",
                                  demotion_mode_to_string(mode), mode == DEMOTION_YES ? "false" : "true",
                                  m->options.runtime_dir);
        else if (r < 0)
                log_warning_errno(r, "Demotion=%s, but writing demotion_enabled failed: %m",
                                  demotion_mode_to_string(mode));
        else if (r > 0 && st->saved)
                log_info("Demotion=%s: demotion_enabled=%s while memhotplugd runs (the kernel had %s)",
                         demotion_mode_to_string(mode), st->intended, st->original);
}

const char *tiering_demotion_state(Manager *m)
{
        bool on;

        assert(m);

        if (demotion_read(m->sysfs, &on) < 0)
                return "unsupported";
        return on ? "enabled" : "disabled";
}

static uint64_t node_online_bytes(const Manager *m, int node)
{
        uint64_t bytes = 0;

        for (size_t i = 0; i < m->n_blocks; i++)
                if (block_known(&m->blocks[i]) && m->blocks[i].node == node &&
                    m->blocks[i].state == BLOCK_ONLINE)
                        bytes += m->block_size;
        return bytes;
}

bool tiering_node_warning(Manager *m, int node, const int *tiers, char *buf, size_t size)
{
        int faster = -1;
        uint64_t online;
        bool on;

        assert(m);
        assert(tiers);
        assert(buf);

        if (node < 0 || node >= NODES_MAX || tiers[node] < 0)
                return false;
        if (demotion_read(m->sysfs, &on) < 0 || on)
                return false;
        if (tiers_node_has_cpus(m->sysfs, node) != 0)
                return false;
        /* A node with CPUs in a faster tier: its memory is what allocations take first. */
        for (int i = 0; i < NODES_MAX && faster < 0; i++)
                if (tiers[i] >= 0 && tiers[i] < tiers[node] && tiers_node_has_cpus(m->sysfs, i) > 0)
                        faster = i;
        if (faster < 0)
                return false;
        online = node_online_bytes(m, node);
        if (online == 0)
                return false;
        snprintf(
                buf, size,
                "node %d (memory_tier%d, no CPUs) has %" PRIu64 " MiB online in a slower tier than node %d "
                "(memory_tier%d), and demotion is disabled: only allocations that fall back from full "
                "nodes, or are bound to node %d, use it (Demotion=yes enables demotion of cold pages to it)",
                node, tiers[node], online >> 20, faster, tiers[faster], node);
        return true;
}

void tiering_check(Manager *m, int node)
{
        _cleanup_(freep) int *tiers = NULL;
        char buf[512];

        assert(m);

        if (node >= NODES_MAX || (node >= 0 && m->kernel->tiering_checked[node]))
                return;
        tiers = malloc(NODES_MAX * sizeof(int));
        if (!tiers || tiers_read(m->sysfs, tiers) < 0)
                return; /* no tiers: nothing to say */
        for (int n = node < 0 ? 0 : node; n < (node < 0 ? NODES_MAX : node + 1); n++) {
                if (m->kernel->tiering_checked[n] || tiers[n] < 0)
                        continue;
                /* Once per node and run: the journal says it when the memory comes, status always. */
                m->kernel->tiering_checked[n] = true;
                if (tiering_node_warning(m, n, tiers, buf, sizeof(buf)))
                        log_warning("Tiering: %s", buf);
        }
}
