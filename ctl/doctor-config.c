/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor.h"
#include "read-file.h"

#define CONFIG_FILE "/etc/memhotplugd/memhotplugd.conf"
/* The shell's status for a command that was not found: exec failed in the child. */
#define EXIT_NOT_RUN     127
#define CHECK_CONFIG_MAX ((size_t)1 << 20)

/* What a child writes until it exits, capped: read_fd_capped() takes regular files only. */
static int read_pipe(int fd, char **ret)
{
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        ssize_t n;

        buf = malloc(CHECK_CONFIG_MAX + 1);
        if (!buf)
                return -ENOMEM;
        while (size < CHECK_CONFIG_MAX) {
                n = read(fd, buf + size, CHECK_CONFIG_MAX - size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                size += n;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* memhotplugd --check-config prints the policy the daemon would run with, from the files and
 * drop-ins it would read: the one parser, not a second one here (ctl/ does not link policy/).
 * Under a root, its memhotplugd.conf (and FILE.d) or none. Returns the exit status and the output
 * (stdout and stderr), or a negative errno when it could not be run. */
static int run_check_config(const Doctor *d, const char *binary, char **ret_output)
{
        _cleanup_(freep) char *conf = NULL;
        _cleanup_(closep) int rfd = -EBADF;
        int fds[2], status;
        pid_t pid;
        int r;

        if (*d->root) {
                r = doctor_path(d, CONFIG_FILE, &conf);
                if (r < 0)
                        return r;
                if (access(conf, F_OK) < 0) {
                        free(conf);
                        conf = strdup("/dev/null"); /* the built-in defaults */
                        if (!conf)
                                return -ENOMEM;
                }
        }
        if (strchr(binary, '/') && access(binary, X_OK) < 0)
                return negative_errno();
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                if (dup2(fds[1], STDOUT_FILENO) < 0 || dup2(fds[1], STDERR_FILENO) < 0)
                        _exit(127);
                /* Its log goes to stderr, which is ours to read. */
                if (conf)
                        execlp(binary, binary, "--check-config", "--log-target=console", "--config", conf,
                               (char *)NULL);
                else
                        execlp(binary, binary, "--check-config", "--log-target=console", (char *)NULL);
                _exit(EXIT_NOT_RUN);
        }
        close(fds[1]);
        rfd = fds[0];
        r = read_pipe(rfd, ret_output);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (r < 0)
                return r;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int last_line(const char *output, char **ret)
{
        size_t n = strlen(output);
        const char *start;

        while (n > 0 && output[n - 1] == '\n')
                n--;
        for (start = output + n; start > output && start[-1] != '\n'; start--)
                ;
        *ret = strndup(start, output + n - start);
        return *ret ? 0 : -ENOMEM;
}

int doctor_check_daemon_config(Doctor *d, const char *binary)
{
        _cleanup_(freep) char *out = NULL, *mode = NULL, *lock = NULL, *why = NULL;
        int r;

        assert(d);
        assert(binary);

        r = run_check_config(d, binary, &out);
        if (r == -ENOMEM)
                return r;
        if (r == EXIT_NOT_RUN)
                r = -ENOENT;
        if (r < 0)
                return doctor_add(d, SEVERITY_WARNING, "config", NULL,
                                  "%s could not be run (%s): the configuration was not checked, and "
                                  "KernelAutoOnline= is not known",
                                  binary, strerror(-r));
        if (r != 0) {
                r = last_line(out, &why);
                if (r < 0)
                        return r;
                return doctor_add(d, SEVERITY_ERROR, "config",
                                  "memhotplugd --check-config, and fix what it says",
                                  "The configuration does not load: %s", why);
        }
        r = check_config_get(out, "KernelAutoOnline", &mode);
        if (r < 0)
                return r;
        r = check_config_get(out, "LockMemory", &lock);
        if (r < 0)
                return r;
        d->daemon.lock_memory = lock && streq(lock, "yes");
        /* What the daemon runs with is its answer on the bus: it may have fallen back. */
        if (!d->daemon.mode)
                d->daemon.mode = TAKE_PTR(mode);
        return doctor_add(d, SEVERITY_OK, "config", NULL, "The configuration loads: KernelAutoOnline=%s",
                          strna(mode ?: d->daemon.mode));
}
