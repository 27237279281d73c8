/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A process that needs memory, for the memory-pressure VM scenario.
 *
 * Usage: mem-hog MIB
 * Maps MIB MiB of anonymous memory and writes to every page (so the kernel must back it), one MiB
 * at a time, then prints "held MIB" and waits for a signal, holding it. Built static by the VM
 * harness; the guest has no swap, so what it holds cannot be paged out. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        long page = sysconf(_SC_PAGESIZE);
        unsigned long mib;
        char *p;

        if (argc != 2 || (mib = strtoul(argv[1], NULL, 10)) == 0) {
                fprintf(stderr, "usage: mem-hog MIB\n");
                return 2;
        }
        p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        for (unsigned long i = 0; i < mib << 20; i += page)
                p[i] = 1;
        printf("held %lu\n", mib);
        fflush(stdout);
        for (;;)
                pause();
}
