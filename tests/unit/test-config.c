/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-config.c - unit tests for the OCI config parser (src/runtime/config*.c) and the default spec.
 *
 * Documents are written with single quotes for readability; doc() turns them into JSON. Every error
 * test checks the exact message the user would see. The mutation test replaces every value of a full
 * config with values of other types, so that each error path runs under ASan (leaks fail the run).
 */
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "config.h"
#include "error.h"
#include "json.h"
#include "spec.h"
#include "util.h"
#include "test.h"

#define BASE "'ociVersion':'1.2.0','root':{'path':'rootfs'}"
#define PROC "'process':{'args':['sh'],'cwd':'/'}"

/* JSON from a document written with single quotes. */
static char *doc(const char *s)
{
        char *j = strdup(s);
        for (char *c = j; c && *c; c++)
                if (*c == '\'')
                        *c = '"';
        return j;
}

static int parse(const char *s, struct oci_config **ret)
{
        _cleanup_free_ char *j = doc(s);
        err_clear();
        return config_parse(j, strlen(j), ret);
}

/* The error message of a document that must fail, or "(parsed)" when it did not. */
static const char *error_of(const char *s)
{
        static char buf[1024];
        struct oci_config *c = NULL;
        int r = parse(s, &c);

        if (r >= 0) {
                config_free(c);
                return "(parsed)";
        }
        snprintf(buf, sizeof(buf), "%s", err_msg(r));
        return buf;
}

#define ASSERT_ERROR(json, msg) ASSERT_STREQ(error_of(json), msg)

/* runc 1.1.5 "runc spec" output, verbatim. */
static const char runc_spec[] =
        "{'ociVersion':'1.0.2-dev','process':{'terminal':true,'user':{'uid':0,'gid':0},'args':['sh'],'env':["
        "'"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin','TERM=xterm'],'cwd':'/"
        "','capabili"
        "ties':{'bounding':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE'],'effective':['CAP_AUDIT_"
        "WRIT"
        "E','CAP_KILL','CAP_NET_BIND_SERVICE'],'permitted':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_"
        "SERVIC"
        "E'],'ambient':['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE']},'rlimits':[{'type':'RLIMIT_"
        "NOFI"
        "LE','hard':1024,'soft':1024}],'noNewPrivileges':true},'root':{'path':'rootfs','readonly':true},'"
        "host"
        "name':'runc','mounts':[{'destination':'/proc','type':'proc','source':'proc'},{'destination':'/"
        "dev','"
        "type':'tmpfs','source':'tmpfs','options':['nosuid','strictatime','mode=755','size=65536k']},{'"
        "destin"
        "ation':'/dev/"
        "pts','type':'devpts','source':'devpts','options':['nosuid','noexec','newinstance','ptmx"
        "mode=0666','mode=0620','gid=5']},{'destination':'/dev/"
        "shm','type':'tmpfs','source':'shm','options':["
        "'nosuid','noexec','nodev','mode=1777','size=65536k']},{'destination':'/dev/"
        "mqueue','type':'mqueue','"
        "source':'mqueue','options':['nosuid','noexec','nodev']},{'destination':'/"
        "sys','type':'sysfs','source"
        "':'sysfs','options':['nosuid','noexec','nodev','ro']},{'destination':'/sys/fs/"
        "cgroup','type':'cgroup"
        "','source':'cgroup','options':['nosuid','noexec','nodev','relatime','ro']}],'linux':{'resources':{'"
        "d"
        "evices':[{'allow':false,'access':'rwm'}]},'namespaces':[{'type':'pid'},{'type':'network'},{'type':'"
        "i"
        "pc'},{'type':'uts'},{'type':'mount'}],'maskedPaths':['/proc/acpi','/proc/asound','/proc/kcore','/"
        "pro"
        "c/keys','/proc/latency_stats','/proc/timer_list','/proc/timer_stats','/proc/sched_debug','/sys/"
        "firmw"
        "are','/proc/scsi'],'readonlyPaths':['/proc/bus','/proc/fs','/proc/irq','/proc/sys','/proc/"
        "sysrq-trig"
        "ger']}}";

/* Every section with every field set. */
static const char full_config[] =
        "{'ociVersion':'1.2.0',"
        "'process':{'terminal':true,'consoleSize':{'height':25,'width':80},"
        " 'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,6]},"
        " 'args':['/bin/sh','-c','true'],'env':['PATH=/bin','EMPTY='],'cwd':'/home',"
        " 'capabilities':{'bounding':['CAP_CHOWN','CAP_KILL','CAP_BPF','CAP_CHECKPOINT_RESTORE'],"
        "   "
        "'effective':['CAP_KILL'],'inheritable':[],'permitted':['CAP_KILL','CAP_PERFMON'],'ambient':['CAP_"
        "KILL']},"
        " 'rlimits':[{'type':'RLIMIT_NOFILE','soft':1024,'hard':4096},"
        "   {'type':'RLIMIT_CORE','soft':18446744073709551615,'hard':18446744073709551615}],"
        " 'noNewPrivileges':true,'apparmorProfile':'hull-default','oomScoreAdj':-500,"
        " 'selinuxLabel':'system_u:system_r:container_t:s0','ioPriority':{'class':'IOPRIO_CLASS_BE','"
        "priority':4},"
        " 'scheduler':{'policy':'SCHED_BATCH','nice':5,'flags':['SCHED_FLAG_RESET_ON_FORK'],'runtime':1,"
        "   'deadline':2,'period':3},"
        " 'execCPUAffinity':{'initial':'0-1,3','final':'1'}},"
        "'root':{'path':'/var/lib/rootfs','readonly':true},'hostname':'box','domainname':'example.org',"
        "'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
        " {'destination':'/data','type':'none','source':'/srv/data','options':['rbind','idmap'],"
        "  'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
        "  'gidMappings':[{'containerID':0,'hostID':100000,'size':65536}]}],"
        "'hooks':{'prestart':[{'path':'/usr/bin/a'}],'createRuntime':[{'path':'/usr/bin/b','args':['b','x'],"
        "  'env':['K=v'],'timeout':5}],'createContainer':[{'path':'/c'}],'startContainer':[{'path':'/d'}],"
        "  'poststart':[{'path':'/e'}],'poststop':[{'path':'/f'},{'path':'/g'}]},"
        "'annotations':{'org.example.key':'value','empty':''},"
        "'linux':{'namespaces':[{'type':'pid'},{'type':'network','path':'/var/run/netns/"
        "n1'},{'type':'mount'},"
        "  {'type':'ipc'},{'type':'uts'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
        " 'uidMappings':[{'containerID':0,'hostID':1000,'size':1},{'containerID':1,'hostID':100000,'size':"
        "65536}],"
        " 'gidMappings':[{'containerID':0,'hostID':1000,'size':65537}],"
        " 'timeOffsets':{'monotonic':{'secs':-10,'nanosecs':5},'boottime':{'secs':3600}},"
        " 'devices':[{'type':'c','path':'/dev/fuse','major':10,'minor':229,'fileMode':438,'uid':0,'gid':0},"
        "  {'type':'u','path':'/dev/u','major':1,'minor':3},{'type':'p','path':'/dev/fifo'}],"
        " 'cgroupsPath':'/hull/box',"
        " 'resources':{'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c','major':10,'minor'"
        ":229,"
        "   'access':'rw'},{'allow':true,'type':'b','major':8}],"
        "  'memory':{'limit':536870912,'reservation':-1,'swap':1073741824,'kernel':-1,'kernelTCP':-1,"
        "   'swappiness':10,'disableOOMKiller':true,'useHierarchy':true,'checkBeforeUpdate':true},"
        "  'cpu':{'shares':1024,'quota':100000,'burst':50000,'period':200000,'realtimeRuntime':950000,"
        "   'realtimePeriod':1000000,'cpus':'0-1','mems':'0','idle':1},"
        "  'pids':{'limit':0},"
        "  'blockIO':{'weight':500,'leafWeight':300,'weightDevice':[{'major':8,'minor':0,'weight':600}],"
        "   'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
        "   'throttleWriteBpsDevice':[{'major':8,'minor':0,'rate':2}],"
        "   'throttleReadIOPSDevice':[{'major':8,'minor':16,'rate':3}],"
        "   'throttleWriteIOPSDevice':[{'major':8,'minor':16,'rate':300}]},"
        "  'hugepageLimits':[{'pageSize':'2MB','limit':209715200},{'pageSize':'1GB','limit':0}],"
        "  'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500}]},"
        "  'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000}},"
        "  'unified':{'io.max':'8:0 rbps=1048576','memory.high':'max'}},"
        " 'sysctl':{'net.ipv4.ip_forward':'1','kernel.shmmax':'65536','net/ipv4/conf/eth0.100/"
        "rp_filter':'0'},"
        " 'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38,"
        "  'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86'],'flags':['SECCOMP_FILTER_FLAG_LOG'],"
        "  'listenerPath':'/run/agent.sock','listenerMetadata':'meta',"
        "  'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'},"
        "   "
        "{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':8,'op':'SCMP_CMP_EQ'}"
        ","
        "     {'index':5,'value':255,'valueTwo':8,'op':'SCMP_CMP_MASKED_EQ'}]},"
        "   {'names':['mkdir'],'action':'SCMP_ACT_NOTIFY'},{'names':['ptrace'],'action':'SCMP_ACT_KILL'},"
        "   {'names':['chmod'],'action':'SCMP_ACT_ERRNO','errnoRet':1}]},"
        " 'rootfsPropagation':'rslave','maskedPaths':['/proc/kcore'],'readonlyPaths':['/proc/sys'],"
        " 'mountLabel':'system_u:object_r:container_file_t:s0','personality':{'domain':'LINUX32','flags':[]}"
        ","
        " 'intelRdt':{'closID':'guaranteed'}},"
        "'solaris':{'milestone':'x'},'windows':{'layerFolders':[]},'futureField':{'anything':[1,2,3]}}";

