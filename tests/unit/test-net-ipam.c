/* SPDX-License-Identifier: Apache-2.0 */
/* test-net-ipam.c - the row store, address leases and process identities (store.c, ipam.c, netns.c). */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "error.h"
#include "ipam.h"
#include "netns.h"
#include "store.h"
#include "test.h"
#include "util.h"

static char *tmpdir(void)
{
        char t[] = "/tmp/hull-test-ipam-XXXXXX";
        char *d = mkdtemp(t);
        return d ? strdup(d) : NULL;
}

static struct ipam_pool pool(const char *subnet, const char *range, const char *gw)
{
        struct ipam_pool p = {};
        if (cidr_parse(subnet, "t", &p.subnet) < 0 || cidr_parse(range, "t", &p.range) < 0 ||
            ipaddr_parse(gw, &p.gateway) < 0)
                abort();
        return p;
}

static const char *str(const struct ipaddr *a)
{
        static char buf[IPADDR_STRLEN];
        return ipaddr_to_string(a, buf);
}

TEST(store_rows)
{
        _cleanup_free_ char *dir = tmpdir(), *run = NULL;
        _cleanup_store_ struct store *s = NULL;
        _cleanup_free_ char *v = NULL;
        _cleanup_strv_free_ char **keys = NULL, **tables = NULL;

        ASSERT_TRUE(dir);
        run = strdup_printf("%s/run", dir);
        ASSERT_OK(store_open(dir, run, NULL, &s));
        ASSERT_ERR(store_read(s, "t", "a", &v), -ENOENT);
        ASSERT_OK(store_write(s, "t/sub", "b", "2"));
        ASSERT_OK(store_write(s, "t/sub", "a", "1"));
        ASSERT_OK(store_write(s, "t/sub", "a", "one"));
        ASSERT_OK(store_write(s, "t/sub_x", "c", "3"));
        ASSERT_OK(store_read(s, "t/sub", "a", &v));
        ASSERT_STREQ(v, "one");
        ASSERT_ERR(store_create(s, "t/sub", "a", "x"), -EEXIST);
        ASSERT_OK(store_keys(s, "t/sub", &keys));
        ASSERT_EQ(strv_length(keys), 2);
        ASSERT_STREQ(keys[0], "a");
        ASSERT_STREQ(keys[1], "b");
        /* tables below a prefix; '_' is no wildcard */
        ASSERT_OK(store_tables(s, "t", &tables));
        ASSERT_EQ(strv_length(tables), 2);
        ASSERT_STREQ(tables[0], "sub");
        ASSERT_STREQ(tables[1], "sub_x");
        ASSERT_OK(store_remove(s, "t/sub", "a"));
        ASSERT_OK(store_remove(s, "t/sub", "b"));
        ASSERT_OK(store_remove(s, "t/sub_x", "c"));
        ASSERT_ERR(store_remove(s, "t/sub", "b"), -ENOENT);
        /* network definitions in the node's database, the rest in the run directory's */
        ASSERT_OK(store_write(s, "networks", "n1", "{}"));
        store_free(TAKE_PTR(s));
        ASSERT_OK(store_open(dir, NULL, NULL, &s)); /* another run directory: the definitions stay */
        free(v);
        v = NULL;
        ASSERT_OK(store_read(s, "networks", "n1", &v));
        ASSERT_OK(store_remove(s, "networks", "n1"));
        /* keys and tables cannot leave the store */
        ASSERT_ERR(store_write(s, "t", "../x", "1"), -EINVAL);
        ASSERT_ERR(store_write(s, "../t", "x", "1"), -EINVAL);
        ASSERT_ERR(store_write(s, "/t", "x", "1"), -EINVAL);
        ASSERT_ERR(store_write(s, "t", ".hidden", "1"), -EINVAL);
        ASSERT_FALSE(store_key_valid("a b"));
        ASSERT_TRUE(store_key_valid("fd00::1"));
        /* nested lock calls only count */
        ASSERT_OK(store_lock(s));
        ASSERT_OK(store_lock(s));
        store_unlock(s);
        store_unlock(s);
        ASSERT_OK(rm_rf(dir));
}

