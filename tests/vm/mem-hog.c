/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A process that needs memory, for the memory-pressure VM scenarios.
 *
 * Usage: mem-hog MIB
 *        mem-hog --evict PID KIB MIB
 * Maps MIB MiB of anonymous memory and writes to every page (so the kernel must back it), one MiB
 * at a time, then prints "held MIB" and waits for a signal, holding it. Built static by the VM
 * harness; the guest has no swap, so what it holds cannot be paged out.
 * With --evict it stops early, once process PID's RssFile (its file pages in RAM) is KIB or less,
 * and prints "held N rssfile K": it pushes the kernel into reclaiming just until the other
 * process's code is evicted, and no further. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* PID's RssFile in KiB, or -1. */
static long rss_file(const char *pid)
{
        char path[64], line[128];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%s/status", pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "RssFile: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

int main(int argc, char **argv)
{
        long page = sysconf(_SC_PAGESIZE), target = -1, rss = -1;
        const char *pid = NULL;
        unsigned long mib, done;
        char *p;

        if (argc == 5 && strcmp(argv[1], "--evict") == 0) {
                pid = argv[2];
                target = strtol(argv[3], NULL, 10);
                argv += 3;
                argc -= 3;
        }
        if (argc != 2 || (mib = strtoul(argv[1], NULL, 10)) == 0) {
                fprintf(stderr, "usage: mem-hog MIB | mem-hog --evict PID KIB MIB\n");
                return 2;
        }
        p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        for (done = 0; done < mib; done++) {
                for (unsigned long i = 0; i < 1UL << 20; i += page)
                        p[(done << 20) + i] = 1;
                if (pid && (rss = rss_file(pid)) >= 0 && rss <= target) {
                        done++;
                        break;
                }
        }
        if (pid)
                printf("held %lu rssfile %ld\n", done, rss);
        else
                printf("held %lu\n", mib);
        fflush(stdout);
        for (;;)
                pause();
}
