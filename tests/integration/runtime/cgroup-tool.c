/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-tool - drives src/runtime/cgroup.h without hull-runtime, for the integration tests in
 * this folder and for the create/apply/destroy benchmark. Not installed.
 *
 *   cgroup-tool create  --state FILE [--path P] [--id ID] [RESOURCES]   create + apply, save handle
 *   cgroup-tool update  --state FILE RESOURCES                           apply(update = true)
 *   cgroup-tool exec    --state FILE -- CMD...   start CMD inside (joins through cgroup_enter_fds), print its pid
 *   cgroup-tool enter   --state FILE PID
 *   cgroup-tool freeze|thaw|frozen|pids|stats|destroy --state FILE
 *   cgroup-tool kill    --state FILE SIGNAL
 *   cgroup-tool mount   --state FILE --target DIR [--cgroupns] [--ro]   in a new mount ns: mount, list, exit
 *   cgroup-tool run     [--path P] [--id ID] [RESOURCES] -- CMD...    create, run CMD inside, wait,
 *                        print {"exit","signal","oom_kills","stats"}, kill the rest, destroy
 *   cgroup-tool bench   N [--id ID] [RESOURCES]   N x (create, apply, destroy); per-step medians in µs
 *   cgroup-tool spawn-bench N [--id ID]           in one cgroup, N x (fork a child moved in by the parent,
 *                        as hull-runtime does, and reap it) alternated with N x (clone3 CLONE_INTO_CGROUP,
 *                        reap it): medians in µs (v2 only)
 *   cgroup-tool info                              detected layout and controllers
 *
 * RESOURCES: --memory N --memory-swap N --memory-reservation N --kernel N --kernel-tcp N
 *   --swappiness N --oom-kill-disable --use-hierarchy 0|1 --check-before-update --cpu-shares N
 *   --cpu-quota N --cpu-period N --cpu-burst N --cpu-rt-runtime N --cpu-rt-period N --cpus S
 *   --mems S --cpu-idle N --pids N --blkio-weight N --blkio-leaf-weight N
 *   --blkio-weight-device M:m:W --read-bps M:m:N --write-bps M:m:N --read-iops M:m:N
 *   --write-iops M:m:N --hugetlb SIZE:LIMIT --net-classid N --net-prio IF:PRIO
 *   --device allow|deny:TYPE:MAJOR:MINOR:ACCESS ('*' for any) --unified KEY=VALUE --rdma
 * --clone-into: exec and run create the child in the cgroup with clone3(CLONE_INTO_CGROUP) through
 *   cgroup_clone_fd() instead of joining through cgroup_enter_fds() (v2 only).
 * Errors print "cgroup-tool: <message>" and exit 1.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "error.h"
#include "json.h"
#include "util.h"

static struct oci_resources res;
static const char *opt_state, *opt_path, *opt_id = "cgtool", *opt_target;
static bool opt_cgroupns, opt_ro, opt_clone_into;

static _noreturn_ void die(int r, const char *what)
{
        fprintf(stderr, "cgroup-tool: %s%s%s\n", what ? what : "", what ? ": " : "", err_msg(r));
        exit(1);
}

#define GROW(arr, n)                                                                                              \
        ({                                                                                                        \
                void *_a = realloc((arr), sizeof(*(arr)) * ((n) + 1));                                            \
                if (!_a)                                                                                          \
                        die(-ENOMEM, NULL);                                                                       \
                (arr) = _a;                                                                                       \
                &(arr)[(n)++];                                                                                    \
        })

static int64_t num(const char *s)
{
        int64_t v;
        if (streq(s, "*"))
                return -1;
        if (parse_i64(s, &v) < 0)
                die(err_set(-EINVAL, "not a number: '%s'", s), NULL);
        return v;
}

/* "M:m:V" */
static void dev3(const char *s, int64_t *maj, int64_t *min, int64_t *v)
{
        char a[32], b[32], c[32];
        if (sscanf(s, "%31[^:]:%31[^:]:%31s", a, b, c) != 3)
                die(err_set(-EINVAL, "expected MAJOR:MINOR:VALUE, got '%s'", s), NULL);
        *maj = num(a);
        *min = num(b);
        *v = num(c);
}

