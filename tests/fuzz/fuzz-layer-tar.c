/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-layer-tar.c - libFuzzer target for layer extraction: each input is a
 * (possibly compressed) tar unpacked into a fresh temporary directory, which
 * is then checked to have stayed where it was put (a sentinel directory next
 * to it must stay empty) and deleted. Seeds: tests/fuzz/corpus/layer-tar/.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "unpack.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
        const uint8_t *p;
        size_t n, off;
};

static ssize_t mem_read(void *userdata, void *buf, size_t size)
{
        struct mem *m = userdata;
        size_t k = MIN(size, m->n - m->off);
        memcpy(buf, m->p + m->off, k);
        m->off += k;
        return (ssize_t)k;
}

static bool dir_empty(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        bool empty = true;
        if (!d)
                return true;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        empty = false;
        closedir(d);
        return empty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char base[] = "/tmp/hull-fuzz-layer-XXXXXX", layer[64], sentinel[64];
        struct mem m = { data, size, 0 };
        struct unpack_result res;
        int fd;

        if (!mkdtemp(base))
                abort();
        snprintf(layer, sizeof(layer), "%s/layer", base);
        snprintf(sentinel, sizeof(sentinel), "%s/outside", base);
        if (mkdir(layer, 0755) < 0 || mkdir(sentinel, 0755) < 0)
                abort();
        fd = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                abort();
        (void)unpack_layer(mem_read, &m, fd, NULL, &res);
        close(fd);
        /* Whatever the archive said, nothing may appear next to the layer. */
        if (!dir_empty(sentinel))
                abort();
        {
                DIR *d = opendir(base);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !streq(de->d_name, "layer") &&
                            !streq(de->d_name, "outside"))
                                abort();
                if (d)
                        closedir(d);
        }
        rm_rf(base);
        err_clear();
        return 0;
}
