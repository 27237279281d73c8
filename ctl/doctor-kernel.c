/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "doctor.h"
#include "read-file.h"

/* A distribution's config is about 300 KiB; this cap only stops a file that is not one. */
#define KCONFIG_MAX ((size_t)8 << 20)

static void gzclosep(gzFile *f)
{
        if (*f)
                gzclose(*f);
}

/* /proc/config.gz (CONFIG_IKCONFIG_PROC) is gzip; opened like every other file first, so that a
 * FIFO or a device in the fake tree cannot stall us. */
static int read_gzip(const char *path, char **ret)
{
        _cleanup_(gzclosep) gzFile f = NULL;
        _cleanup_(freep) char *buf = NULL;
        _cleanup_(closep) int fd = -EBADF;
        size_t size = 0;
        int n;

        fd = open_regular_at(AT_FDCWD, path, NULL);
        if (fd < 0)
                return fd;
        f = gzdopen(fd, "r");
        if (!f)
                return -ENOMEM;
        TAKE_FD(fd);
        buf = malloc(KCONFIG_MAX + 1);
        if (!buf)
                return -ENOMEM;
        while (size < KCONFIG_MAX && (n = gzread(f, buf + size, (unsigned)(KCONFIG_MAX - size))) > 0)
                size += n;
        if (n < 0)
                return -EIO;
        if (size >= KCONFIG_MAX)
                return -EFBIG;
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int doctor_load_kernel(Doctor *d)
{
        _cleanup_(freep) char *gz = NULL, *boot = NULL, *plain = NULL;
        int r;

        assert(d);

        r = doctor_read_line(d, "/proc/sys/kernel/osrelease", &d->release);
        if (r == -ENOMEM)
                return r;
        r = doctor_read_line(d, "/proc/cmdline", &d->cmdline);
        if (r == -ENOMEM)
                return r;
        if (!d->cmdline) {
                d->cmdline = strdup("");
                if (!d->cmdline)
                        return -ENOMEM;
        }

        r = doctor_path(d, "/proc/config.gz", &gz);
        if (r < 0)
                return r;
        r = read_gzip(gz, &d->kconfig);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                d->kconfig_from = strdup("/proc/config.gz");
                return d->kconfig_from ? 0 : -ENOMEM;
        }
        if (!d->release)
                return 0;
        if (asprintf(&boot, "/boot/config-%s", d->release) < 0)
                return -ENOMEM;
        r = doctor_read_file(d, boot, KCONFIG_MAX, &d->kconfig);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                d->kconfig_from = TAKE_PTR(boot);
        return 0;
}

static bool kconfig_is(const Doctor *d, const char *option, const char *value)
{
        _cleanup_(freep) char *v = NULL;

        return d->kconfig && kconfig_get(d->kconfig, option, &v) >= 0 && v && streq(v, value);
}

/* What the kernel does with new memory unless told otherwise: auto_online_blocks' value at boot.
 * Linux 6.14 made it a choice of four (MHP_DEFAULT_ONLINE_TYPE_*); before, a yes/no. */
static const char *kernel_default_online(const Doctor *d, const char **ret_option)
{
        static const struct {
                const char *option, *value;
        } types[] = {
                { "MHP_DEFAULT_ONLINE_TYPE_OFFLINE", "offline" },
                { "MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO", "online" },
                { "MHP_DEFAULT_ONLINE_TYPE_ONLINE_KERNEL", "online_kernel" },
                { "MHP_DEFAULT_ONLINE_TYPE_ONLINE_MOVABLE", "online_movable" },
                { "MEMORY_HOTPLUG_DEFAULT_ONLINE", "online" },
        };

        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (kconfig_is(d, types[i].option, "y")) {
                        *ret_option = types[i].option;
                        return types[i].value;
                }
        *ret_option = NULL;
        return "offline";
}