static void add_throttle(struct oci_throttle_device **arr, size_t *n, const char *s)
{
        int64_t maj, min, v;
        dev3(s, &maj, &min, &v);
        struct oci_throttle_device *t = GROW(*arr, *n);
        *t = (struct oci_throttle_device){ maj, min, (uint64_t)v };
}

enum {
        OPT_MEMORY = 1000, OPT_SWAP, OPT_RESERVATION, OPT_KERNEL, OPT_KERNEL_TCP, OPT_SWAPPINESS, OPT_OOM_DISABLE, OPT_USE_HIER,
        OPT_CHECK, OPT_SHARES, OPT_QUOTA, OPT_PERIOD, OPT_BURST, OPT_RT_RUNTIME, OPT_RT_PERIOD, OPT_CPUS, OPT_MEMS, OPT_IDLE, OPT_PIDS,
        OPT_BLKIO_WEIGHT, OPT_BLKIO_LEAF, OPT_WEIGHT_DEV, OPT_RBPS, OPT_WBPS, OPT_RIOPS, OPT_WIOPS, OPT_HUGETLB, OPT_CLASSID,
        OPT_NETPRIO, OPT_DEVICE, OPT_UNIFIED, OPT_RDMA, OPT_STATE, OPT_PATH, OPT_ID, OPT_TARGET, OPT_CGROUPNS, OPT_RO,
        OPT_CLONE_INTO,
};

static const struct option options[] = {
        { "memory", 1, NULL, OPT_MEMORY },          { "memory-swap", 1, NULL, OPT_SWAP },
        { "memory-reservation", 1, NULL, OPT_RESERVATION }, { "kernel", 1, NULL, OPT_KERNEL },
        { "kernel-tcp", 1, NULL, OPT_KERNEL_TCP },  { "swappiness", 1, NULL, OPT_SWAPPINESS },
        { "oom-kill-disable", 0, NULL, OPT_OOM_DISABLE }, { "use-hierarchy", 1, NULL, OPT_USE_HIER },
        { "check-before-update", 0, NULL, OPT_CHECK }, { "cpu-shares", 1, NULL, OPT_SHARES },
        { "cpu-quota", 1, NULL, OPT_QUOTA },        { "cpu-period", 1, NULL, OPT_PERIOD },
        { "cpu-burst", 1, NULL, OPT_BURST },        { "cpu-rt-runtime", 1, NULL, OPT_RT_RUNTIME },
        { "cpu-rt-period", 1, NULL, OPT_RT_PERIOD }, { "cpus", 1, NULL, OPT_CPUS },
        { "mems", 1, NULL, OPT_MEMS },              { "cpu-idle", 1, NULL, OPT_IDLE },
        { "pids", 1, NULL, OPT_PIDS },              { "blkio-weight", 1, NULL, OPT_BLKIO_WEIGHT },
        { "blkio-leaf-weight", 1, NULL, OPT_BLKIO_LEAF }, { "blkio-weight-device", 1, NULL, OPT_WEIGHT_DEV },
        { "read-bps", 1, NULL, OPT_RBPS },          { "write-bps", 1, NULL, OPT_WBPS },
        { "read-iops", 1, NULL, OPT_RIOPS },        { "write-iops", 1, NULL, OPT_WIOPS },
        { "hugetlb", 1, NULL, OPT_HUGETLB },        { "net-classid", 1, NULL, OPT_CLASSID },
        { "net-prio", 1, NULL, OPT_NETPRIO },       { "device", 1, NULL, OPT_DEVICE },
        { "unified", 1, NULL, OPT_UNIFIED },        { "rdma", 0, NULL, OPT_RDMA },
        { "state", 1, NULL, OPT_STATE },            { "path", 1, NULL, OPT_PATH },
        { "id", 1, NULL, OPT_ID },                  { "target", 1, NULL, OPT_TARGET },
        { "cgroupns", 0, NULL, OPT_CGROUPNS },      { "ro", 0, NULL, OPT_RO },
        { "clone-into", 0, NULL, OPT_CLONE_INTO },
        {},
};