/* The DNS responder's files: atomic, readable by nobody whatever the umask. */
TEST(store_files)
{
        _cleanup_free_ char *dir = tmpdir(), *v = NULL, *path = NULL;
        _cleanup_store_ struct store *s = NULL;
        _cleanup_strv_free_ char **l = NULL;
        mode_t old;
        struct stat st;
        char p[512];

        ASSERT_OK(store_open(dir, NULL, NULL, &s));
        old = umask(077);
        ASSERT_OK(store_file_write(s, "dns/n1", "names", "x\n"));
        umask(old);
        ASSERT_OK(store_file_read(s, "dns/n1", "names", &v));
        ASSERT_STREQ(v, "x\n");
        snprintf(p, sizeof(p), "%s/net/dns/n1/names", dir);
        ASSERT_OK(stat(p, &st) < 0 ? -errno : 0);
        ASSERT_EQ(st.st_mode & 0777, 0644);
        snprintf(p, sizeof(p), "%s/net/dns/n1", dir);
        ASSERT_OK(stat(p, &st) < 0 ? -errno : 0);
        ASSERT_EQ(st.st_mode & 0777, 0755);
        ASSERT_OK(store_dir_make(s, "dns/n2", &path));
        ASSERT_CONTAINS(path, "/net/dns/n2");
        /* a killed writer's temporary file does not count and goes with the directory */
        snprintf(p, sizeof(p), "%s/net/dns/n2/.names.1234", dir);
        ASSERT_OK(write_file_atomic(p, "x", 1, 0644));
        ASSERT_OK(store_dir_list(s, "dns/n2", &l));
        ASSERT_EQ(strv_length(l), 0);
        ASSERT_OK(store_dir_remove(s, "dns/n2"));
        ASSERT_ERR(store_dir_remove(s, "dns/n1"), -ENOTEMPTY);
        ASSERT_OK(store_file_remove(s, "dns/n1", "names"));
        ASSERT_OK(store_dir_remove(s, "dns/n1"));
        strv_free(l);
        ASSERT_OK(store_dir_list(s, "dns", &l));
        ASSERT_EQ(strv_length(l), 0);
        ASSERT_ERR(store_file_write(s, "../dns", "names", "x"), -EINVAL);
        ASSERT_OK(rm_rf(dir));
}