TEST(minimal_config)
{
        _cleanup_config_ struct oci_config *c = NULL;

        ASSERT_OK(parse("{" BASE "}", &c));
        ASSERT_STREQ(c->oci_version, "1.2.0");
        ASSERT_STREQ(c->root_path, "rootfs");
        ASSERT_FALSE(c->root_readonly);
        ASSERT_TRUE(c->process == NULL);
        ASSERT_TRUE(c->linux_cfg == NULL);
        ASSERT_EQ(c->n_mounts, 0);
        ASSERT_TRUE(config_find_namespace(c, NS_PID) == NULL);
        ASSERT_TRUE(config_annotation(c, "x") == NULL);
}

TEST(full_config)
{
        _cleanup_config_ struct oci_config *c = NULL;
        const struct oci_process *p;
        const struct oci_linux *l;
        const struct oci_resources *res;
        const struct oci_seccomp *s;

        ASSERT_OK(parse(full_config, &c));
        p = c->process;
        ASSERT_TRUE(p && p->terminal && p->has_console_size);
        ASSERT_EQ(p->console_height, 25);
        ASSERT_EQ(p->console_width, 80);
        ASSERT_EQ(p->user.uid, 1000);
        ASSERT_EQ(p->user.gid, 1001);
        ASSERT_TRUE(p->user.has_umask);
        ASSERT_EQ(p->user.umask, 022);
        ASSERT_EQ(p->user.n_additional_gids, 2);
        ASSERT_EQ(p->user.additional_gids[1], 6);
        ASSERT_EQ(strv_length(p->args), 3);
        ASSERT_STREQ(p->args[2], "true");
        ASSERT_STREQ(p->env[1], "EMPTY=");
        ASSERT_STREQ(p->cwd, "/home");
        ASSERT_TRUE(p->has_capabilities);
        ASSERT_EQ(p->capabilities.bounding, (1ULL << 0) | (1ULL << 5) | (1ULL << 39) | (1ULL << 40));
        ASSERT_EQ(p->capabilities.effective, 1ULL << 5);
        ASSERT_EQ(p->capabilities.inheritable, 0);
        ASSERT_EQ(p->capabilities.permitted, (1ULL << 5) | (1ULL << 38));
        ASSERT_EQ(p->capabilities.ambient, 1ULL << 5);
        ASSERT_EQ(p->n_rlimits, 2);
        ASSERT_EQ(p->rlimits[0].resource, RLIMIT_NOFILE);
        ASSERT_EQ(p->rlimits[0].soft, 1024);
        ASSERT_EQ(p->rlimits[0].hard, 4096);
        ASSERT_TRUE(p->rlimits[1].hard == UINT64_MAX);
        ASSERT_TRUE(p->no_new_privileges);
        ASSERT_STREQ(p->apparmor_profile, "hull-default");
        ASSERT_TRUE(p->has_oom_score_adj);
        ASSERT_EQ(p->oom_score_adj, -500);
        ASSERT_STREQ(p->selinux_label, "system_u:system_r:container_t:s0");
        ASSERT_TRUE(p->has_io_priority);
        ASSERT_EQ(p->io_priority.ioprio_class, IOPRIO_CLASS_BE);
        ASSERT_EQ(p->io_priority.priority, 4);
        ASSERT_TRUE(p->has_scheduler);
        ASSERT_EQ(p->scheduler.policy, SCHED_BATCH);
        ASSERT_EQ(p->scheduler.nice, 5);
        ASSERT_EQ(p->scheduler.flags, 1);
        ASSERT_EQ(p->scheduler.period, 3);
        ASSERT_STREQ(p->exec_cpu_affinity_initial, "0-1,3");
        ASSERT_STREQ(p->exec_cpu_affinity_final, "1");

        ASSERT_STREQ(c->root_path, "/var/lib/rootfs");
        ASSERT_TRUE(c->root_readonly);
        ASSERT_STREQ(c->hostname, "box");
        ASSERT_STREQ(c->domainname, "example.org");
        ASSERT_EQ(c->n_mounts, 2);
        ASSERT_STREQ(c->mounts[0].destination, "/proc");
        ASSERT_TRUE(c->mounts[0].options == NULL);
        ASSERT_STREQ(c->mounts[1].source, "/srv/data");
        ASSERT_STREQ(c->mounts[1].options[1], "idmap");
        ASSERT_EQ(c->mounts[1].n_uid_mappings, 1);
        ASSERT_EQ(c->mounts[1].gid_mappings[0].host_id, 100000);

        ASSERT_EQ(c->n_hooks[HOOK_PRESTART], 1);
        ASSERT_EQ(c->n_hooks[HOOK_POSTSTOP], 2);
        ASSERT_STREQ(c->hooks[HOOK_CREATE_RUNTIME][0].args[1], "x");
        ASSERT_STREQ(c->hooks[HOOK_CREATE_RUNTIME][0].env[0], "K=v");
        ASSERT_EQ(c->hooks[HOOK_CREATE_RUNTIME][0].timeout, 5);
        ASSERT_EQ(c->hooks[HOOK_PRESTART][0].timeout, 0);
        ASSERT_STREQ(config_annotation(c, "org.example.key"), "value");
        ASSERT_STREQ(config_annotation(c, "empty"), "");

        l = c->linux_cfg;
        ASSERT_TRUE(l != NULL);
        ASSERT_EQ(l->n_namespaces, 8);
        ASSERT_STREQ(config_find_namespace(c, NS_NET)->path, "/var/run/netns/n1");
        ASSERT_TRUE(config_find_namespace(c, NS_TIME)->path == NULL);
        ASSERT_EQ(l->n_uid_mappings, 2);
        ASSERT_EQ(l->uid_mappings[1].size, 65536);
        ASSERT_TRUE(l->has_time_offsets);
        ASSERT_EQ(l->time_monotonic_secs, -10);
        ASSERT_EQ(l->time_monotonic_nsecs, 5);
        ASSERT_EQ(l->time_boottime_secs, 3600);
        ASSERT_EQ(l->n_devices, 3);
        ASSERT_EQ(l->devices[0].type, 'c');
        ASSERT_TRUE(l->devices[0].has_file_mode && l->devices[0].has_uid && l->devices[0].has_gid);
        ASSERT_EQ(l->devices[0].file_mode, 0666);
        ASSERT_EQ(l->devices[1].type, 'c');
        ASSERT_EQ(l->devices[2].type, 'p');
        ASSERT_FALSE(l->devices[2].has_file_mode);
        ASSERT_STREQ(l->cgroups_path, "/hull/box");
        ASSERT_EQ(l->n_sysctl, 3);
        ASSERT_STREQ(l->rootfs_propagation, "rslave");
        ASSERT_STREQ(l->masked_paths[0], "/proc/kcore");
        ASSERT_STREQ(l->readonly_paths[0], "/proc/sys");
        ASSERT_STREQ(l->mount_label, "system_u:object_r:container_file_t:s0");
        ASSERT_TRUE(l->has_personality);
        ASSERT_EQ(l->personality_domain, PER_LINUX32);
        ASSERT_TRUE(l->has_intel_rdt);

        res = l->resources;
        ASSERT_TRUE(res != NULL);
        ASSERT_EQ(res->n_devices, 3);
        ASSERT_FALSE(res->devices[0].allow);
        ASSERT_EQ(res->devices[0].type, 'a');
        ASSERT_EQ(res->devices[0].major, -1);
        ASSERT_STREQ(res->devices[1].access, "rw");
        ASSERT_EQ(res->devices[2].minor, -1);
        ASSERT_STREQ(res->devices[2].access, "rwm");
        ASSERT_TRUE(res->has_memory_limit && res->has_memory_reservation && res->has_memory_swap);
        ASSERT_EQ(res->memory_limit, 536870912);
        ASSERT_EQ(res->memory_reservation, -1);
        ASSERT_EQ(res->memory_kernel, -1);
        ASSERT_EQ(res->memory_swappiness, 10);
        ASSERT_TRUE(res->disable_oom_killer && res->has_disable_oom_killer);
        ASSERT_TRUE(res->use_hierarchy && res->has_use_hierarchy && res->memory_check_before_update);
        ASSERT_EQ(res->cpu_shares, 1024);
        ASSERT_EQ(res->cpu_quota, 100000);
        ASSERT_EQ(res->cpu_burst, 50000);
        ASSERT_EQ(res->cpu_period, 200000);
        ASSERT_EQ(res->cpu_rt_runtime, 950000);
        ASSERT_EQ(res->cpu_rt_period, 1000000);
        ASSERT_STREQ(res->cpu_cpus, "0-1");
        ASSERT_STREQ(res->cpu_mems, "0");
        ASSERT_TRUE(res->has_cpu_idle);
        ASSERT_EQ(res->cpu_idle, 1);
        ASSERT_TRUE(res->has_pids_limit);
        ASSERT_EQ(res->pids_limit, -1);
        ASSERT_EQ(res->blkio_weight, 500);
        ASSERT_EQ(res->blkio_leaf_weight, 300);
        ASSERT_EQ(res->n_blkio_weight_devices, 1);
        ASSERT_TRUE(res->blkio_weight_devices[0].has_weight &&
                    !res->blkio_weight_devices[0].has_leaf_weight);
        ASSERT_EQ(res->blkio_throttle_read_bps[0].rate, 1048576);
        ASSERT_EQ(res->blkio_throttle_write_iops[0].minor, 16);
        ASSERT_EQ(res->n_hugepage_limits, 2);
        ASSERT_STREQ(res->hugepage_limits[1].page_size, "1GB");
        ASSERT_EQ(res->net_class_id, 1048577);
        ASSERT_STREQ(res->net_priorities[0].name, "eth0");
        ASSERT_TRUE(res->has_rdma);
        ASSERT_EQ(res->n_unified, 2);
        ASSERT_STREQ(res->unified[0].key, "io.max");

        s = l->seccomp;
        ASSERT_TRUE(s != NULL);
        ASSERT_EQ(s->default_action, SECCOMP_ACT_ERRNO);
        ASSERT_TRUE(s->has_default_errno_ret);
        ASSERT_EQ(s->default_errno_ret, 38);
        ASSERT_STREQ(s->architectures[1], "SCMP_ARCH_X86");
        ASSERT_STREQ(s->flags[0], "SECCOMP_FILTER_FLAG_LOG");
        ASSERT_STREQ(s->listener_path, "/run/agent.sock");
        ASSERT_STREQ(s->listener_metadata, "meta");
        ASSERT_EQ(s->n_syscalls, 5);
        ASSERT_STREQ(s->syscalls[0].names[1], "write");
        ASSERT_EQ(s->syscalls[1].n_args, 2);
        ASSERT_EQ(s->syscalls[1].args[1].index, 5);
        ASSERT_EQ(s->syscalls[1].args[1].value_two, 8);
        ASSERT_EQ(s->syscalls[1].args[1].op, SECCOMP_OP_MASKED_EQ);
        ASSERT_EQ(s->syscalls[2].action, SECCOMP_ACT_NOTIFY);
        ASSERT_EQ(s->syscalls[3].action, SECCOMP_ACT_KILL_THREAD);
        ASSERT_TRUE(s->syscalls[4].has_errno_ret);
        ASSERT_EQ(s->syscalls[4].errno_ret, 1);
        ASSERT_FALSE(s->syscalls[0].has_errno_ret);
}

