/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec-stub.c - the last program the runtime runs inside a container before the workload.
 *
 * Why (CVE-2019-5736): when the runtime's own process calls execve() for the
 * container's program, /proc/self/exe still names the runtime binary on the host.
 * A program whose interpreter is "#!/proc/self/exe" would then run the host binary
 * inside the container, where a process can open it through /proc/PID/exe and
 * overwrite it once it is no longer busy. So the runtime never executes the workload
 * itself: it executes this stub from a sealed memfd (F_SEAL_WRITE, F_SEAL_GROW,
 * F_SEAL_SHRINK, F_SEAL_SEAL), and the stub executes the workload. At that moment
 * /proc/self/exe names the sealed memfd, which cannot be written.
 *
 * It is freestanding (no libc, a few hundred bytes): argv is
 *   [HULL_STUB_MAGIC, path, argv0, argv1, ...]
 * and the stub calls execve(path, &argv[2], envp). Run any other way (for example
 * as "#!/proc/self/exe" from inside the container) it refuses with status 126.
 */
#include <asm/unistd.h>

#define STUB_MAGIC "\x7fhull-exec"

static long sys3(long n, long a, long b, long c)
{
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return r;
}

static unsigned long len(const char *s)
{
        unsigned long n = 0;
        while (s[n])
                n++;
        return n;
}

static void say(const char *s)
{
        sys3(__NR_write, 2, (long)s, (long)len(s));
}

static int is_magic(const char *s)
{
        const char *m = STUB_MAGIC;
        while (*m && *s == *m) {
                s++;
                m++;
        }
        return *m == 0 && *s == 0;
}

void stub_main(long *sp) __attribute__((noreturn, used));
void stub_main(long *sp)
{
        long argc = sp[0];
        char **argv = (char **)(sp + 1);
        char **envp = argv + argc + 1;
        long r;

        if (argc < 3 || !is_magic(argv[0])) {
                say("hull: refusing to run the exec stub outside of the runtime\n");
                sys3(__NR_exit_group, 126, 0, 0);
        }
        r = sys3(__NR_execve, (long)argv[1], (long)(argv + 2), (long)envp);
        say("hull: cannot execute '");
        say(argv[1]);
        say(r == -2 ? "': No such file or directory\n" : r == -13 ? "': Permission denied\n" : "': exec failed\n");
        sys3(__NR_exit_group, r == -2 ? 127 : 126, 0, 0);
        for (;;)
                ;
}

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "        mov %rsp, %rdi\n"
        "        and $-16, %rsp\n"
        "        call stub_main\n"
        "        hlt\n");