TEST(pool_checks)
{
        struct ipam_pool p = pool("10.1.0.0/24", "10.1.0.0/24", "10.1.0.1");

        err_clear();
        ASSERT_OK(ipam_pool_check(&p, "n"));
        p = pool("10.1.0.0/24", "10.1.1.0/25", "10.1.0.1");
        ASSERT_ERR(ipam_pool_check(&p, "n"), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "n: ip-range 10.1.1.0/25 is not inside subnet 10.1.0.0/24");
        p = pool("10.1.0.0/24", "10.1.0.0/24", "10.2.0.1");
        ASSERT_ERR(ipam_pool_check(&p, "n"), -EINVAL);
        p = pool("10.1.0.0/24", "10.1.0.0/24", "10.1.0.255");
        ASSERT_ERR(ipam_pool_check(&p, "n"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "network or broadcast");
        p = pool("10.1.0.0/31", "10.1.0.0/31", "10.1.0.1");
        ASSERT_ERR(ipam_pool_check(&p, "n"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "too small");
        /* a range that only holds reserved addresses */
        p = pool("10.1.0.0/24", "10.1.0.0/31", "10.1.0.1");
        ASSERT_ERR(ipam_pool_check(&p, "n"), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), "leaves no address");
}

TEST(allocate_next_fit_and_reserved)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_store_ struct store *s = NULL;
        struct ipam_pool p = pool("10.1.0.0/29", "10.1.0.0/29", "10.1.0.1");
        struct ipaddr a, want;
        _cleanup_free_ char *owner = NULL;

        ASSERT_OK(store_open(dir, NULL, NULL, &s));
        /* .0 network, .1 gateway, .7 broadcast: .2 .. .6 */
        for (int i = 2; i <= 6; i++) {
                char expect[32];
                snprintf(expect, sizeof(expect), "10.1.0.%d", i);
                ASSERT_OK(ipam_allocate(s, "net1", "n", &p, NULL, "o", &a));
                ASSERT_STREQ(str(&a), expect);
        }
        err_clear();
        ASSERT_ERR(ipam_allocate(s, "net1", "n", &p, NULL, "o", &a), -ENOSPC);
        ASSERT_STREQ(err_msg(-ENOSPC), "no free address left in network 'n' (10.1.0.0/29)");
        /* next-fit: .3 freed, the cursor is past it, but it is the only free one */
        ASSERT_OK(ipaddr_parse("10.1.0.3", &want));
        ASSERT_ERR(ipam_release(s, "net1", &want, "someone-else"), -EPERM);
        ASSERT_OK(ipam_release(s, "net1", &want, "o"));
        ASSERT_OK(ipam_allocate(s, "net1", "n", &p, NULL, "x", &a));
        ASSERT_STREQ(str(&a), "10.1.0.3");
        ASSERT_OK(ipam_owner(s, "net1", &a, &owner));
        ASSERT_STREQ(owner, "x");
        ASSERT_OK(ipam_drop(s, "net1"));
        ASSERT_OK(rm_rf(dir));
}

TEST(allocate_explicit_and_range)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_store_ struct store *s = NULL;
        struct ipam_pool p = pool("10.2.0.0/24", "10.2.0.128/26", "10.2.0.1");
        _cleanup_strv_free_ char **leases = NULL;
        struct ipaddr a, want;

        ASSERT_OK(store_open(dir, NULL, NULL, &s));
        ASSERT_OK(ipam_allocate(s, "n2", "n", &p, NULL, "o", &a));
        ASSERT_STREQ(str(&a), "10.2.0.128");
        /* an explicit address may be outside the range, inside the subnet */
        ASSERT_OK(ipaddr_parse("10.2.0.10", &want));
        ASSERT_OK(ipam_allocate(s, "n2", "n", &p, &want, "web", &a));
        ASSERT_STREQ(str(&a), "10.2.0.10");
        err_clear();
        ASSERT_ERR(ipam_allocate(s, "n2", "n", &p, &want, "db", &a), -EADDRINUSE);
        ASSERT_STREQ(err_msg(-EADDRINUSE), "address 10.2.0.10 is already in use in network 'n' (by web)");
        ASSERT_OK(ipaddr_parse("10.2.0.1", &want));
        ASSERT_ERR(ipam_allocate(s, "n2", "n", &p, &want, "db", &a), -EINVAL);
        ASSERT_OK(ipaddr_parse("10.3.0.1", &want));
        ASSERT_ERR(ipam_allocate(s, "n2", "n", &p, &want, "db", &a), -EINVAL);
        ASSERT_OK(ipam_list(s, "n2", &leases));
        ASSERT_EQ(strv_length(leases), 2);
        ASSERT_OK(ipam_drop(s, "n2"));
        ASSERT_OK(rm_rf(dir));
}

TEST(allocate_ipv6)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_store_ struct store *s = NULL;
        struct ipam_pool p = pool("fd00:9::/64", "fd00:9::/64", "fd00:9::1");
        struct ipaddr a;

        ASSERT_OK(store_open(dir, NULL, NULL, &s));
        ASSERT_OK(ipam_allocate(s, "n6", "n", &p, NULL, "o", &a));
        ASSERT_STREQ(str(&a), "fd00:9::2");
        ASSERT_OK(ipam_allocate(s, "n6", "n", &p, NULL, "o", &a));
        ASSERT_STREQ(str(&a), "fd00:9::3");
        ASSERT_OK(ipam_drop(s, "n6"));
        ASSERT_OK(rm_rf(dir));
}

