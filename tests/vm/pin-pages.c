/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pin-pages MIB BLOCK_SIZE_HEX: a process that holds memory the kernel cannot migrate, for the
 * unplug VM tests. It allocates MIB MiB, touches every page and vmsplice()s the pages into pipes
 * that nobody reads: each page then carries an extra reference, migration fails on it with
 * EAGAIN, and the kernel's offline_pages() keeps retrying for as long as the pipes live.
 *
 * It prints "memoryN COUNT" for each memory block that holds pinned pages (from
 * /proc/self/pagemap; root only), most first, then "ready", and sleeps until killed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHUNK (1 << 20)

int main(int argc, char **argv)
{
        size_t size, page = (size_t)sysconf(_SC_PAGESIZE), n_blocks;
        uint64_t block_size, *counts;
        unsigned char *buf;
        int pagemap;

        if (argc != 3) {
                fprintf(stderr, "usage: pin-pages MIB BLOCK_SIZE_HEX\n");
                return 2;
        }
        size = strtoul(argv[1], NULL, 10) << 20;
        block_size = strtoull(argv[2], NULL, 16);
        buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED || block_size == 0) {
                perror("mmap");
                return 1;
        }
        memset(buf, 0x5a, size);

        for (size_t off = 0; off < size; off += CHUNK) {
                int p[2];
                struct iovec iov = { buf + off, CHUNK };

                if (pipe(p) < 0 || fcntl(p[1], F_SETPIPE_SZ, CHUNK) < 0) {
                        perror("pipe");
                        return 1;
                }
                while (iov.iov_len > 0) {
                        ssize_t k = vmsplice(p[1], &iov, 1, 0);

                        if (k <= 0) {
                                perror("vmsplice");
                                return 1;
                        }
                        iov.iov_base = (char *)iov.iov_base + k;
                        iov.iov_len -= (size_t)k;
                }
        }

        n_blocks = 1 << 16;
        counts = calloc(n_blocks, sizeof(uint64_t));
        pagemap = open("/proc/self/pagemap", O_RDONLY);
        if (!counts || pagemap < 0) {
                perror("pagemap");
                return 1;
        }
        for (size_t off = 0; off < size; off += page) {
                uint64_t e, block;

                if (pread(pagemap, &e, sizeof(e), (off_t)(((uintptr_t)buf + off) / page * sizeof(e))) !=
                            sizeof(e) ||
                    !(e >> 63))
                        continue;
                block = (e & ((UINT64_C(1) << 55) - 1)) * page / block_size;
                if (block < n_blocks)
                        counts[block]++;
        }
        for (;;) {
                size_t best = 0;

                for (size_t i = 1; i < n_blocks; i++)
                        if (counts[i] > counts[best])
                                best = i;
                if (counts[best] == 0)
                        break;
                printf("memory%zu %llu\n", best, (unsigned long long)counts[best]);
                counts[best] = 0;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}
