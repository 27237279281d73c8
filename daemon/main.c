/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "bus.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

static ManagerOptions arg = {
        .config_path = CONFIG_FILE_DEFAULT,
        .sysfs_root = "/sys",
        .iomem_path = "/proc/iomem",
        .proc_root = "/proc",
        .runtime_dir = "/run/memhotplugd",
        .log_level = -1,
};
static bool arg_check_config = false;
static LogTarget arg_log_target = LOG_TARGET_AUTO;

static void help(void)
{
        printf("Usage: memhotplugd [OPTIONS]\n\n"
               "Onlines hot-added memory blocks as the configured policy says.\n\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "  -c --config=FILE       Configuration file (default: %s);\n"
               "                         drop-ins are read from FILE.d/*.conf, then the\n"
               "                         credential %s in $CREDENTIALS_DIRECTORY\n"
               "     --check-config      Check the configuration, print the effective policy with\n"
               "                         the file and line of each setting, exit\n"
               "     --once              Online what is offline now by the policy, then exit\n"
               "                         (exit status 1 if any block failed)\n"
               "  -l --log-level=LEVEL   Log level: err, warning, notice, info, debug\n"
               "     --log-target=TARGET journal, console (stderr), null or auto (default)\n"
               "     --sysfs-root=DIR    Use DIR instead of /sys (for tests)\n"
               "     --iomem=FILE        Read FILE instead of /proc/iomem (for tests)\n"
               "     --proc-root=DIR     Read zoneinfo and vmstat in DIR instead of /proc (for tests)\n"
               "     --no-bus            Do not connect to D-Bus\n"
               "     --udev-rules-dirs=DIRS  Where to look for racing udev rules (for tests)\n"
               "     --bus-introspect    Print the D-Bus interfaces as introspection XML, exit\n"
               "     --runtime-dir=DIR   Where to keep state across restarts, and the capacity\n"
               "                         file of the last capacity-changed event\n"
               "                         (default: $RUNTIME_DIRECTORY or /run/memhotplugd)\n"
               "     --metrics-file=FILE Keep the metrics for Prometheus in FILE (*.prom), over\n"
               "                         MetricsFile=; \"\" for none (for tests)\n\n"
               "Exit status: 0 on success, 1 on a runtime failure, 78 if the configuration cannot be used.\n"
               "See memhotplugd(8) and memhotplugd.conf(5).\n",
               CONFIG_FILE_DEFAULT, CONFIG_CREDENTIAL);
}

static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_VERSION = 0x100,
                ARG_CHECK_CONFIG,
                ARG_ONCE,
                ARG_LOG_TARGET,
                ARG_SYSFS_ROOT,
                ARG_IOMEM,
                ARG_PROC_ROOT,
                ARG_RUNTIME_DIR,
                ARG_NO_BUS,
                ARG_BUS_INTROSPECT,
                ARG_UDEV_RULES_DIRS,
                ARG_METRICS_FILE,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "once", no_argument, NULL, ARG_ONCE },
                { "log-level", required_argument, NULL, 'l' },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "sysfs-root", required_argument, NULL, ARG_SYSFS_ROOT },
                { "iomem", required_argument, NULL, ARG_IOMEM },
                { "proc-root", required_argument, NULL, ARG_PROC_ROOT },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "no-bus", no_argument, NULL, ARG_NO_BUS },
                { "bus-introspect", no_argument, NULL, ARG_BUS_INTROSPECT },
                { "udev-rules-dirs", required_argument, NULL, ARG_UDEV_RULES_DIRS },
                { "metrics-file", required_argument, NULL, ARG_METRICS_FILE },
                {},
        };
        const char *e;
        int c, r;

        e = getenv("RUNTIME_DIRECTORY");
        if (e && *e && !strchr(e, ':'))
                arg.runtime_dir = e;
        /* Set by systemd for the unit's LoadCredential=, and only then: not the system's state, so
         * it is read with --config too. */
        e = getenv("CREDENTIALS_DIRECTORY");
        if (e && *e)
                arg.credentials_dir = e;

        while ((c = getopt_long(argc, argv, "hc:l:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("memhotplugd %s\n", PROJECT_VERSION);
                        return 0;
                case 'c':
                        arg.config_path = optarg;
                        arg.config_required = true;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_ONCE:
                        arg.once = true;
                        break;
                case 'l':
                        if (parse_log_level(optarg, &arg.log_level) < 0)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Invalid log level: %s",
                                                       optarg);
                        break;
                case ARG_LOG_TARGET:
                        arg_log_target = log_target_from_string(optarg);
                        if (arg_log_target < 0)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Invalid log target: %s",
                                                       optarg);
                        break;
                case ARG_SYSFS_ROOT:
                        arg.sysfs_root = optarg;
                        break;
                case ARG_IOMEM:
                        arg.iomem_path = optarg;
                        break;
                case ARG_PROC_ROOT:
                        arg.proc_root = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        arg.runtime_dir = optarg;
                        break;
                case ARG_NO_BUS:
                        arg.no_bus = true;
                        break;
                case ARG_UDEV_RULES_DIRS:
                        arg.udev_rules_dirs = optarg;
                        break;
                case ARG_METRICS_FILE:
                        if (optarg[0] && optarg[0] != '/')
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
                                                       "--metrics-file needs an absolute path: %s", optarg);
                        arg.metrics_file = optarg;
                        break;
                case ARG_BUS_INTROSPECT:
                        r = bus_introspect(stdout);
                        if (r < 0)
                                return log_error_errno(r, "Failed to introspect the bus objects: %m");
                        return 0;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (optind < argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "This program takes no arguments.");
        return 1;
}

static int check_config(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        r = config_load_full(arg.config_path, arg.config_required, NULL, arg.credentials_dir, &c, &error,
                             NULL);
        if (r < 0) {
                log_error_errno(config_error_for_log(r), "%s", error ?: "Failed to load the configuration");
                return EX_CONFIG;
        }
        return config_dump(c, stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int block_stop_signals(void)
{
        sigset_t mask;

        if (sigemptyset(&mask) < 0 || sigaddset(&mask, SIGHUP) < 0 || sigaddset(&mask, SIGINT) < 0 ||
            sigaddset(&mask, SIGTERM) < 0)
                return -EINVAL;
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        return 0;
}

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_open(LOG_TARGET_AUTO);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        log_open(arg_log_target);
        if (arg.log_level >= 0)
                log_set_max_level(arg.log_level);

        if (arg_check_config)
                return check_config();

        r = manager_new(&arg, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                return EXIT_FAILURE;
        }
        /* A stop request during the start waits for the event loop, which takes these signals: it
         * must not end the daemon with kernel settings changed and not given back. */
        r = block_stop_signals();
        if (r < 0)
                log_warning_errno(r, "Failed to block the stop signals during the start, ignoring: %m");
        /* Before anything can fail: a start that fails gives back what a killed run changed. */
        manager_recover_settings(m);
        if (manager_load_config(m) < 0) {
                manager_stop(m);
                return EX_CONFIG;
        }
        r = manager_start(m);
        if (r >= 0)
                r = manager_run(m);
        /* Whatever happened, hand the kernel settings back as they were. */
        manager_stop(m);
        return r < 0 ? EXIT_FAILURE : r;
}
