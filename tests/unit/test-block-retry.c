/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hot-added block whose handling runs out of memory is not lost: the daemon looks at it again a
 * moment later (blocks_retry_later()), and onlines it then.
 *
 * The test links with -Wl,--wrap=realloc, so every realloc() of the daemon's code comes here first
 * and can be failed: the block table's growth (a block past the end of the table, as a hot-added
 * DIMM above boot memory is) and the queue's. The block lives in a temporary sysfs root without
 * NUMA; the daemon's own blocks_on_uevent() gets its "add" and its event loop runs the retry. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocks.h"
#include "log.h"
#include "manager.h"
#include "onliner.h"
#include "queue.h"
#include "tap.h"

void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);

/* Fail the next realloc() to this size (0: none), once. */
static size_t fail_size;
static unsigned failed;

void *__wrap_realloc(void *p, size_t size)
{
        if (fail_size != 0 && size == fail_size) {
                fail_size = 0;
                failed++;
                errno = ENOMEM;
                return NULL;
        }
        return __real_realloc(p, size);
}

static char root[] = "/tmp/test-block-retry.XXXXXX";
static char conf_path[512], runtime_dir[512]; /* the manager keeps pointers to them */

static void write_at(const char *rel, const char *value)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "we");
        if (!f)
                abort();
        fputs(value, f);
        fclose(f);
}

static void make_block(unsigned index)
{
        char dir[512], rel[128];

        snprintf(dir, sizeof(dir), "%s/devices/system/memory/memory%u", root, index);
        if (mkdir(dir, 0755) < 0)
                abort();
        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u/state", index);
        write_at(rel, "offline\n");
        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u/valid_zones", index);
        write_at(rel, "Normal Movable\n");
        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u/phys_index", index);
        write_at(rel, "00000000\n");
}

static const char *block_state(unsigned index, char *buf, size_t size)
{
        char path[512];
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/devices/system/memory/memory%u/state", root, index);
        f = fopen(path, "re");
        if (!f)
                return "";
        n = fread(buf, 1, size - 1, f);
        fclose(f);
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

static int new_manager(Manager **ret)
{
        ManagerOptions o = {
                .config_path = conf_path,
                .config_required = true,
                .sysfs_root = root,
                .runtime_dir = runtime_dir,
                .no_bus = true,
                .log_level = -1,
        };
        Manager *m;
        int r;

        snprintf(conf_path, sizeof(conf_path), "%s/memhotplugd.conf", root);
        snprintf(runtime_dir, sizeof(runtime_dir), "%s/run", root);
        r = manager_new(&o, &m);
        if (r < 0)
                return r;
        r = manager_load_config(m);
        if (r >= 0)
                r = onliner_setup(m);
        if (r >= 0)
                r = blocks_setup(m);
        if (r < 0) {
                manager_free(m);
                return r;
        }
        m->block_size = 128 << 20;
        *ret = m;
        return 0;
}

/* Runs the loop until the block's state file says what the daemon wrote, or 5 s pass. */
static bool wait_written(Manager *m, unsigned index, const char *want)
{
        char buf[64];

        for (int i = 0; i < 500; i++) {
                if (streq(block_state(index, buf, sizeof(buf)), want))
                        return true;
                (void)sd_event_run(m->event, 10 * 1000);
        }
        return false;
}

static bool retry_armed(Manager *m)
{
        int enabled = SD_EVENT_OFF;

        return sd_event_source_get_enabled(m->retry_source, &enabled) >= 0 && enabled != SD_EVENT_OFF;
}

/* The block table cannot grow for a block past its end: the uevent is not lost. */
static void test_table(void)
{
        Manager *m = NULL;
        char buf[64];
        bool ok;

        make_block(40);
        tap_ok(new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        fail_size = 41 * sizeof(Block);
        blocks_on_uevent(m, "add", "memory40");
        tap_is_int(failed, 1, "the block table's realloc failed");
        tap_ok(m->n_blocks <= 40 && queue_size(&m->queue) == 0, "memory40 not in the table, not queued");
        tap_ok(retry_armed(m), "the retry scan is armed");
        ok = wait_written(m, 40, "online_movable");
        tap_ok(ok, "memory40 onlined by the retry (state: %s)", block_state(40, buf, sizeof(buf)));
        tap_ok(!retry_armed(m), "no retry left");
        manager_free(m);
        write_at("devices/system/memory/memory40/state", "online\n"); /* as the kernel would */
}

/* The queue cannot grow: the block is marked and queued by the retry. */
static void test_queue(void)
{
        Manager *m = NULL;
        char buf[64];
        bool ok;

        make_block(50);
        tap_ok(new_manager(&m) >= 0, "manager set up");
        if (!m)
                return;
        failed = 0;
        fail_size = 64 * sizeof(QueueEntry);
        blocks_on_uevent(m, "add", "memory50");
        tap_is_int(failed, 1, "the queue's realloc failed");
        tap_ok(m->n_blocks > 50 && (m->blocks[50].flags & BLOCK_RETRY) &&
                       !(m->blocks[50].flags & BLOCK_QUEUED),
               "memory50 known, marked for the retry, not queued");
        tap_ok(retry_armed(m), "the retry scan is armed");
        ok = wait_written(m, 50, "online_movable");
        tap_ok(ok, "memory50 onlined by the retry (state: %s)", block_state(50, buf, sizeof(buf)));
        tap_ok(!(m->blocks[50].flags & BLOCK_RETRY), "memory50 no longer marked");
        manager_free(m);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

int main(void)
{
        char dir[512];

        if (!mkdtemp(root))
                return 1;
        if (mkdir(strcat(strcpy(dir, root), "/devices"), 0755) < 0 ||
            mkdir(strcat(dir, "/system"), 0755) < 0 || mkdir(strcat(dir, "/memory"), 0755) < 0)
                return 1;
        write_at("devices/system/memory/block_size_bytes", "8000000\n");
        write_at("devices/system/memory/auto_online_blocks", "offline\n");
        write_at("memhotplugd.conf", "[Daemon]\nKernelAutoOnline=respect\n[Memory]\nOnline=movable\n");
        log_open(LOG_TARGET_STDERR);

        test_table();
        test_queue();

        (void)nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        printf("1..%u\n", tap_n);
        return tap_failed > 0;
}