/* Parallel processes (fork) allocating from one pool never get the same address. */
TEST(allocate_parallel_processes)
{
        _cleanup_free_ char *dir = tmpdir();
        _cleanup_store_ struct store *s = NULL;
        _cleanup_strv_free_ char **leases = NULL;
        struct ipam_pool p = pool("10.3.0.0/24", "10.3.0.0/24", "10.3.0.1");
        pid_t kids[8];

        ASSERT_OK(store_open(dir, NULL, NULL, &s));
        for (int k = 0; k < 8; k++) {
                kids[k] = fork();
                ASSERT_TRUE(kids[k] >= 0);
                if (kids[k] == 0) {
                        struct store *mine;
                        struct ipaddr a;
                        char owner[16];
                        snprintf(owner, sizeof(owner), "k%d", k);
                        if (store_open(dir, NULL, NULL, &mine) < 0)
                                _exit(1);
                        for (int i = 0; i < 10; i++) {
                                /* without the lock too: O_EXCL rows alone keep leases unique */
                                if ((k % 2 && store_lock(mine) < 0) ||
                                    ipam_allocate(mine, "np", "n", &p, NULL, owner, &a) < 0)
                                        _exit(1);
                                if (k % 2)
                                        store_unlock(mine);
                        }
                        store_free(mine);
                        _exit(0);
                }
        }
        for (int k = 0; k < 8; k++) {
                int status;
                ASSERT_EQ(waitpid(kids[k], &status, 0), kids[k]);
                ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        ASSERT_OK(ipam_list(s, "np", &leases));
        ASSERT_EQ(strv_length(leases), 80);
        ASSERT_OK(ipam_drop(s, "np"));
        ASSERT_OK(rm_rf(dir));
}

/* Staleness rests on (pid, start time): field 22 of /proc/PID/stat, after a comm with spaces. */
TEST(process_identity)
{
        struct proc_id me, kid_id;
        _cleanup_free_ char *stat = NULL;
        unsigned long long start = 0;
        const char *p;
        pid_t kid;
        int status;

        ASSERT_OK(proc_id_get(0, &me));
        ASSERT_EQ(me.pid, getpid());
        ASSERT_OK(read_full_file("/proc/self/stat", 4096, &stat, NULL));
        p = strrchr(stat, ')');
        ASSERT_TRUE(p);
        ASSERT_EQ(sscanf(p + 2,
                         "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         &start),
                  1);
        ASSERT_EQ(me.start, start);
        ASSERT_TRUE(proc_id_alive(&me));
        kid = fork();
        ASSERT_TRUE(kid >= 0);
        if (kid == 0) {
                prctl(PR_SET_NAME, "a (b) c", 0, 0, 0);
                pause();
                _exit(0);
        }
        for (int i = 0; i < 1000; i++) {
                _cleanup_free_ char *comm = NULL;
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/comm", (int)kid);
                if (read_one_line_file(path, &comm) == 0 && streq(comm, "a (b) c"))
                        break;
                usleep(1000);
        }
        ASSERT_OK(proc_id_get(kid, &kid_id));
        ASSERT_TRUE(proc_id_alive(&kid_id));
        kill(kid, SIGKILL);
        ASSERT_EQ(waitpid(kid, &status, 0), kid);
        ASSERT_FALSE(proc_id_alive(&kid_id));
        ASSERT_ERR(proc_id_get(kid, &kid_id), -ESRCH);
        /* the same pid with another start time is another process */
        me.start++;
        ASSERT_FALSE(proc_id_alive(&me));
}