TEST(runc_spec_parses)
{
        _cleanup_config_ struct oci_config *c = NULL;

        ASSERT_OK(parse(runc_spec, &c));
        ASSERT_STREQ(c->oci_version, "1.0.2-dev");
        ASSERT_EQ(c->n_mounts, 7);
        ASSERT_EQ(c->process->capabilities.ambient, (1ULL << 29) | (1ULL << 5) | (1ULL << 10));
        ASSERT_EQ(c->linux_cfg->n_namespaces, 5);
        ASSERT_EQ(c->linux_cfg->resources->n_devices, 1);
        ASSERT_EQ(strv_length(c->linux_cfg->masked_paths), 10);
}

static void check_default_spec(bool rootless)
{
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_config_ struct oci_config *c = NULL;
        const char *s;

        ASSERT_OK(spec_default(rootless, &o));
        s = json_to_string(o);
        err_clear();
        ASSERT_OK(config_parse(s, strlen(s), &c));
        ASSERT_STREQ(c->oci_version, "1.2.0");
        ASSERT_STREQ(c->hostname, "hull");
        ASSERT_STREQ(c->root_path, "rootfs");
        ASSERT_TRUE(c->root_readonly);
        ASSERT_TRUE(c->process->terminal && c->process->no_new_privileges);
        ASSERT_STREQ(c->process->args[0], "sh");
        ASSERT_STREQ(c->process->env[1], "TERM=xterm");
        ASSERT_EQ(c->process->capabilities.bounding, (1ULL << 29) | (1ULL << 5) | (1ULL << 10));
        ASSERT_EQ(c->process->capabilities.ambient, 0);
        ASSERT_EQ(c->process->n_rlimits, 1);
        ASSERT_EQ(c->process->rlimits[0].resource, RLIMIT_NOFILE);
        ASSERT_EQ(c->n_mounts, 7);
        ASSERT_STREQ(c->mounts[6].destination, "/sys/fs/cgroup");
        ASSERT_TRUE(config_find_namespace(c, NS_CGROUP) != NULL);
        ASSERT_EQ(strv_length(c->linux_cfg->masked_paths), 11);
        ASSERT_EQ(strv_length(c->linux_cfg->readonly_paths), 5);
        if (rootless) {
                ASSERT_TRUE(config_find_namespace(c, NS_NET) == NULL);
                ASSERT_TRUE(config_find_namespace(c, NS_USER) != NULL);
                ASSERT_EQ(c->linux_cfg->uid_mappings[0].host_id, geteuid());
                ASSERT_EQ(c->linux_cfg->gid_mappings[0].size, 1);
                ASSERT_TRUE(c->linux_cfg->resources == NULL);
                ASSERT_STREQ(c->mounts[5].type, "none");
                ASSERT_FALSE(strv_contains(c->mounts[2].options, "gid=5"));
        } else {
                ASSERT_TRUE(config_find_namespace(c, NS_NET) != NULL);
                ASSERT_TRUE(config_find_namespace(c, NS_USER) == NULL);
                ASSERT_EQ(c->linux_cfg->resources->n_devices, 1);
                ASSERT_STREQ(c->mounts[5].type, "sysfs");
                ASSERT_TRUE(strv_contains(c->mounts[2].options, "gid=5"));
        }
}

