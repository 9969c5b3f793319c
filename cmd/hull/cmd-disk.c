/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-disk.c - `hull disk create|convert|inspect|resize`: disk images in the formats
 * hull-vmm reads (raw, qcow2, VHD), through src/vmm/disk and src/engine/vm-disk.c.
 * Format names: raw, qcow2, vhd (QEMU's "vpc" is accepted for vhd).
 */
#include <json-c/json.h>
#include <stdio.h>

#include "cmd-vm.h"
#include "error.h"
#include "json.h"
#include "util.h"
#include "vm-disk.h"

const struct cmd_option disk_create_opts[] = {
        {"format", 'f', OPT_VALUE, "FORMAT", "raw (default), qcow2 or vhd"},
        {"size", 's', OPT_VALUE, "SIZE",
         "virtual size (e.g. 10G; default with --backing: the backing file's)"},
        {"backing", 'b', OPT_VALUE, "FILE",
         "qcow2: a backing file (relative names: to the new image's directory)"},
        {"fixed", 0, OPT_FLAG, NULL, "vhd: a fixed (preallocated) disk instead of a dynamic one"},
        {},
};
const struct cmd_option disk_convert_opts[] = {
        {"source-format", 'f', OPT_VALUE, "FORMAT", "the source's format (default: detected)"},
        {"format", 'O', OPT_VALUE, "FORMAT", "the new image's format (default raw)"},
        {"fixed", 0, OPT_FLAG, NULL, "vhd: a fixed disk"},
        {},
};
const struct cmd_option disk_inspect_opts[] = {
        {"format", 0, OPT_VALUE, "FORMAT", "text (default) or json (qemu-img info's field names)"},
        {},
};
const struct cmd_option disk_resize_opts[] = {
        {"shrink", 0, OPT_FLAG, NULL, "allow making the disk smaller (what lies past the new end is lost)"},
        {},
};

static int format_opt(struct cmd_context *c, const char *name, enum disk_format def, enum disk_format *ret)
{
        const char *v = cmd_opt(c, name);
        if (!v) {
                *ret = def;
                return 0;
        }
        *ret = disk_format_from_string(streq(v, "vpc") ? "vhd" : v);
        if (*ret < 0)
                return cmd_fail(-EINVAL, "--%s: unknown disk format '%s' (raw, qcow2, vhd)", name, v);
        return 0;
}

int cmd_disk_create(struct cmd_context *c)
{
        struct disk_create_options o = {.backing = cmd_opt(c, "backing"),
                                        .backing_format = _DISK_FORMAT_INVALID,
                                        .vhd_fixed = cmd_flag(c, "fixed")};
        const char *size = cmd_opt(c, "size");
        int r;

        if ((r = format_opt(c, "format", DISK_FORMAT_RAW, &o.format)) < 0)
                return r;
        if (!size && !o.backing)
                return cmd_fail(-EINVAL, "%s", "--size is needed (without --backing)");
        if (size && (parse_size(size, &o.size) < 0 || o.size == 0 || o.size % 512))
                return cmd_fail(-EINVAL, "--size: invalid size '%s' (a positive multiple of 512 bytes)",
                                size);
        if (o.backing && o.format != DISK_FORMAT_QCOW2)
                return cmd_fail(-EINVAL, "%s", "--backing needs --format qcow2");
        if (o.vhd_fixed && o.format != DISK_FORMAT_VHD)
                return cmd_fail(-EINVAL, "%s", "--fixed needs --format vhd");
        r = disk_create_ext(c->argv[0], &o);
        if (r < 0)
                return cmd_fail(r, "creating '%s'", c->argv[0]);
        return 0;
}

int cmd_disk_convert(struct cmd_context *c)
{
        struct disk_create_options o = {.vhd_fixed = cmd_flag(c, "fixed")};
        enum disk_format src;
        int r;

        if ((r = format_opt(c, "source-format", _DISK_FORMAT_INVALID, &src)) < 0 ||
            (r = format_opt(c, "format", DISK_FORMAT_RAW, &o.format)) < 0)
                return r;
        r = vm_disk_convert(c->argv[0], src, c->argv[1], &o);
        if (r < 0)
                return cmd_fail(r, "converting '%s' to '%s'", c->argv[0], c->argv[1]);
        return 0;
}

static void human(uint64_t v, char buf[static 32])
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double d = (double)v;
        size_t u = 0;
        while (d >= 1024 && u < ELEMENTSOF(units) - 1) {
                d /= 1024;
                u++;
        }
        snprintf(buf, 32, u ? "%.3g %s" : "%.0f %s", d, units[u]);
}

int cmd_disk_inspect(struct cmd_context *c)
{
        _cleanup_json_ struct json_object *o = NULL;
        const char *format = cmd_opt(c, "format");
        struct json_object *v;
        char a[32], b[32];
        int r;

        if (format && !streq(format, "json") && !streq(format, "text"))
                return cmd_fail(-EINVAL, "--format: unknown output format '%s' (text, json)", format);
        if ((r = vm_disk_info_json(c->argv[0], &o)) < 0)
                return cmd_fail(r, "inspecting '%s'", c->argv[0]);
        if (streq_ptr(format, "json")) {
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
                return 0;
        }
        json_object_object_get_ex(o, "virtual-size", &v);
        human((uint64_t)json_object_get_int64(v), a);
        printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRId64 " bytes)\n", c->argv[0],
               json_object_get_string(json_object_object_get(o, "format")), a, json_object_get_int64(v));
        human((uint64_t)json_object_get_int64(json_object_object_get(o, "actual-size")), b);
        printf("disk size: %s\n", b);
        if (json_object_object_get_ex(o, "cluster-size", &v))
                printf("cluster_size: %" PRId64 "\n", json_object_get_int64(v));
        if (json_object_object_get_ex(o, "backing-filename", &v))
                printf("backing file: %s\n", json_object_get_string(v));
        if (json_object_object_get_ex(o, "subformat", &v))
                printf("subformat: %s\n", json_object_get_string(v));
        return 0;
}

int cmd_disk_resize(struct cmd_context *c)
{
        const char *arg = c->argv[1];
        struct vm_disk_info info;
        uint64_t size, delta;
        int r;

        /* "+1G" / "-1G" are relative to the current size, as with qemu-img resize. */
        if ((arg[0] == '+' || arg[0] == '-')) {
                if (parse_size(arg + 1, &delta) < 0)
                        return cmd_fail(-EINVAL, "invalid size '%s'", arg);
                if ((r = vm_disk_info(c->argv[0], &info)) < 0)
                        return cmd_fail(r, "resizing '%s'", c->argv[0]);
                vm_disk_info_done(&info);
                if (arg[0] == '-' && delta >= info.virtual_size)
                        return cmd_fail(-EINVAL, "cannot shrink '%s' by %s: it is smaller", c->argv[0],
                                        arg + 1);
                size = arg[0] == '+' ? info.virtual_size + delta : info.virtual_size - delta;
        } else if (parse_size(arg, &size) < 0)
                return cmd_fail(-EINVAL, "invalid size '%s'", arg);
        r = vm_disk_resize(c->argv[0], size, cmd_flag(c, "shrink"));
        if (r < 0)
                return cmd_fail(r, "resizing '%s'", c->argv[0]);
        return 0;
}