static void parse_option(int c, const char *a)
{
        struct oci_resources *r = &res;
        int64_t maj, min, v;

        switch (c) {
        case OPT_MEMORY: r->has_memory_limit = true; r->memory_limit = num(a); break;
        case OPT_SWAP: r->has_memory_swap = true; r->memory_swap = num(a); break;
        case OPT_RESERVATION: r->has_memory_reservation = true; r->memory_reservation = num(a); break;
        case OPT_KERNEL: r->has_memory_kernel = true; r->memory_kernel = num(a); break;
        case OPT_KERNEL_TCP: r->has_memory_kernel_tcp = true; r->memory_kernel_tcp = num(a); break;
        case OPT_SWAPPINESS: r->has_memory_swappiness = true; r->memory_swappiness = (uint64_t)num(a); break;
        case OPT_OOM_DISABLE: r->has_disable_oom_killer = r->disable_oom_killer = true; break;
        case OPT_USE_HIER: r->has_use_hierarchy = true; r->use_hierarchy = num(a) != 0; break;
        case OPT_CHECK: r->memory_check_before_update = true; break;
        case OPT_SHARES: r->has_cpu_shares = true; r->cpu_shares = (uint64_t)num(a); break;
        case OPT_QUOTA: r->has_cpu_quota = true; r->cpu_quota = num(a); break;
        case OPT_PERIOD: r->has_cpu_period = true; r->cpu_period = (uint64_t)num(a); break;
        case OPT_BURST: r->has_cpu_burst = true; r->cpu_burst = (uint64_t)num(a); break;
        case OPT_RT_RUNTIME: r->has_cpu_rt_runtime = true; r->cpu_rt_runtime = num(a); break;
        case OPT_RT_PERIOD: r->has_cpu_rt_period = true; r->cpu_rt_period = (uint64_t)num(a); break;
        case OPT_CPUS: r->cpu_cpus = (char *)a; break;
        case OPT_MEMS: r->cpu_mems = (char *)a; break;
        case OPT_IDLE: r->has_cpu_idle = true; r->cpu_idle = num(a); break;
        case OPT_PIDS: r->has_pids_limit = true; r->pids_limit = num(a); break;
        case OPT_BLKIO_WEIGHT: r->has_blkio_weight = true; r->blkio_weight = (uint16_t)num(a); break;
        case OPT_BLKIO_LEAF: r->has_blkio_leaf_weight = true; r->blkio_leaf_weight = (uint16_t)num(a); break;
        case OPT_WEIGHT_DEV: {
                dev3(a, &maj, &min, &v);
                struct oci_weight_device *w = GROW(r->blkio_weight_devices, r->n_blkio_weight_devices);
                *w = (struct oci_weight_device){ .major = maj, .minor = min, .has_weight = true, .weight = (uint16_t)v };
                break;
        }
        case OPT_RBPS: add_throttle(&r->blkio_throttle_read_bps, &r->n_blkio_throttle_read_bps, a); break;
        case OPT_WBPS: add_throttle(&r->blkio_throttle_write_bps, &r->n_blkio_throttle_write_bps, a); break;
        case OPT_RIOPS: add_throttle(&r->blkio_throttle_read_iops, &r->n_blkio_throttle_read_iops, a); break;
        case OPT_WIOPS: add_throttle(&r->blkio_throttle_write_iops, &r->n_blkio_throttle_write_iops, a); break;
        case OPT_HUGETLB: {
                char size[32], lim[32];
                if (sscanf(a, "%31[^:]:%31s", size, lim) != 2)
                        die(err_set(-EINVAL, "expected SIZE:LIMIT, got '%s'", a), NULL);
                struct oci_hugepage_limit *h = GROW(r->hugepage_limits, r->n_hugepage_limits);
                *h = (struct oci_hugepage_limit){ strdup(size), (uint64_t)num(lim) };
                break;
        }
        case OPT_CLASSID: r->has_net_class_id = true; r->net_class_id = (uint32_t)num(a); break;
        case OPT_NETPRIO: {
                char ifn[64], prio[32];
                if (sscanf(a, "%63[^:]:%31s", ifn, prio) != 2)
                        die(err_set(-EINVAL, "expected IF:PRIO, got '%s'", a), NULL);
                struct oci_net_priority *p = GROW(r->net_priorities, r->n_net_priorities);
                *p = (struct oci_net_priority){ strdup(ifn), (uint32_t)num(prio) };
                break;
        }
        case OPT_DEVICE: {
                char verb[8], type[4], ma[16], mi[16], acc[8] = "";
                if (sscanf(a, "%7[^:]:%3[^:]:%15[^:]:%15[^:]:%7s", verb, type, ma, mi, acc) < 4)
                        die(err_set(-EINVAL, "expected allow|deny:TYPE:MAJOR:MINOR:ACCESS, got '%s'", a), NULL);
                struct oci_device_rule *d = GROW(r->devices, r->n_devices);
                *d = (struct oci_device_rule){ .allow = streq(verb, "allow"), .type = type[0], .major = num(ma),
                                               .minor = num(mi) };
                snprintf(d->access, sizeof(d->access), "%s", acc);
                break;
        }
        case OPT_UNIFIED: {
                const char *eq = strchr(a, '=');
                if (!eq)
                        die(err_set(-EINVAL, "expected KEY=VALUE, got '%s'", a), NULL);
                struct oci_key_value *kv = GROW(r->unified, r->n_unified);
                *kv = (struct oci_key_value){ strndup(a, (size_t)(eq - a)), strdup(eq + 1) };
                break;
        }
        case OPT_RDMA: r->has_rdma = true; break;
        case OPT_STATE: opt_state = a; break;
        case OPT_PATH: opt_path = a; break;
        case OPT_ID: opt_id = a; break;
        case OPT_TARGET: opt_target = a; break;
        case OPT_CGROUPNS: opt_cgroupns = true; break;
        case OPT_RO: opt_ro = true; break;
        case OPT_CLONE_INTO: opt_clone_into = true; break;
        default:
                die(err_set(-EINVAL, "unknown option"), NULL);
        }
}