TEST(default_spec)
{
        check_default_spec(false);
}

TEST(default_spec_rootless)
{
        check_default_spec(true);
}

TEST(syntax_and_top_level)
{
        ASSERT_ERROR("", "config.json: empty document");
        ASSERT_ERROR("{'ociVersion':",
                     "config.json: invalid JSON at line 1, column 15: unexpected end of data");
        ASSERT_ERROR("[]", "config: expected an object, got array");
        ASSERT_ERROR("{'root':{'path':'r'}}", "ociVersion: required field is missing");
        ASSERT_ERROR("{'ociVersion':1,'root':{'path':'r'}}", "ociVersion: expected a string, got integer");
        ASSERT_ERROR("{'ociVersion':'2.0.0','root':{'path':'r'}}",
                     "ociVersion: unsupported version '2.0.0', expected 1.x");
        ASSERT_ERROR("{'ociVersion':'0.5.0','root':{'path':'r'}}",
                     "ociVersion: unsupported version '0.5.0', expected 1.x");
        ASSERT_ERROR("{'ociVersion':'1.x','root':{'path':'r'}}",
                     "ociVersion: unsupported version '1.x', expected 1.x");
        ASSERT_STREQ(error_of("{'ociVersion':'1.0.0','root':{'path':'r'}}"), "(parsed)");
        ASSERT_STREQ(error_of("{'ociVersion':'1.1.0+dev','root':{'path':'r'}}"), "(parsed)");
        ASSERT_STREQ(error_of("{'ociVersion':'1.3.0-rc.1','root':{'path':'r'}}"), "(parsed)");
        ASSERT_STREQ(error_of("{'ociVersion':'1.10','root':{'path':'r'}}"), "(parsed)");
        ASSERT_ERROR("{'ociVersion':'1.2.0'}", "root: required field is missing");
        ASSERT_ERROR("{'ociVersion':'1.2.0','root':{}}", "root.path: required field is missing");
        ASSERT_ERROR("{'ociVersion':'1.2.0','root':{'path':''}}", "root.path: must not be empty");
        ASSERT_ERROR("{" BASE ",'hostname':5}", "hostname: expected a string, got integer");
        ASSERT_ERROR("{" BASE ",'mounts':{}}", "mounts: expected an array, got object");
        ASSERT_ERROR("{" BASE ",'mounts':['x']}", "mounts[0]: expected an object, got string");
        ASSERT_ERROR("{" BASE ",'annotations':{'a':1}}", "annotations.a: expected a string, got integer");
        ASSERT_ERROR("{" BASE ",'annotations':{'':'x'}}", "annotations: keys must not be empty");
        /* Unknown members are ignored at every level; null reads as absent. */
        ASSERT_STREQ(error_of("{" BASE ",'x':1,'process':null,'linux':{'y':{},'resources':{'z':[]}}}"),
                     "(parsed)");
}

TEST(nul_in_strings)
{
        ASSERT_ERROR("{'ociVersion':'1.2.0','root':{'path':'a\\u0000b'}}",
                     "root.path: contains a NUL character");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh\\u0000x'],'cwd':'/'}}",
                     "process.args[0]: contains a NUL character");
}

TEST(process_errors)
{
        ASSERT_ERROR("{" BASE ",'process':{'cwd':'/'}}", "process.args: required field is missing");
        ASSERT_ERROR("{" BASE ",'process':{'args':[],'cwd':'/'}}",
                     "process.args: must contain at least one element");
        ASSERT_ERROR("{" BASE ",'process':{'args':[''],'cwd':'/'}}", "process.args[0]: must not be empty");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh',1],'cwd':'/'}}",
                     "process.args[1]: expected a string, got integer");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh']}}", "process.cwd: required field is missing");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'tmp'}}",
                     "process.cwd: must be an absolute path, got 'tmp'");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','env':['FOO']}}",
                     "process.env[0]: expected KEY=value, got 'FOO'");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','env':['=x']}}",
                     "process.env[0]: expected KEY=value, got '=x'");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','user':{'uid':'0','gid':0}}}",
                     "process.user.uid: expected an unsigned integer, got string");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','user':{'uid':-1,'gid':0}}}",
                     "process.user.uid: expected an unsigned integer, got -1");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','user':{'uid':4294967296,'gid':0}}}",
                     "process.user.uid: 4294967296 is larger than 4294967295");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','user':{'uid':0}}}",
                     "process.user.gid: required field is missing");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','user':{'uid':0,'gid':0,'umask':512}}}",
                     "process.user.umask: 512 is out of range (0 to 511)");
        ASSERT_ERROR(
                "{" BASE
                ",'process':{'args':['sh'],'cwd':'/','user':{'uid':0,'gid':0,'additionalGids':[1,'x']}}}",
                "process.user.additionalGids[1]: expected an unsigned integer, got string");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','terminal':'yes'}}",
                     "process.terminal: expected a boolean, got string");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','consoleSize':{'height':1}}}",
                     "process.consoleSize.width: required field is missing");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','oomScoreAdj':1001}}",
                     "process.oomScoreAdj: 1001 is out of range (-1000 to 1000)");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','oomScoreAdj':1.5}}",
                     "process.oomScoreAdj: expected an integer, got number");
        ASSERT_ERROR(
                "{" BASE
                ",'process':{'args':['sh'],'cwd':'/','ioPriority':{'class':'IOPRIO_CLASS_X','priority':0}}}",
                "process.ioPriority.class: unknown class 'IOPRIO_CLASS_X'");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/"
                     "','ioPriority':{'class':'IOPRIO_CLASS_RT','priority':8}}}",
                     "process.ioPriority.priority: 8 is out of range (0 to 7)");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','scheduler':{'policy':'SCHED_ISO'}}}",
                     "process.scheduler.policy: unknown or unsupported policy 'SCHED_ISO'");
        ASSERT_ERROR("{" BASE
                     ",'process':{'args':['sh'],'cwd':'/','scheduler':{'policy':'SCHED_OTHER','nice':20}}}",
                     "process.scheduler.nice: 20 is out of range (-20 to 19)");
        ASSERT_ERROR("{" BASE
                     ",'process':{'args':['sh'],'cwd':'/','scheduler':{'policy':'SCHED_RR','flags':['X']}}}",
                     "process.scheduler.flags[0]: unknown flag 'X'");
        ASSERT_ERROR(
                "{" BASE ",'process':{'args':['sh'],'cwd':'/','execCPUAffinity':{'initial':'3-1'}}}",
                "process.execCPUAffinity.initial: invalid CPU list '3-1', expected a list like '0-3,7'");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','execCPUAffinity':{'final':'1,'}}}",
                     "process.execCPUAffinity.final: invalid CPU list '1,', expected a list like '0-3,7'");
}

TEST(capabilities)
{
        ASSERT_ERROR(
                "{" BASE
                ",'process':{'args':['sh'],'cwd':'/','capabilities':{'bounding':['CAP_KILL','CAP_FOO']}}}",
                "process.capabilities.bounding[1]: unknown capability 'CAP_FOO'");
        /* libcap alone would take these spellings; the spec's is CAP_ in upper case. */
        ASSERT_ERROR("{" BASE
                     ",'process':{'args':['sh'],'cwd':'/','capabilities':{'ambient':['cap_kill']}}}",
                     "process.capabilities.ambient[0]: unknown capability 'cap_kill'");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','capabilities':{'effective':['12']}}}",
                     "process.capabilities.effective[0]: unknown capability '12'");
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','capabilities':{'permitted':['CAP_']}}}",
                     "process.capabilities.permitted[0]: unknown capability 'CAP_'");
        /* The pre-1.0 form, a plain array. */
        ASSERT_ERROR("{" BASE ",'process':{'args':['sh'],'cwd':'/','capabilities':['CAP_KILL']}}",
                     "process.capabilities: expected an object, got array");
}

