/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocks.h"
#include "onliner.h"
#include "sysfs-fixture.h"

static char root[] = "/tmp/memhotplugd-unit.XXXXXX";
static char conf_path[512], runtime_dir[512]; /* the manager keeps pointers to them */

static void make_dir(const char *rel)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                abort();
}

void fixture_write(const char *rel, const char *value)
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

const char *fixture_setup(bool numa, const char *conf)
{
        if (!mkdtemp(root))
                abort();
        make_dir("devices");
        make_dir("devices/system");
        make_dir("devices/system/memory");
        if (numa) {
                make_dir("devices/system/node");
                make_dir("devices/system/node/node0");
        }
        fixture_write("devices/system/memory/block_size_bytes", "8000000\n");
        fixture_write("devices/system/memory/auto_online_blocks", "offline\n");
        fixture_write("memhotplugd.conf", conf);
        return root;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

void fixture_cleanup(void)
{
        (void)nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fixture_make_block(unsigned index)
{
        char rel[128];

        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u", index);
        make_dir(rel);
        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u/state", index);
        fixture_write(rel, "offline\n");
        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u/valid_zones", index);
        fixture_write(rel, "Normal Movable\n");
        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u/phys_index", index);
        fixture_write(rel, "00000000\n");
}

void fixture_link_node(unsigned index)
{
        char path[512], target[64];

        /* As the kernel links: the node's link to the block first, then the block's to the node. */
        snprintf(target, sizeof(target), "../../memory/memory%u", index);
        snprintf(path, sizeof(path), "%s/devices/system/node/node0/memory%u", root, index);
        if (symlink(target, path) < 0)
                abort();
        snprintf(path, sizeof(path), "%s/devices/system/memory/memory%u/node0", root, index);
        if (symlink("../../node/node0", path) < 0)
                abort();
}

void fixture_acpi_device(const char *name)
{
        char rel[128];

        make_dir("bus");
        make_dir("bus/acpi");
        make_dir("bus/acpi/devices");
        snprintf(rel, sizeof(rel), "bus/acpi/devices/%s", name);
        make_dir(rel);
}

void fixture_acpi_bind(const char *name, unsigned n, unsigned index)
{
        char link[512], target[128];

        snprintf(link, sizeof(link), "%s/bus/acpi/devices/%s/physical_node%.0u", root, name, n);
        snprintf(target, sizeof(target), "../../../devices/system/memory/memory%u", index);
        if (symlink(target, link) < 0)
                abort();
        snprintf(link, sizeof(link), "%s/devices/system/memory/memory%u/firmware_node", root, index);
        snprintf(target, sizeof(target), "../../../../bus/acpi/devices/%s", name);
        if (symlink(target, link) < 0)
                abort();
}

const char *fixture_read(const char *rel, char *buf, size_t size)
{
        char path[512];
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        n = fread(buf, 1, size - 1, f);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

const char *fixture_block_state(unsigned index, char *buf, size_t size)
{
        char rel[64];

        snprintf(rel, sizeof(rel), "devices/system/memory/memory%u/state", index);
        if (!fixture_read(rel, buf, size))
                return "";
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

int fixture_new_manager(Manager **ret)
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
                r = manager_setup_stages(m);
        if (r < 0) {
                manager_free(m);
                return r;
        }
        m->block_size = 128 << 20;
        *ret = m;
        return 0;
}