static void resources_done(void)
{
        for (size_t i = 0; i < res.n_hugepage_limits; i++)
                free(res.hugepage_limits[i].page_size);
        for (size_t i = 0; i < res.n_net_priorities; i++)
                free(res.net_priorities[i].name);
        for (size_t i = 0; i < res.n_unified; i++) {
                free(res.unified[i].key);
                free(res.unified[i].value);
        }
        free(res.hugepage_limits);
        free(res.net_priorities);
        free(res.unified);
        free(res.devices);
        free(res.blkio_weight_devices);
        free(res.blkio_throttle_read_bps);
        free(res.blkio_throttle_write_bps);
        free(res.blkio_throttle_read_iops);
        free(res.blkio_throttle_write_iops);
}

static struct cgroup *load(void)
{
        _cleanup_json_ struct json_object *o = NULL;
        struct cgroup *cg;
        int r;

        if (!opt_state)
                die(err_set(-EINVAL, "--state is required"), NULL);
        r = json_parse_file(opt_state, 1 << 20, &o);
        if (r < 0)
                die(r, "load state");
        r = cgroup_from_json(o, &cg);
        if (r < 0)
                die(r, "open cgroup");
        return cg;
}

static void save(const struct cgroup *cg)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = cgroup_to_json(cg, &o);
        if (r >= 0)
                r = json_write_file_atomic(opt_state, o, 0600);
        if (r < 0)
                die(r, "save state");
}

static void print_json(struct json_object *o)
{
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* A child created in the cgroup (clone3, Linux 5.7): fork()'s return convention. */
static pid_t clone_into(const struct cgroup *cg)
{
        int fd = cgroup_clone_fd(cg);
        struct clone_args a = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };
        pid_t pid;

        if (fd < 0)
                die(err_set(fd, "--clone-into: the cgroup has no cgroup2 directory fd (v1 layout)"), NULL);
        a.cgroup = (uint64_t)fd;
        pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
        if (pid < 0)
                die(negative_errno(), "clone3");
        return pid;
}

/*
 * Fork CMD inside the cgroup the way hull-runtime does: the child writes "0" to every fd
 * (v1 `tasks`, cgroup2 cgroup.procs); with --clone-into it is created in the cgroup2 one instead.
 */