TEST(rlimits)
{
        ASSERT_EQ(rlimit_from_string("RLIMIT_NOFILE"), RLIMIT_NOFILE);
        ASSERT_EQ(rlimit_from_string("RLIMIT_RTTIME"), RLIMIT_RTTIME);
        ASSERT_ERR(rlimit_from_string("RLIMIT_FOO"), -EINVAL);
        ASSERT_ERR(rlimit_from_string("nofile"), -EINVAL);
        ASSERT_ERROR(
                "{" BASE
                ",'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]}}",
                "process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'");
        ASSERT_ERROR(
                "{" BASE
                ",'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':2,'hard':1}]}}",
                "process.rlimits[0]: soft limit 2 is above hard limit 1");
        ASSERT_ERROR("{" BASE
                     ",'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','hard':1}]}}",
                     "process.rlimits[0].soft: required field is missing");
        ASSERT_ERROR("{" BASE
                     ",'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE','soft':1,"
                     "'hard':1},{'type':'RLIMIT_NOFILE','soft':1,'hard':1},{'type':'RLIMIT_CORE','soft':0,'"
                     "hard':0}]}}",
                     "process.rlimits[2].type: duplicate of process.rlimits[0].type");
}

TEST(mounts_and_hooks)
{
        ASSERT_ERROR("{" BASE ",'mounts':[{'destination':'/a'},{'destination':'/b'},{'destination':'/c'},"
                     "{'destination':'tmp','type':'tmpfs'}]}",
                     "mounts[3].destination: must be an absolute path, got 'tmp'");
        ASSERT_ERROR("{" BASE ",'mounts':[{'type':'tmpfs'}]}",
                     "mounts[0].destination: required field is missing");
        ASSERT_ERROR("{" BASE ",'mounts':[{'destination':'/a','options':'ro'}]}",
                     "mounts[0].options: expected an array, got string");
        ASSERT_ERROR(
                "{" BASE
                ",'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1,'size':1}]}]}",
                "mounts[0]: uidMappings and gidMappings must be given together");
        ASSERT_ERROR("{" BASE ",'hooks':{'poststop':[{'path':'rel/hook'}]}}",
                     "hooks.poststop[0].path: must be an absolute path, got 'rel/hook'");
        ASSERT_ERROR("{" BASE ",'hooks':{'createRuntime':[{'path':'/h','timeout':0}]}}",
                     "hooks.createRuntime[0].timeout: must be greater than 0 when given, got 0");
        ASSERT_ERROR("{" BASE ",'hooks':{'prestart':[{'path':'/h'},{'path':'/h','timeout':-3}]}}",
                     "hooks.prestart[1].timeout: must be greater than 0 when given, got -3");
        ASSERT_ERROR("{" BASE ",'hooks':{'startContainer':[{'args':['x']}]}}",
                     "hooks.startContainer[0].path: required field is missing");
        ASSERT_ERROR("{" BASE ",'hooks':[]}", "hooks: expected an object, got array");
        ASSERT_STREQ(hook_kind_to_string(HOOK_CREATE_CONTAINER), "createContainer");
        ASSERT_TRUE(hook_kind_to_string(_HOOK_KIND_MAX) == NULL);
}

TEST(namespaces)
{
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'foo'}]}}",
                     "linux.namespaces[2].type: unknown namespace type 'foo'");
        ASSERT_ERROR("{" BASE
                     ",'linux':{'namespaces':[{'type':'pid'},{'type':'pid','path':'/proc/1/ns/pid'}]}}",
                     "linux.namespaces[1].type: duplicate namespace type 'pid'");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'network','path':'netns/x'}]}}",
                     "linux.namespaces[0].path: must be an absolute path, got 'netns/x'");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'path':'/x'}]}}",
                     "linux.namespaces[0].type: required field is missing");
        ASSERT_ERROR("{" BASE ",'hostname':'h','linux':{'namespaces':[{'type':'pid'}]}}",
                     "hostname: needs a uts namespace in linux.namespaces");
        ASSERT_ERROR("{" BASE ",'domainname':'d'}", "domainname: needs a uts namespace in linux.namespaces");
        ASSERT_STREQ(error_of("{" BASE ",'hostname':''}"), "(parsed)");

        ASSERT_EQ(ns_type_from_string("network"), NS_NET);
        ASSERT_EQ(ns_type_from_string("net"), _NS_TYPE_INVALID);
        ASSERT_STREQ(ns_type_to_string(NS_MNT), "mount");
        ASSERT_STREQ(ns_type_proc_name(NS_MNT), "mnt");
        ASSERT_STREQ(ns_type_proc_name(NS_NET), "net");
        ASSERT_EQ(ns_type_clone_flag(NS_USER), CLONE_NEWUSER);
        ASSERT_EQ(ns_type_clone_flag(NS_TIME), CLONE_NEWTIME);
        ASSERT_EQ(ns_type_clone_flag(NS_CGROUP), CLONE_NEWCGROUP);
        ASSERT_ERR(ns_type_clone_flag(_NS_TYPE_MAX), -EINVAL);
        ASSERT_TRUE(ns_type_to_string(_NS_TYPE_INVALID) == NULL);
}

#define USERNS       "{'type':'user'}"
#define MAP(c, h, s) "{'containerID':" #c ",'hostID':" #h ",'size':" #s "}"

TEST(id_mappings)
{
        ASSERT_ERROR("{" BASE
                     ",'linux':{'uidMappings':[" MAP(0, 1000, 1) "],'gidMappings':[" MAP(0, 1000, 1) "]}}",
                     "linux.uidMappings: needs a user namespace in linux.namespaces");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[" USERNS "],'uidMappings':[" MAP(0, 1000, 1) "]}}",
                     "linux.gidMappings: required when linux.namespaces creates a user namespace");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[" USERNS "]}}",
                     "linux.uidMappings: required when linux.namespaces creates a user namespace");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'user','path':'/proc/1/ns/user'}],"
                     "'uidMappings':[" MAP(0, 0, 1) "],'gidMappings':[" MAP(0, 0, 1) "]}}",
                     "linux.uidMappings: not allowed when joining the user namespace '/proc/1/ns/user'");
        ASSERT_STREQ(
                error_of("{" BASE ",'linux':{'namespaces':[{'type':'user','path':'/proc/1/ns/user'}]}}"),
                "(parsed)");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[" USERNS
                     "],'uidMappings':[" MAP(0, 1000, 0) "],"
                                                         "'gidMappings':[" MAP(0, 1000, 1) "]}}",
                     "linux.uidMappings[0].size: must be greater than 0");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[" USERNS
                     "],'uidMappings':[" MAP(0, 4294967295, 2) "],"
                                                               "'gidMappings':[" MAP(0, 1000, 1) "]}}",
                     "linux.uidMappings[0]: id + size - 1 overflows 32 bits");
        ASSERT_STREQ(error_of("{" BASE ",'linux':{'namespaces':[" USERNS "],'uidMappings':[" MAP(
                             1, 4294967295, 1) "],"
                                               "'gidMappings':[" MAP(0, 0, 4294967295) "]}}"),
                     "(parsed)");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[" USERNS "],'uidMappings':[" MAP(0, 1000, 10) "," MAP(
                             5, 5000, 1) "],'gidMappings':[" MAP(0, 1000, 1) "]}}",
                     "linux.uidMappings[1]: overlaps linux.uidMappings[0]");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[" USERNS "],'uidMappings':[" MAP(
                             0, 1000, 1) "],"
                                         "'gidMappings':[" MAP(0, 1000, 10) "," MAP(10, 1005, 1) "]}}",
                     "linux.gidMappings[1]: overlaps linux.gidMappings[0]");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[" USERNS
                     "],'uidMappings':[{'containerID':0,'hostID':1}]}}",
                     "linux.uidMappings[0].size: required field is missing");
}

TEST(id_mappings_kernel_limit)
{
        _cleanup_free_ char *s = NULL;
        char *p;
        size_t size = 64 * 400 + 512;

        /* 341 disjoint single-id mappings: one more than uid_map takes. */
        s = malloc(size);
        ASSERT_TRUE(s != NULL);
        p = s + sprintf(s, "{" BASE ",'linux':{'namespaces':[" USERNS
                           "],'gidMappings':[" MAP(0, 0, 1) "],'uidMappings':[");
        for (int i = 0; i < 341; i++)
                p += sprintf(p, "%s{'containerID':%d,'hostID':%d,'size':1}", i ? "," : "", i, 1000 + i);
        strcpy(p, "]}}");
        ASSERT_ERROR(s, "linux.uidMappings: 341 entries, the kernel accepts at most 340");
}

