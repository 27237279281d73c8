/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "doctor.h"
#include "tap.h"

/* The text parsers under memhotplugctl doctor: a kernel config, the kernel command line, and the
 * daemon's --check-config dump. The checks themselves run on fake trees in
 * tests/integration/test-doctor.py. */

static const char *get(int (*fn)(const char *, const char *, char **), const char *text, const char *key)
{
        static char *last;

        free(last);
        last = NULL;
        if (fn(text, key, &last) < 0)
                abort();
        return last;
}

static void test_kconfig(void)
{
        static const char config[] = "#\n"
                                     "CONFIG_MEMORY_HOTPLUG=y\n"
                                     "# CONFIG_MEMORY_HOTREMOVE is not set\n"
                                     "CONFIG_MEMORY_HOTPLUG_DEFAULT_ONLINE=y\n"
                                     "CONFIG_DEV_DAX_KMEM=m\n"
                                     "CONFIG_CMDLINE=\"quiet\"";

        tap_is_str(get(kconfig_get, config, "MEMORY_HOTPLUG"), "y", "CONFIG_MEMORY_HOTPLUG=y");
        tap_is_str(get(kconfig_get, config, "MEMORY_HOTREMOVE"), NULL, "\"is not set\" is not set");
        tap_is_str(get(kconfig_get, config, "MEMORY_HOTPLUG_DEFAULT_ONLINE"), "y",
                   "an option whose name another one begins with is found whole");
        tap_is_str(get(kconfig_get, config, "DEV_DAX_KMEM"), "m", "a module");
        tap_is_str(get(kconfig_get, config, "DEV_DAX"), NULL, "DEV_DAX is not DEV_DAX_KMEM");
        tap_is_str(get(kconfig_get, config, "CMDLINE"), "\"quiet\"", "the last line, without a newline");
        tap_is_str(get(kconfig_get, "", "MEMORY_HOTPLUG"), NULL, "an empty config");
}

static void test_cmdline(void)
{
        static const char cmdline[] = "BOOT_IMAGE=/vmlinuz memhp_default_state=online ro movable_node "
                                      "memhp_default_state=offline memory_hotplug.memmap_on_memory=1\n";

        tap_is_str(get(cmdline_get, cmdline, "memhp_default_state"), "offline",
                   "the last of a repeated parameter, as the kernel takes it");
        tap_is_str(get(cmdline_get, cmdline, "movable_node"), "", "a bare word is \"\"");
        tap_is_str(get(cmdline_get, cmdline, "memory_hotplug.memmap_on_memory"), "1",
                   "a dotted module parameter");
        tap_is_str(get(cmdline_get, cmdline, "movable"), NULL, "a prefix of a word is not the word");
        tap_is_str(get(cmdline_get, cmdline, "kernelcore"), NULL, "absent");
        tap_is_str(get(cmdline_get, "", "movable_node"), NULL, "an empty command line");
}

static void test_check_config(void)
{
        static const char dump[] =
                "# Files read, in order: none, built-in defaults\n\n"
                "[Daemon]\nLockMemory=yes\nKernelAutoOnline=delegate\n\n[Memory]\nOnline=platform\n";

        tap_is_str(get(check_config_get, dump, "KernelAutoOnline"), "delegate",
                   "KernelAutoOnline= of the dump");
        tap_is_str(get(check_config_get, dump, "LockMemory"), "yes", "LockMemory= of the dump");
        tap_is_str(get(check_config_get, dump, "Online"), "platform", "a key of another section");
        tap_is_str(get(check_config_get, dump, "Kernel"), NULL, "a prefix of a key is not the key");
}

int main(void)
{
        test_kconfig();
        test_cmdline();
        test_check_config();
        return tap_done();
}
