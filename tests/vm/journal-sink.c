/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for systemd-journald in the test VM, so a scenario can see the structured fields
 * memhotplugd sends (CXL_SERIAL=, DAX_DEVICE=, MESSAGE_ID=…), which --log-target=stderr drops.
 *
 * Usage: journal-sink OUTPUT
 * Binds /run/systemd/journal/socket (what sd_journal_sendv() writes to) and appends every
 * datagram to OUTPUT as one record: its "FIELD=value" lines, then an empty line. Binary-encoded
 * fields (a value with a newline) are written as "FIELD=<binary>"; payloads passed as a memfd
 * (entries over the datagram limit) are not read. Built static by the VM harness. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char buf[256 * 1024];

int main(int argc, char **argv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
        FILE *out;
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: journal-sink OUTPUT\n");
                return 2;
        }
        out = fopen(argv[1], "ae");
        if (!out) {
                perror(argv[1]);
                return 1;
        }
        setvbuf(out, NULL, _IOLBF, 0);
        mkdir("/run/systemd", 0755);
        mkdir("/run/systemd/journal", 0755);
        unlink(sa.sun_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("journal socket");
                return 1;
        }
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                char *p, *end;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("recv");
                        return 1;
                }
                p = buf;
                end = buf + n;
                while (p < end) {
                        char *nl = memchr(p, '\n', end - p);
                        char *eq = memchr(p, '=', (nl ? nl : end) - p);

                        if (!nl)
                                nl = end;
                        if (!eq) {
                                /* FIELD\n<le64 size><data>\n: the binary form. */
                                uint64_t len = 0;

                                fprintf(out, "%.*s=<binary>\n", (int)(nl - p), p);
                                if (end - nl < 9)
                                        break;
                                memcpy(&len, nl + 1, 8);
                                if (len > (uint64_t)(end - nl - 9))
                                        break;
                                p = nl + 9 + len + 1;
                                continue;
                        }
                        fprintf(out, "%.*s\n", (int)(nl - p), p);
                        p = nl + 1;
                }
                fputc('\n', out);
        }
}