static pid_t spawn(const struct cgroup *cg, char **argv, bool detach)
{
        _cleanup_free_ int *fds = NULL;
        size_t n = 0;
        pid_t pid;
        int r;

        r = cgroup_enter_fds(cg, opt_clone_into, &fds, &n);
        if (r < 0)
                die(r, "enter fds");
        fflush(stdout);
        pid = opt_clone_into ? clone_into(cg) : fork();
        if (pid < 0)
                die(negative_errno(), "fork");
        if (pid == 0) {
                for (size_t i = 0; i < n; i++)
                        if (write(fds[i], "0", 1) != 1) {
                                perror("cgroup-tool: join");
                                _exit(126);
                        }
                /* exec: the caller reads our stdout to its end, so the child must not hold it. */
                if (detach) {
                        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                                _exit(126);
                }
                execvp(argv[0], argv);
                perror("cgroup-tool: exec");
                _exit(127);
        }
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
        return pid;
}

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static double median_us(uint64_t *v, size_t n)
{
        qsort(v, n, sizeof(*v), cmp_u64);
        return n ? (double)v[n / 2] / 1000.0 : 0;
}

static int cmd_bench(unsigned n)
{
        _cleanup_free_ uint64_t *tc = calloc(n, 8), *ta = calloc(n, 8), *td = calloc(n, 8), *tt = calloc(n, 8);
        char id[64];

        if (!tc || !ta || !td || !tt)
                die(-ENOMEM, NULL);
        for (unsigned i = 0; i < n; i++) {
                struct cgroup *cg;
                int r;
                snprintf(id, sizeof(id), "%s-%u", opt_id, i);
                uint64_t t0 = now_ns();
                r = cgroup_create(opt_path, id, &cg);
                if (r < 0)
                        die(r, "create");
                uint64_t t1 = now_ns();
                r = cgroup_apply(cg, &res, false);
                if (r < 0) {
                        (void)cgroup_destroy(cg);
                        die(r, "apply");
                }
                uint64_t t2 = now_ns();
                r = cgroup_destroy(cg);
                if (r < 0)
                        die(r, "destroy");
                uint64_t t3 = now_ns();
                cgroup_free(cg);
                tc[i] = t1 - t0;
                ta[i] = t2 - t1;
                td[i] = t3 - t2;
                tt[i] = t3 - t0;
        }
        printf("{\"iterations\":%u,\"create_us\":%.1f,\"apply_us\":%.1f,\"destroy_us\":%.1f,\"total_us\":%.1f}\n", n,
               median_us(tc, n), median_us(ta, n), median_us(td, n), median_us(tt, n));
        return 0;
}

/*
 * The cost of placing a new process in the cgroup: moved by the parent after fork (what
 * hull-runtime's create does: a migration takes cgroup_threadgroup_rwsem for writing, whose
 * writer waits for an RCU grace period) or created there by clone3(CLONE_INTO_CGROUP). The
 * child waits on a pipe so that it is alive while it is moved; each sample is fork to reaped.
 */