TEST(time_offsets)
{
        ASSERT_ERROR("{" BASE ",'linux':{'timeOffsets':{'monotonic':{'secs':1}}}}",
                     "linux.timeOffsets: needs a new time namespace in linux.namespaces");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'time','path':'/proc/1/ns/time'}],"
                     "'timeOffsets':{'boottime':{'secs':1}}}}",
                     "linux.timeOffsets: needs a new time namespace in linux.namespaces");
        ASSERT_ERROR("{" BASE
                     ",'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{'secs':1}}}}",
                     "linux.timeOffsets: unknown clock 'realtime', expected 'monotonic' or 'boottime'");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'boottime':{'"
                     "nanosecs':1000000000}}}}",
                     "linux.timeOffsets.boottime.nanosecs: 1000000000 is not below 1000000000");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'boottime':5}}}",
                     "linux.timeOffsets.boottime: expected an object, got integer");
}

TEST(devices)
{
        ASSERT_ERROR("{" BASE ",'linux':{'devices':[{'type':'x','path':'/dev/x','major':1,'minor':1}]}}",
                     "linux.devices[0].type: unknown device type 'x', expected c, b, u or p");
        ASSERT_ERROR("{" BASE ",'linux':{'devices':[{'type':'cc','path':'/dev/x','major':1,'minor':1}]}}",
                     "linux.devices[0].type: unknown device type 'cc', expected c, b, u or p");
        ASSERT_ERROR("{" BASE ",'linux':{'devices':[{'type':'c','path':'dev/x','major':1,'minor':1}]}}",
                     "linux.devices[0].path: must be an absolute path, got 'dev/x'");
        ASSERT_ERROR("{" BASE ",'linux':{'devices':[{'type':'b','path':'/dev/x','minor':1}]}}",
                     "linux.devices[0].major: required field is missing");
        ASSERT_ERROR("{" BASE ",'linux':{'devices':[{'type':'u','path':'/dev/x','major':1}]}}",
                     "linux.devices[0].minor: required field is missing");
        ASSERT_ERROR("{" BASE ",'linux':{'devices':[{'type':'c','path':'/dev/x','major':4096,'minor':1}]}}",
                     "linux.devices[0].major: 4096 is out of range (0 to 4095)");
        ASSERT_ERROR("{" BASE ",'linux':{'devices':[{'type':'c','path':'/dev/x','major':1,'minor':-1}]}}",
                     "linux.devices[0].minor: -1 is out of range (0 to 1048575)");
        ASSERT_ERROR("{" BASE
                     ",'linux':{'devices':[{'type':'c','path':'/dev/x','major':1,'minor':1,'uid':-1}]}}",
                     "linux.devices[0].uid: expected an unsigned integer, got -1");
        ASSERT_STREQ(error_of("{" BASE ",'linux':{'devices':[{'type':'p','path':'/dev/p'}]}}"), "(parsed)");
}

TEST(device_rules)
{
        ASSERT_ERROR("{" BASE ",'linux':{'resources':{'devices':[{'access':'rwm'}]}}}",
                     "linux.resources.devices[0].allow: required field is missing");
        ASSERT_ERROR("{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'type':'u'}]}}}",
                     "linux.resources.devices[0].type: unknown device type 'u', expected a, c or b");
        ASSERT_ERROR("{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}}",
                     "linux.resources.devices[0].access: invalid access 'rwx', expected a combination of r, "
                     "w and m");
        ASSERT_ERROR("{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'access':'rr'}]}}}",
                     "linux.resources.devices[0].access: invalid access 'rr', expected a combination of r, "
                     "w and m");
        ASSERT_ERROR("{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'access':'rwmr'}]}}}",
                     "linux.resources.devices[0].access: invalid access 'rwmr', expected a combination of "
                     "r, w and m");
        ASSERT_ERROR("{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'major':-2}]}}}",
                     "linux.resources.devices[0].major: -2 is out of range (-1 to 4294967295)");
        ASSERT_ERROR("{" BASE ",'linux':{'resources':{'devices':[{'allow':'yes'}]}}}",
                     "linux.resources.devices[0].allow: expected a boolean, got string");
}

static int resources(const char *s, struct oci_resources **ret)
{
        _cleanup_free_ char *j = doc(s);
        err_clear();
        return resources_parse(j, strlen(j), "resources.json", ret);
}

static const char *resources_error(const char *s)
{
        static char buf[1024];
        struct oci_resources *r = NULL;
        int k = resources(s, &r);

        if (k >= 0) {
                resources_free(r);
                return "(parsed)";
        }
        snprintf(buf, sizeof(buf), "%s", err_msg(k));
        return buf;
}

TEST(memory_values)
{
        _cleanup_resources_ struct oci_resources *r = NULL;

        ASSERT_OK(resources("{'memory':{'limit':-1,'swap':-1,'reservation':0}}", &r));
        ASSERT_TRUE(r->has_memory_limit && r->has_memory_swap && r->has_memory_reservation);
        ASSERT_EQ(r->memory_limit, -1);
        ASSERT_EQ(r->memory_swap, -1);
        ASSERT_EQ(r->memory_reservation, 0);
        ASSERT_FALSE(r->has_memory_kernel);
        ASSERT_FALSE(r->has_memory_swappiness);
        ASSERT_STREQ(resources_error("{'memory':{'limit':-2}}"),
                     "linux.resources.memory.limit: must be -1 (unlimited) or a number of bytes, got -2");
        ASSERT_STREQ(resources_error("{'memory':{'kernelTCP':'1G'}}"),
                     "linux.resources.memory.kernelTCP: expected an integer, got string");
        ASSERT_STREQ(resources_error("{'memory':{'limit':2000,'swap':1000}}"),
                     "linux.resources.memory.swap: 1000 must be -1 or at least memory.limit (2000), it "
                     "counts memory+swap");
        ASSERT_STREQ(resources_error("{'memory':{'limit':-1,'swap':1000}}"),
                     "linux.resources.memory.swap: 1000 must be -1 or at least memory.limit (-1), it counts "
                     "memory+swap");
        ASSERT_STREQ(resources_error("{'memory':{'swappiness':101}}"),
                     "linux.resources.memory.swappiness: 101 is out of range (0 to 100)");
        ASSERT_STREQ(resources_error("{'memory':{'swappiness':-1}}"),
                     "linux.resources.memory.swappiness: expected an unsigned integer, got -1");
        ASSERT_STREQ(resources_error("{'memory':{'limit':9223372036854775808}}"),
                     "linux.resources.memory.limit: integer out of range");
}

TEST(legacy_disable_oom_killer)
{
        _cleanup_resources_ struct oci_resources *r = NULL;

        ASSERT_OK(resources("{'disableOOMKiller':true}", &r));
        ASSERT_TRUE(r->has_disable_oom_killer && r->disable_oom_killer);
}