static int check_options(Doctor *d)
{
        int r;

        if (!d->kconfig)
                return doctor_add(
                        d, SEVERITY_INFO, "kernel",
                        "modprobe configs, or install the kernel's config in /boot",
                        "The kernel's configuration could not be read (/proc/config.gz, /boot/config-%s): "
                        "its memory hotplug options were not checked",
                        strna(d->release));

        if (!kconfig_is(d, "MEMORY_HOTPLUG", "y"))
                return doctor_add(
                        d, SEVERITY_ERROR, "kernel", "use a kernel built with CONFIG_MEMORY_HOTPLUG=y",
                        "CONFIG_MEMORY_HOTPLUG is not set (%s): this kernel cannot add memory at run time",
                        d->kconfig_from);
        r = doctor_add(d, SEVERITY_OK, "kernel", NULL, "CONFIG_MEMORY_HOTPLUG=y (%s)", d->kconfig_from);
        if (r < 0)
                return r;
        if (!kconfig_is(d, "MEMORY_HOTREMOVE", "y"))
                r = doctor_add(d, SEVERITY_WARNING, "kernel",
                               "use a kernel built with CONFIG_MEMORY_HOTREMOVE=y",
                               "CONFIG_MEMORY_HOTREMOVE is not set: memory cannot be offlined or unplugged");
        else
                r = doctor_add(d, SEVERITY_OK, "kernel", NULL, "CONFIG_MEMORY_HOTREMOVE=y");
        if (r < 0)
                return r;
        if (!kconfig_is(d, "MHP_MEMMAP_ON_MEMORY", "y"))
                r = doctor_add(
                        d, SEVERITY_INFO, "kernel", NULL,
                        "CONFIG_MHP_MEMMAP_ON_MEMORY is not set: the struct pages of new memory always come "
                        "from memory already online (MemmapOnMemory= has no effect)");
        return r;
}

/* memhp_default_state= and the kernel's default decide what happens to memory that arrives before
 * the daemon has started: with takeover the daemon means to decide for all of it. */
static int check_boot_default(Doctor *d)
{
        _cleanup_(freep) char *state = NULL;
        const char *mode = d->daemon.mode, *option, *dflt;
        int r;

        r = cmdline_get(d->cmdline, "memhp_default_state", &state);
        if (r < 0)
                return r;
        dflt = kernel_default_online(d, &option);
        if (state && !streq(state, "offline")) {
                if (mode && streq(mode, "takeover"))
                        return doctor_add(
                                d, SEVERITY_ERROR, "cmdline",
                                "remove memhp_default_state= from the kernel command line, or set it to "
                                "offline",
                                "memhp_default_state=%s on the kernel command line: the kernel onlines "
                                "memory that arrives before memhotplugd starts, in a zone of its choice, "
                                "against KernelAutoOnline=takeover",
                                state);
                return doctor_add(
                        d, SEVERITY_INFO, "cmdline", NULL,
                        "memhp_default_state=%s on the kernel command line: the kernel onlines memory "
                        "that arrives before memhotplugd starts (KernelAutoOnline=%s)",
                        state, strna(mode));
        }
        if (state)
                return doctor_add(
                        d, SEVERITY_OK, "cmdline", NULL,
                        "memhp_default_state=offline: memory that arrives before memhotplugd starts waits "
                        "for it");
        if (!d->kconfig)
                return 0;
        if (streq(dflt, "offline"))
                return doctor_add(
                        d, SEVERITY_OK, "kernel", NULL,
                        "The kernel leaves new memory offline by default: memory that arrives before "
                        "memhotplugd starts waits for it");
        if (mode && streq(mode, "takeover"))
                return doctor_add(
                        d, SEVERITY_WARNING, "kernel", "boot with memhp_default_state=offline",
                        "CONFIG_%s=y: the kernel onlines memory that arrives before memhotplugd starts "
                        "(coldplugged DIMMs, virtio-mem at boot) as %s, not as the policy says",
                        option, dflt);
        return doctor_add(d, SEVERITY_INFO, "kernel", NULL,
                          "CONFIG_%s=y: the kernel onlines new memory as %s unless told otherwise", option,
                          dflt);
}