static int cmd_spawn_bench(unsigned n)
{
        _cleanup_free_ uint64_t *tm = calloc(n, 8), *tc = calloc(n, 8);
        _cleanup_free_ int *fds = NULL;
        size_t n_fds = 0;
        struct cgroup *cg;
        int r;

        if (!tm || !tc)
                die(-ENOMEM, NULL);
        r = cgroup_create(opt_path, opt_id, &cg);
        if (r < 0)
                die(r, "create");
        if (cgroup_clone_fd(cg) < 0) {
                (void)cgroup_destroy(cg);
                die(err_set(-EOPNOTSUPP, "spawn-bench needs a cgroup v2 layout"), NULL);
        }
        r = cgroup_enter_fds(cg, false, &fds, &n_fds);
        if (r < 0)
                die(r, "enter fds");
        for (unsigned i = 0; i < 2 * n; i++) {
                bool into = i % 2;
                int p[2], status;
                char pid_s[16];
                if (pipe2(p, O_CLOEXEC) < 0)
                        die(negative_errno(), "pipe");
                uint64_t t0 = now_ns();
                pid_t pid = into ? clone_into(cg) : fork();
                if (pid < 0)
                        die(negative_errno(), "fork");
                if (pid == 0) {
                        char c;
                        _exit(read(p[0], &c, 1) == 1 ? 0 : 1);
                }
                if (!into) {
                        int l = snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
                        for (size_t k = 0; k < n_fds; k++)
                                if (write(fds[k], pid_s, (size_t)l) != l)
                                        die(negative_errno(), "move the child");
                }
                if (write(p[1], "x", 1) != 1)
                        die(negative_errno(), "wake the child");
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                (into ? tc : tm)[i / 2] = now_ns() - t0;
                close(p[0]);
                close(p[1]);
        }
        for (size_t k = 0; k < n_fds; k++)
                close(fds[k]);
        r = cgroup_destroy(cg);
        cgroup_free(cg);
        if (r < 0)
                die(r, "destroy");
        printf("{\"iterations\":%u,\"fork_and_move_us\":%.1f,\"clone_into_cgroup_us\":%.1f}\n", n,
               median_us(tm, n), median_us(tc, n));
        return 0;
}

static int cmd_run(char **argv)
{
        _cleanup_json_ struct json_object *out = json_object_new_object(), *stats = NULL;
        struct cgroup *cg;
        int r, status, oomfd;
        pid_t pid;

        r = cgroup_create(opt_path, opt_id, &cg);
        if (r < 0)
                die(r, "create");
        r = cgroup_apply(cg, &res, false);
        if (r < 0) {
                (void)cgroup_destroy(cg);
                die(r, "apply");
        }
        if (opt_clone_into && cgroup_clone_fd(cg) < 0) {
                (void)cgroup_destroy(cg);
                die(err_set(-EOPNOTSUPP, "--clone-into: the cgroup has no cgroup2 directory fd (v1 layout)"), NULL);
        }
        oomfd = cgroup_oom_fd(cg);
        pid = spawn(cg, argv, false);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        json_object_object_add(out, "exit", WIFEXITED(status) ? json_object_new_int(WEXITSTATUS(status)) : NULL);
        json_object_object_add(out, "signal", WIFSIGNALED(status) ? json_object_new_int(WTERMSIG(status)) : NULL);
        json_object_object_add(out, "oom_kills", oomfd >= 0 ? json_object_new_int(cgroup_oom_read(cg, oomfd)) : NULL);
        if (cgroup_stats(cg, &stats) >= 0)
                json_object_object_add(out, "stats", json_object_get(stats));
        print_json(out);
        safe_close(oomfd);
        (void)cgroup_kill_all(cg, SIGKILL);
        r = cgroup_destroy(cg);
        cgroup_free(cg);
        if (r < 0)
                die(r, "destroy");
        return 0;
}