TEST(cpu_ranges)
{
        _cleanup_resources_ struct oci_resources *r = NULL;

        ASSERT_OK(resources("{'cpu':{'shares':0,'quota':0,'period':0,'burst':0,'cpus':''}}", &r));
        ASSERT_FALSE(r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period);
        ASSERT_TRUE(r->has_cpu_burst);
        ASSERT_STREQ(r->cpu_cpus, "");
        ASSERT_STREQ(resources_error("{'cpu':{'shares':1}}"),
                     "linux.resources.cpu.shares: 1 is out of range (2 to 262144)");
        ASSERT_STREQ(resources_error("{'cpu':{'shares':262145}}"),
                     "linux.resources.cpu.shares: 262145 is out of range (2 to 262144)");
        ASSERT_STREQ(
                resources_error("{'cpu':{'quota':999}}"),
                "linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000 microseconds, got 999");
        ASSERT_STREQ(
                resources_error("{'cpu':{'quota':-5}}"),
                "linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000 microseconds, got -5");
        ASSERT_STREQ(resources_error("{'cpu':{'quota':-1,'burst':5}}"), "(parsed)");
        ASSERT_STREQ(resources_error("{'cpu':{'period':999}}"),
                     "linux.resources.cpu.period: 999 is out of range (1000 to 1000000 microseconds)");
        ASSERT_STREQ(resources_error("{'cpu':{'quota':2000,'burst':3000}}"),
                     "linux.resources.cpu.burst: 3000 is larger than cpu.quota 2000");
        ASSERT_STREQ(resources_error("{'cpu':{'realtimeRuntime':2000,'realtimePeriod':1000}}"),
                     "linux.resources.cpu.realtimeRuntime: 2000 is larger than realtimePeriod 1000");
        ASSERT_STREQ(resources_error("{'cpu':{'realtimeRuntime':-2}}"),
                     "linux.resources.cpu.realtimeRuntime: -2 is out of range (-1 to 9223372036854775807)");
        ASSERT_STREQ(resources_error("{'cpu':{'cpus':'0-'}}"),
                     "linux.resources.cpu.cpus: invalid CPU list '0-', expected a list like '0-3,7'");
        ASSERT_STREQ(resources_error("{'cpu':{'mems':'a'}}"),
                     "linux.resources.cpu.mems: invalid CPU list 'a', expected a list like '0-3,7'");
        ASSERT_STREQ(resources_error("{'cpu':{'idle':2}}"),
                     "linux.resources.cpu.idle: 2 is out of range (0 to 1)");
}

TEST(pids_blkio_hugetlb_network)
{
        _cleanup_resources_ struct oci_resources *r = NULL, *r2 = NULL;

        ASSERT_OK(resources("{'pids':{'limit':-1}}", &r));
        ASSERT_TRUE(r->has_pids_limit);
        ASSERT_EQ(r->pids_limit, -1);
        ASSERT_OK(resources("{'pids':{'limit':32}}", &r2));
        ASSERT_EQ(r2->pids_limit, 32);
        ASSERT_STREQ(resources_error("{'pids':{'limit':-3}}"),
                     "linux.resources.pids.limit: -3 is out of range (-1 to 9223372036854775807)");
        ASSERT_STREQ(resources_error("{'blockIO':{'weight':5}}"),
                     "linux.resources.blockIO.weight: 5 is out of range (10 to 1000)");
        ASSERT_STREQ(resources_error("{'blockIO':{'weightDevice':[{'major':8,'minor':0}]}}"),
                     "linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight");
        ASSERT_STREQ(
                resources_error("{'blockIO':{'weightDevice':[{'major':8,'minor':0,'leafWeight':1001}]}}"),
                "linux.resources.blockIO.weightDevice[0].leafWeight: 1001 is out of range (10 to 1000)");
        ASSERT_STREQ(resources_error("{'blockIO':{'throttleReadBpsDevice':[{'major':8,'rate':1}]}}"),
                     "linux.resources.blockIO.throttleReadBpsDevice[0].minor: required field is missing");
        ASSERT_STREQ(resources_error("{'blockIO':{'throttleWriteIOPSDevice':[{'major':8,'minor':0}]}}"),
                     "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: required field is missing");
        ASSERT_STREQ(resources_error("{'hugepageLimits':[{'pageSize':'2M','limit':1}]}"),
                     "linux.resources.hugepageLimits[0].pageSize: invalid page size '2M', expected a size "
                     "like 2MB or 1GB");
        ASSERT_STREQ(resources_error("{'hugepageLimits':[{'pageSize':'2MB'}]}"),
                     "linux.resources.hugepageLimits[0].limit: required field is missing");
        ASSERT_STREQ(resources_error("{'network':{'priorities':[{'name':'eth0'}]}}"),
                     "linux.resources.network.priorities[0].priority: required field is missing");
        ASSERT_STREQ(resources_error("{'network':{'classID':-1}}"),
                     "linux.resources.network.classID: expected an unsigned integer, got -1");
        ASSERT_STREQ(resources_error("{'rdma':{'mlx4':{}}}"),
                     "linux.resources.rdma.mlx4: needs hcaHandles or hcaObjects");
        ASSERT_STREQ(resources_error("{'unified':{'../../release_agent':'x'}}"),
                     "linux.resources.unified: invalid cgroup file name '../../release_agent'");
        ASSERT_STREQ(resources_error("{'unified':{'memory.max':5}}"),
                     "linux.resources.unified.memory.max: expected a string, got integer");
        ASSERT_STREQ(resources_error("[]"), "linux.resources: expected an object, got array");
        ASSERT_STREQ(resources_error("{"),
                     "resources.json: invalid JSON at line 1, column 2: unexpected end of data");
}

TEST(sysctl)
{
        ASSERT_ERROR("{" BASE ",'linux':{'sysctl':{'net.ipv4.ip_forward':'1'}}}",
                     "linux.sysctl: 'net.ipv4.ip_forward' needs a namespace of type 'network' in "
                     "linux.namespaces");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'network'}],'sysctl':{'vm.swappiness':'1'}}}",
                     "linux.sysctl: 'vm.swappiness' is not namespaced, setting it would change the host");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'network'}],'sysctl':{'kernel.shmmax':'1'}}}",
                     "linux.sysctl: 'kernel.shmmax' needs a namespace of type 'ipc' in linux.namespaces");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'network'}],'sysctl':{'net.ipv4..x':'1'}}}",
                     "linux.sysctl: invalid key 'net.ipv4..x'");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'network'}],'sysctl':{'net/../../x':'1'}}}",
                     "linux.sysctl: invalid key 'net/../../x'");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'network'}],'sysctl':{'net.a':1}}}",
                     "linux.sysctl.net.a: expected a string, got integer");
        ASSERT_STREQ(error_of("{" BASE ",'linux':{'namespaces':[{'type':'ipc'},{'type':'uts'}],"
                              "'sysctl':{'fs.mqueue.msg_max':'10','kernel.domainname':'x'}}}"),
                     "(parsed)");
}

TEST(linux_misc)
{
        ASSERT_ERROR("{" BASE ",'linux':{'rootfsPropagation':'shared-ish'}}",
                     "linux.rootfsPropagation: unknown propagation 'shared-ish', expected shared, slave, "
                     "private or unbindable");
        ASSERT_ERROR("{" BASE ",'linux':{'maskedPaths':['/proc/kcore','proc/x']}}",
                     "linux.maskedPaths[1]: must be an absolute path, got 'proc/x'");
        ASSERT_ERROR("{" BASE ",'linux':{'readonlyPaths':'/proc'}}",
                     "linux.readonlyPaths: expected an array, got string");
        ASSERT_ERROR("{" BASE ",'linux':{'personality':{'domain':'LINUX64'}}}",
                     "linux.personality.domain: unknown domain 'LINUX64', expected 'LINUX' or 'LINUX32'");
        ASSERT_ERROR("{" BASE ",'linux':{'personality':{'flags':[]}}}",
                     "linux.personality.domain: required field is missing");
        ASSERT_ERROR("{" BASE ",'linux':{'intelRdt':true}}",
                     "linux.intelRdt: expected an object, got boolean");
        ASSERT_ERROR("{" BASE ",'linux':{'cgroupsPath':['a']}}",
                     "linux.cgroupsPath: expected a string, got array");
}

#define SECCOMP(s) "{" BASE ",'linux':{'seccomp':" s "}}"