static int check_cmdline(Doctor *d)
{
        static const struct {
                const char *key, *what;
        } params[] = {
                { "memory_hotplug.memmap_on_memory", "where the struct pages of new memory go" },
                { "memory_hotplug.online_policy", "the kernel's zone choice for onlined memory" },
                { "memory_hotplug.auto_movable_ratio",
                  "the MOVABLE:KERNEL ratio of the kernel's auto-movable policy" },
                { "memory_hotplug.auto_movable_numa_aware", "whether the kernel's ratio is per node" },
                { "movable_node", "memory the firmware marks hot-pluggable is ZONE_MOVABLE from boot" },
                { "kernelcore",
                  "part of the boot memory is ZONE_MOVABLE, and counts as movable for Online=auto-movable" },
                { "movablecore",
                  "part of the boot memory is ZONE_MOVABLE, and counts as movable for Online=auto-movable" },
        };
        bool delegate = d->daemon.mode && streq(d->daemon.mode, "delegate");
        int r;

        r = check_boot_default(d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(params); i++) {
                _cleanup_(freep) char *v = NULL;

                r = cmdline_get(d->cmdline, params[i].key, &v);
                if (r < 0)
                        return r;
                if (!v)
                        continue;
                r = doctor_add(d, SEVERITY_INFO, "cmdline", NULL, "%s%s%s on the kernel command line: %s%s",
                               params[i].key, *v ? "=" : "", v, params[i].what,
                               delegate && strncmp(params[i].key, "memory_hotplug.", 15) == 0 &&
                                               !strstr(params[i].key, "memmap")
                                       ? " (KernelAutoOnline=delegate sets it while memhotplugd runs)"
                                       : "");
                if (r < 0)
                        return r;
        }
        return 0;
}

int doctor_check_kernel(Doctor *d)
{
        int r;

        assert(d);

        r = check_options(d);
        if (r < 0)
                return r;
        return check_cmdline(d);
}

int doctor_check_auto_online(Doctor *d)
{
        _cleanup_(freep) char *v = NULL;
        const char *mode;
        int r;

        assert(d);

        mode = d->daemon.mode;

        if (!doctor_exists(d, "/sys/devices/system/memory"))
                return doctor_add(
                        d, SEVERITY_ERROR, "auto-online", "use a kernel built with CONFIG_MEMORY_HOTPLUG=y",
                        "%s/sys/devices/system/memory does not exist: this kernel has no memory blocks to "
                        "online",
                        d->root);
        r = doctor_read_line(d, "/sys/devices/system/memory/auto_online_blocks", &v);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return doctor_add(d, SEVERITY_WARNING, "auto-online", NULL,
                                  "auto_online_blocks could not be read: %s", strerror(-r));
        if (streq(v, "offline"))
                return doctor_add(d, SEVERITY_OK, "auto-online", NULL,
                                  "auto_online_blocks is offline: new memory waits for memhotplugd%s",
                                  d->daemon.running && streq_ptr(mode, "takeover")
                                          ? ", which decides for every new block (KernelAutoOnline=takeover)"
                                          : "");
        if (!d->daemon.running)
                return doctor_add(
                        d, SEVERITY_INFO, "auto-online", NULL,
                        "auto_online_blocks is %s: until memhotplugd runs, the kernel onlines new memory "
                        "itself",
                        v);
        if (streq_ptr(mode, "takeover"))
                return doctor_add(
                        d, SEVERITY_ERROR, "auto-online",
                        "find what writes auto_online_blocks, then systemctl restart memhotplugd",
                        "auto_online_blocks is %s although memhotplugd runs with "
                        "KernelAutoOnline=takeover: something else wrote it, and the kernel onlines new "
                        "memory itself",
                        v);
        if (streq_ptr(mode, "delegate"))
                return doctor_add(
                        d, SEVERITY_OK, "auto-online", NULL,
                        "auto_online_blocks is %s: the kernel onlines new memory as the policy says "
                        "(KernelAutoOnline=delegate)",
                        v);
        return doctor_add(
                d, SEVERITY_INFO, "auto-online", NULL,
                "auto_online_blocks is %s: the kernel onlines new memory itself, memhotplugd handles what "
                "it leaves offline (KernelAutoOnline=%s)",
                v, strna(mode));
}