static int cmd_mount(const struct cgroup *cg)
{
        char cmd[512];
        int r;

        if (!opt_target)
                die(err_set(-EINVAL, "--target is required"), NULL);
        /* A cgroup namespace is rooted where the process is when it unshares: join first, as a container does. */
        if (opt_cgroupns && (r = cgroup_enter(cg, getpid())) < 0)
                die(r, "enter");
        if (unshare(CLONE_NEWNS | (opt_cgroupns ? CLONE_NEWCGROUP : 0)) < 0)
                die(negative_errno(), "unshare");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die(negative_errno(), "make / private");
        _cleanup_close_ int fd = open(opt_target, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                die(negative_errno(), "open target");
        char t[64];
        snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
        r = cgroup_mount(cg, t, MS_NOSUID | MS_NODEV | MS_NOEXEC | (opt_ro ? MS_RDONLY : 0), opt_cgroupns);
        if (r < 0)
                die(r, "mount");
        fflush(stdout);
        /* What a process inside would see: the entries and the mounts below the target. */
        snprintf(cmd, sizeof(cmd), "ls -1 %s; echo ---; grep ' %s' /proc/self/mountinfo", opt_target, opt_target);
        return system(cmd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        const char *verb;
        struct cgroup *cg = NULL;
        int c, r = 0;

        if (argc < 2)
                die(err_set(-EINVAL, "usage: cgroup-tool VERB [OPTIONS] (see the source)"), NULL);
        verb = argv[1];
        argv++;
        argc--;
        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1)
                parse_option(c, optarg);
        char **rest = argv + optind;

        if (streq(verb, "info")) {
                enum cgroup_mode m;
                _cleanup_strv_free_ char **ctrl = NULL;
                if ((r = cgroup_detect(&m)) < 0 || (r = cgroup_controllers(&ctrl)) < 0)
                        die(r, "detect");
                printf("{\"mode\":\"%s\",\"controllers\":[", m == CGROUP_MODE_V2 ? "v2" : "v1");
                STRV_FOREACH(s, ctrl)
                printf("%s\"%s\"", s == ctrl ? "" : ",", *s);
                printf("]}\n");
        } else if (streq(verb, "create")) {
                if (!opt_state)
                        die(err_set(-EINVAL, "--state is required"), NULL);
                r = cgroup_create(opt_path, opt_id, &cg);
                if (r < 0)
                        die(r, "create");
                r = cgroup_apply(cg, &res, false);
                if (r < 0) {
                        (void)cgroup_destroy(cg);
                        die(r, "apply");
                }
                save(cg);
                printf("%s\n", cgroup_get_path(cg));
        } else if (streq(verb, "run")) {
                if (!*rest)
                        die(err_set(-EINVAL, "run needs a command"), NULL);
                r = cmd_run(rest);
        } else if (streq(verb, "bench")) {
                unsigned n;
                if (!*rest || parse_u32(*rest, &n) < 0 || n == 0)
                        die(err_set(-EINVAL, "bench needs an iteration count"), NULL);
                r = cmd_bench(n);
        } else if (streq(verb, "spawn-bench")) {
                unsigned n;
                if (!*rest || parse_u32(*rest, &n) < 0 || n == 0)
                        die(err_set(-EINVAL, "spawn-bench needs an iteration count"), NULL);
                r = cmd_spawn_bench(n);
        } else {
                cg = load();
                if (streq(verb, "update")) {
                        r = cgroup_apply(cg, &res, true);
                } else if (streq(verb, "exec")) {
                        if (!*rest)
                                die(err_set(-EINVAL, "exec needs a command"), NULL);
                        printf("%d\n", (int)spawn(cg, rest, true));
                } else if (streq(verb, "enter")) {
                        int pid;
                        if (!*rest || parse_int(*rest, &pid) < 0)
                                die(err_set(-EINVAL, "enter needs a pid"), NULL);
                        r = cgroup_enter(cg, pid);
                } else if (streq(verb, "freeze") || streq(verb, "thaw")) {
                        r = cgroup_freeze(cg, streq(verb, "freeze"));
                } else if (streq(verb, "frozen")) {
                        bool f;
                        r = cgroup_is_frozen(cg, &f);
                        if (r >= 0)
                                printf("%s\n", f ? "true" : "false");
                } else if (streq(verb, "pids")) {
                        _cleanup_free_ pid_t *pids = NULL;
                        size_t n;
                        r = cgroup_pids(cg, &pids, &n);
                        for (size_t i = 0; r >= 0 && i < n; i++)
                                printf("%d\n", (int)pids[i]);
                } else if (streq(verb, "kill")) {
                        int sig = *rest ? signal_from_string(*rest) : SIGKILL;
                        if (sig < 0)
                                die(err_set(-EINVAL, "unknown signal"), NULL);
                        r = cgroup_kill_all(cg, sig);
                } else if (streq(verb, "stats")) {
                        _cleanup_json_ struct json_object *o = NULL;
                        r = cgroup_stats(cg, &o);
                        if (r >= 0)
                                print_json(o);
                } else if (streq(verb, "destroy")) {
                        r = cgroup_destroy(cg);
                        if (r >= 0)
                                unlink(opt_state);
                } else if (streq(verb, "mount")) {
                        r = cmd_mount(cg);
                } else
                        r = err_set(-EINVAL, "unknown verb '%s'", verb);
                if (r < 0)
                        die(r, verb);
        }
        cgroup_free(cg);
        resources_done();
        return r > 0 ? r : 0;
}