TEST(seccomp)
{
        ASSERT_ERROR(SECCOMP("{}"), "linux.seccomp.defaultAction: required field is missing");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_FOO'}"),
                     "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_FOO'");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/x'}"),
                     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':1}"),
                     "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, "
                     "not SCMP_ACT_ALLOW");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':65536}"),
                     "linux.seccomp.defaultErrnoRet: 65536 is out of range (0 to 65535)");
        ASSERT_ERROR(
                SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64','x86_64']}"),
                "linux.seccomp.architectures[1]: unknown architecture 'x86_64'");
        ASSERT_ERROR(
                SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_NEW_LISTENER']}"),
                "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_NEW_LISTENER'");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','listenerMetadata':'m'}"),
                     "linux.seccomp.listenerMetadata: must not be set without listenerPath");
        ASSERT_ERROR(
                SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'SCMP_ACT_"
                        "ALLOW'},"
                        "{'names':['b'],'action':'SCMP_ACT_ERRNO'},{'names':['c'],'action':'SCMP_ACT_LOG'},"
                        "{'names':['d'],'action':'SCMP_ACT_TRAP'},{'names':['e'],'action':'SCMP_ACT_FOO'}]"
                        "}"),
                "linux.seccomp.syscalls[4].action: unknown action 'SCMP_ACT_FOO'");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_"
                             "ALLOW'}]}"),
                     "linux.seccomp.syscalls[0].names: must contain at least one syscall name");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_ALLOW'}]}"),
                     "linux.seccomp.syscalls[0].names: required field is missing");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read',''],'action':'"
                             "SCMP_ACT_ALLOW'}]}"),
                     "linux.seccomp.syscalls[0].names[1]: must not be empty");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'"
                             "SCMP_ACT_KILL',"
                             "'errnoRet':1}]}"),
                     "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an "
                     "errno, not SCMP_ACT_KILL_THREAD");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'"
                             "SCMP_ACT_ERRNO',"
                             "'args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}"),
                     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0 to 5)");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'"
                             "SCMP_ACT_ERRNO',"
                             "'args':[{'index':0,'value':1,'op':'SCMP_CMP_XX'}]}]}"),
                     "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_XX'");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'"
                             "SCMP_ACT_ERRNO',"
                             "'args':[{'index':0,'op':'SCMP_CMP_EQ'}]}]}"),
                     "linux.seccomp.syscalls[0].args[0].value: required field is missing");
        ASSERT_ERROR(SECCOMP("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'"
                             "SCMP_ACT_NOTIFY'}]}"),
                     "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
        ASSERT_STREQ(
                error_of(SECCOMP(
                        "{'defaultAction':'SCMP_ACT_TRACE','defaultErrnoRet':0,'syscalls':[{'names':['x'],"
                        "'action':'SCMP_ACT_KILL_PROCESS'}]}")),
                "(parsed)");
}

TEST(seccomp_names)
{
        ASSERT_EQ(seccomp_action_from_string("SCMP_ACT_KILL"), SECCOMP_ACT_KILL_THREAD);
        ASSERT_EQ(seccomp_action_from_string("SCMP_ACT_KILL_THREAD"), SECCOMP_ACT_KILL_THREAD);
        ASSERT_EQ(seccomp_action_from_string("SCMP_ACT_LOG"), SECCOMP_ACT_LOG);
        ASSERT_EQ(seccomp_action_from_string("scmp_act_log"), _SECCOMP_ACT_INVALID);
        ASSERT_EQ(seccomp_action_from_string(NULL), _SECCOMP_ACT_INVALID);
        ASSERT_STREQ(seccomp_action_to_string(SECCOMP_ACT_NOTIFY), "SCMP_ACT_NOTIFY");
        ASSERT_TRUE(seccomp_action_to_string(_SECCOMP_ACT_MAX) == NULL);
        ASSERT_EQ(seccomp_op_from_string("SCMP_CMP_MASKED_EQ"), SECCOMP_OP_MASKED_EQ);
        ASSERT_EQ(seccomp_op_from_string("SCMP_CMP_FOO"), _SECCOMP_OP_INVALID);
        ASSERT_STREQ(seccomp_op_to_string(SECCOMP_OP_GE), "SCMP_CMP_GE");
        ASSERT_TRUE(seccomp_op_to_string(_SECCOMP_OP_INVALID) == NULL);
}

TEST(process_document)
{
        _cleanup_process_ struct oci_process *p = NULL;
        struct oci_process *q = NULL;
        _cleanup_free_ char *j =
                doc("{'args':['ps','aux'],'cwd':'/','env':['A=b'],'user':{'uid':5,'gid':6}}");
        _cleanup_free_ char *bad = doc("{'args':['ps'],'cwd':'x'}");

        err_clear();
        ASSERT_OK(process_parse(j, strlen(j), "process.json", &p));
        ASSERT_STREQ(p->args[1], "aux");
        ASSERT_EQ(p->user.uid, 5);
        ASSERT_FALSE(p->has_capabilities);
        ASSERT_ERR(process_parse(bad, strlen(bad), "process.json", &q), -EINVAL);
        ASSERT_TRUE(q == NULL);
        ASSERT_STREQ(err_msg(-EINVAL), "process.cwd: must be an absolute path, got 'x'");
        ASSERT_ERR(process_parse("[1,", 3, "process.json", &q), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL),
                     "process.json: invalid JSON at line 1, column 4: unexpected end of data");
        ASSERT_ERR(process_parse("[1]", 3, "process.json", &q), -EINVAL);
        ASSERT_STREQ(err_msg(-EINVAL), "process: expected an object, got array");
}

TEST(messages_quote_values)
{
        /* A newline in a value must not reach the log as a line break; long values are cut. */
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'a\\nb'}]}}",
                     "linux.namespaces[0].type: unknown namespace type 'a?b'");
        ASSERT_ERROR("{" BASE ",'linux':{'namespaces':[{'type':'"
                     "0123456789012345678901234567890123456789012345678901234567890123456789'}]}}",
                     "linux.namespaces[0].type: unknown namespace type "
                     "'0123456789012345678901234567890123456789012345678901234567890123...'");
}

TEST(load_file)
{
        char path[] = "/tmp/hull-test-config-XXXXXX";
        _cleanup_free_ char *j = doc(runc_spec);
        _cleanup_config_ struct oci_config *c = NULL;
        struct oci_config *none = NULL;
        int fd = mkstemp(path);

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(write_all(fd, j, strlen(j)));
        close(fd);
        err_clear();
        ASSERT_OK(config_load(path, &c));
        ASSERT_STREQ(c->hostname, "runc");
        unlink(path);
        ASSERT_ERR(config_load(path, &none), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "cannot read '/tmp/hull-test-config-");
}

/*
 * Replace every value of the full config, one at a time, by values of other types and by edge
 * values, and parse the result. Each parse must either succeed or fail with a message; under ASan a
 * leak on any error path fails the test run.
 */
static unsigned mutations, mutation_errors;

static void parse_mutant(struct json_object *root)
{
        const char *s = json_to_string(root);
        struct oci_config *c = NULL;
        int r;

        err_clear();
        r = config_parse(s, strlen(s), &c);
        mutations++;
        if (r < 0) {
                mutation_errors++;
                if (!err_has_msg())
                        TEST_FAIL("error %d without a message for %s", r, s);
                return;
        }
        config_free(c);
}

static const char *const replacements[] = {
        "null",     "true", "-1", "0", "1.5", "\"\"", "\"x\"", "[]", "{}", "[1]", "18446744073709551616",
        "{\"a\":1}"};

static void mutate(struct json_object *root, struct json_object *node)
{
        if (json_object_get_type(node) == json_type_object) {
                json_object_object_foreach (node, key, child) {
                        for (size_t i = 0; i < ELEMENTSOF(replacements); i++) {
                                struct json_object *orig = json_object_get(child);
                                json_object_object_add(node, key, json_tokener_parse(replacements[i]));
                                parse_mutant(root);
                                json_object_object_add(node, key, orig);
                        }
                        mutate(root, json_object_object_get(node, key));
                }
        } else if (json_object_get_type(node) == json_type_array) {
                for (size_t k = 0; k < json_object_array_length(node); k++) {
                        for (size_t i = 0; i < ELEMENTSOF(replacements); i++) {
                                struct json_object *orig =
                                        json_object_get(json_object_array_get_idx(node, k));
                                json_object_array_put_idx(node, k, json_tokener_parse(replacements[i]));
                                parse_mutant(root);
                                json_object_array_put_idx(node, k, orig);
                        }
                        mutate(root, json_object_array_get_idx(node, k));
                }
        }
}

TEST(mutations_of_full_config)
{
        _cleanup_free_ char *j = doc(full_config);
        _cleanup_json_ struct json_object *root = json_tokener_parse(j);

        ASSERT_TRUE(root != NULL);
        mutate(root, root);
        ASSERT_TRUE(mutations > 3000);
        ASSERT_TRUE(mutation_errors > mutations / 2);
        /* The document itself is unchanged by the walk and still parses. */
        unsigned before = mutation_errors;
        parse_mutant(root);
        ASSERT_EQ(mutation_errors, before);
}
