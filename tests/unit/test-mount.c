/* SPDX-License-Identifier: Apache-2.0 */
/* test-mount.c - mount option decoding (mount_options_parse), the part of mount.c that needs no root. */
#include <linux/mount.h>
#include <sys/mount.h>

#include "mount.h"
#include "test.h"

static struct mount_options parse(char *const *opts)
{
        struct mount_options o;
        ASSERT_OK(mount_options_parse(opts, "mounts[0]", &o));
        return o;
}

TEST(flags_set_and_clear)
{
        char *opts[] = {"nosuid", "nodev", "ro", "rw", "noexec", "exec", "strictatime", NULL};
        struct mount_options o = parse(opts);

        ASSERT_EQ(o.flags, MS_NOSUID | MS_NODEV | MS_STRICTATIME);
        ASSERT_EQ(o.clear, MS_RDONLY | MS_NOEXEC);
        ASSERT_FALSE(o.bind || o.copy_up);
        ASSERT_TRUE(o.data == NULL);
}

TEST(bind_propagation_and_recursive_attributes)
{
        char *opts[] = {"rbind", "rprivate", "rro", "rnosuid", "rnoatime", NULL};
        struct mount_options o = parse(opts);

        ASSERT_TRUE(o.bind && o.rbind);
        ASSERT_EQ(o.propagation, MS_PRIVATE | MS_REC);
        ASSERT_EQ(o.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
        ASSERT_EQ(o.attr_clr, MOUNT_ATTR__ATIME);
}

TEST(rrelatime_clears_the_atime_field)
{
        char *opts[] = {"rnoatime", "rrelatime", NULL};
        struct mount_options o = parse(opts);

        ASSERT_EQ(o.attr_set & MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME);
        ASSERT_EQ(o.attr_clr, MOUNT_ATTR__ATIME);
}

TEST(filesystem_data_keeps_unknown_options_in_order)
{
        char *opts[] = {"mode=755", "nosuid", "size=65536k", "newinstance", NULL};
        struct mount_options o = parse(opts);

        ASSERT_STREQ(o.data, "mode=755,size=65536k,newinstance");
        mount_options_done(&o);
        ASSERT_TRUE(o.data == NULL);
}

/* podman's --tmpfs and --read-only mounts: runc's and crun's extension, never passed to the kernel. */
TEST(tmpcopyup_is_an_extension_not_data)
{
        char *opts[] = {"rw", "rprivate", "nosuid", "nodev", "tmpcopyup", NULL};
        char *off[] = {"tmpcopyup", "notmpcopyup", "copy-symlink", NULL};
        struct mount_options o = parse(opts);

        ASSERT_TRUE(o.copy_up);
        ASSERT_TRUE(o.data == NULL);
        o = parse(off);
        ASSERT_FALSE(o.copy_up);
        ASSERT_TRUE(o.data == NULL);
}
