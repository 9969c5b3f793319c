/* SPDX-License-Identifier: Apache-2.0 */
/* test-image-dockerfile.c - Dockerfile parsing, word expansion and .dockerignore matching. */
#include "dockerfile.h"
#include "dockerignore.h"
#include "error.h"
#include "util.h"
#include "test.h"

static struct dockerfile *parse(const char *s)
{
        struct dockerfile *d = NULL;
        err_clear();
        if (dockerfile_parse(s, strlen(s), &d) < 0)
                return NULL;
        return d;
}

static void parse_error(const char *s, const char *want)
{
        struct dockerfile *d = NULL;
        err_clear();
        if (dockerfile_parse(s, strlen(s), &d) >= 0) {
                dockerfile_free(d);
                TEST_FAIL("accepted: %s", s);
        }
        if (!strstr(err_msg(-EINVAL), want))
                TEST_FAIL("message '%s' lacks '%s'", err_msg(-EINVAL), want);
}

TEST(every_instruction)
{
        _cleanup_dockerfile_ struct dockerfile *d = parse(
                "# syntax=docker/dockerfile:1\n"
                "ARG BASE=busybox\n"
                "FROM --platform=linux/amd64 ${BASE}:1.36 AS Build\n"
                "RUN echo hello && \\\n"
                "    # a comment inside the continuation\n"
                "    echo world\n"
                "RUN [\"/bin/sh\", \"-c\", \"echo exec\"]\n"
                "RUN --mount=type=cache,target=/c make\n"
                "\n"
                "FROM scratch\n"
                "COPY --from=build --chown=1:2 /out/app /usr/bin/app\n"
                "COPY [\"a b\", \"/dst/\"]\n"
                "ADD --chmod=755 http://example.com/x /x\n"
                "ENV PATH=/usr/bin:/bin MSG=\"hi there\"\n"
                "ENV LEGACY the rest is the value\n"
                "LABEL org.opencontainers.image.title=\"app\" version=1\n"
                "MAINTAINER someone\n"
                "EXPOSE 80/tcp 53/udp\n"
                "VOLUME [\"/data\", \"/logs\"]\n"
                "VOLUME /cache\n"
                "USER 1000:1000\n"
                "WORKDIR /srv\n"
                "STOPSIGNAL SIGINT\n"
                "HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --retries=3 CMD [\"/bin/check\"]\n"
                "SHELL [\"/bin/bash\", \"-c\"]\n"
                "cmd [\"/usr/bin/app\"]\n"
                "ENTRYPOINT /entry.sh --flag\n");
        const struct dockerfile_instruction *v;

        ASSERT_TRUE(d != NULL);
        v = d->v;
        ASSERT_EQ(d->n, 23);
        ASSERT_EQ(v[0].kind, DF_ARG);
        ASSERT_STREQ(v[0].kv[0], "BASE");
        ASSERT_STREQ(v[0].kv[1], "busybox");
        ASSERT_TRUE(v[0].has_default);
        ASSERT_EQ(v[1].kind, DF_FROM);
        ASSERT_EQ(v[1].line, 3);
        ASSERT_STREQ(v[1].args[0], "${BASE}:1.36");
        ASSERT_STREQ(v[1].stage_name, "build");
        ASSERT_STREQ(dockerfile_flag(&v[1], "platform"), "linux/amd64");
        ASSERT_EQ(v[2].kind, DF_RUN);
        ASSERT_EQ(v[2].line, 4);
        ASSERT_FALSE(v[2].exec_form);
        ASSERT_STREQ(v[2].args[0], "echo hello &&     echo world");
        ASSERT_TRUE(v[3].exec_form);
        ASSERT_STREQ(v[3].args[2], "echo exec");
        ASSERT_STREQ(dockerfile_flag(&v[4], "mount"), "type=cache,target=/c");
        ASSERT_EQ(v[5].line, 10);
        ASSERT_STREQ(v[5].args[0], "scratch");
        ASSERT_STREQ(dockerfile_flag(&v[6], "from"), "build");
        ASSERT_STREQ(dockerfile_flag(&v[6], "chown"), "1:2");
        ASSERT_STREQ(v[6].args[1], "/usr/bin/app");
        ASSERT_TRUE(v[7].exec_form);
        ASSERT_STREQ(v[7].args[0], "a b");
        ASSERT_EQ(v[8].kind, DF_ADD);
        ASSERT_STREQ(v[9].kv[2], "MSG");
        ASSERT_STREQ(v[9].kv[3], "hi there");
        ASSERT_STREQ(v[10].kv[0], "LEGACY");
        ASSERT_STREQ(v[10].kv[1], "the rest is the value");
        ASSERT_STREQ(v[11].kv[1], "app");
        ASSERT_EQ(v[12].kind, DF_MAINTAINER);
        ASSERT_STREQ(v[13].args[1], "53/udp");
        ASSERT_TRUE(v[14].exec_form);
        ASSERT_STREQ(v[14].args[1], "/logs");
        ASSERT_STREQ(v[15].args[0], "/cache");
        ASSERT_STREQ(v[16].args[0], "1000:1000");
        ASSERT_STREQ(v[17].args[0], "/srv");
        ASSERT_STREQ(v[18].args[0], "SIGINT");
        ASSERT_EQ(v[19].kind, DF_HEALTHCHECK);
        ASSERT_STREQ(dockerfile_flag(&v[19], "retries"), "3");
        ASSERT_STREQ(v[19].args[0], "/bin/check");
        ASSERT_EQ(v[20].kind, DF_SHELL);
        ASSERT_EQ(v[21].kind, DF_CMD);
        ASSERT_TRUE(v[21].exec_form);
        ASSERT_EQ(v[22].kind, DF_ENTRYPOINT);
        ASSERT_FALSE(v[22].exec_form);
        ASSERT_STREQ(v[22].args[0], "/entry.sh --flag");
        ASSERT_EQ(v[22].line, 27);
}

TEST(healthcheck_none_and_escape_directive)
{
        _cleanup_dockerfile_ struct dockerfile *d = parse("# escape=`\nFROM x\nHEALTHCHECK NONE\nRUN dir c:\\ `\n  && echo\n");

        ASSERT_TRUE(d != NULL);
        ASSERT_EQ(d->escape, '`');
        ASSERT_STREQ(d->v[1].args[0], "NONE");
        ASSERT_STREQ(d->v[2].args[0], "dir c:\\   && echo");
}

TEST(errors_name_the_line)
{
        parse_error("FROM x\n\n# c\n\n\n\nRUNN echo\n", "Dockerfile:7: unknown instruction 'RUNN'");
        parse_error("FROM x\nONBUILD RUN x\n", "Dockerfile:2: ONBUILD is not supported");
        parse_error("FROM x\nRUN <<EOF\necho\nEOF\n", "Dockerfile:2: heredocs are not supported");
        parse_error("RUN x\n", "Dockerfile:1: the first instruction must be FROM");
        parse_error("", "no FROM");
        parse_error("FROM x\nCOPY --frm=a b c\n", "Dockerfile:2: unknown flag '--frm' for COPY");
        parse_error("FROM x\nCOPY a\n", "at least one source and a destination");
        parse_error("FROM x\nSHELL /bin/sh\n", "SHELL needs a JSON array");
        parse_error("FROM x\nHEALTHCHECK --interval=soon CMD x\n", "invalid duration 'soon'");
        parse_error("FROM x\nHEALTHCHECK --retries=-1 CMD x\n", "invalid --retries");
        parse_error("FROM x\nHEALTHCHECK --interval=1s NONE\n", "NONE takes no options");
        parse_error("FROM x\nLABEL novalue\n", "needs key=value");
        parse_error("FROM a AS one\nFROM b AS ONE\n", "Dockerfile:2: stage name 'one' is already used on line 1");
        parse_error("# escape=x\nFROM x\n", "invalid escape");
        parse_error("FROM x\nWORKDIR\n", "WORKDIR needs a value");
}

TEST(expand)
{
        char *env[] = { (char *)"A=alpha", (char *)"E=", (char *)"P=/p", (char *)"A=again", NULL };
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "$A", "again" },
                { "${A}x", "againx" },
                { "${NOPE:-def}", "def" },
                { "${E:-def}", "def" },
                { "${E-def}", "" },
                { "${A:+set}", "set" },
                { "${NOPE:+set}", "" },
                { "${NOPE:-${P}/bin}", "/p/bin" },
                { "'$A'", "$A" },
                { "\"$A b\"", "again b" },
                { "\\$A", "$A" },
                { "a$", "a$" },
                { "$1x", "$1x" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = NULL;
                err_clear();
                if (dockerfile_expand(cases[i].in, '\\', env, &s) < 0)
                        TEST_FAIL("expanding '%s': %s", cases[i].in, err_msg(-EINVAL));
                if (!streq(s, cases[i].out))
                        TEST_FAIL("'%s' expanded to '%s', expected '%s'", cases[i].in, s, cases[i].out);
        }
        {
                char *s = NULL;
                ASSERT_ERR(dockerfile_expand("${A", '\\', env, &s), -EINVAL);
                ASSERT_ERR(dockerfile_expand("${A/x/y}", '\\', env, &s), -EINVAL);
                ASSERT_ERR(dockerfile_expand("\"open", '\\', env, &s), -EINVAL);
        }
}

TEST(durations)
{
        int64_t v;
        ASSERT_OK(dockerfile_parse_duration("1m30s", &v));
        ASSERT_EQ(v, 90000000000LL);
        ASSERT_OK(dockerfile_parse_duration("500ms", &v));
        ASSERT_EQ(v, 500000000LL);
        ASSERT_OK(dockerfile_parse_duration("1.5h", &v));
        ASSERT_EQ(v, 5400000000000LL);
        ASSERT_ERR(dockerfile_parse_duration("10", &v), -EINVAL);
        ASSERT_ERR(dockerfile_parse_duration("-1s", &v), -EINVAL);
}

TEST(match_patterns)
{
        ASSERT_EQ(dockerignore_match("*.go", "main.go"), 1);
        ASSERT_EQ(dockerignore_match("*.go", "dir/main.go"), 0);
        ASSERT_EQ(dockerignore_match("*/*.go", "dir/main.go"), 1);
        ASSERT_EQ(dockerignore_match("a?c", "abc"), 1);
        ASSERT_EQ(dockerignore_match("a?c", "a/c"), 0);
        ASSERT_EQ(dockerignore_match("[a-c]x", "bx"), 1);
        ASSERT_EQ(dockerignore_match("[^a-c]x", "bx"), 0);
        ASSERT_EQ(dockerignore_match("\\*x", "*x"), 1);
        ASSERT_EQ(dockerignore_match("**/*.log", "a/b/c.log"), 1);
        ASSERT_EQ(dockerignore_match("**/*.log", "c.log"), 1);
        ASSERT_EQ(dockerignore_match("a/**/z", "a/z"), 1);
        ASSERT_EQ(dockerignore_match("a/**/z", "a/b/c/z"), 1);
        ASSERT_EQ(dockerignore_match("a/**", "a/b/c"), 1);
        ASSERT_EQ(dockerignore_match("a/**/z", "b/a/z"), 0);
        ASSERT_ERR(dockerignore_match("[", "x"), -EINVAL);
        ASSERT_ERR(dockerignore_match("x\\", "x"), -EINVAL);
        /* several "**": every split of the name is tried at most once (it was exponential) */
        ASSERT_EQ(dockerignore_match("a/**/b/**/c/**/d", "a/x/b/y/c/z/d"), 1);
        ASSERT_EQ(dockerignore_match("a/**/b/**/c/**/d", "a/x/c/y/b/z/d"), 0);
        ASSERT_EQ(dockerignore_match("**/x/**/x/**/x/**/x/**/x/**/y",
                                     "x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/z"),
                  0);
        ASSERT_ERR(dockerignore_match("**/ok/**/[", "ok"), -EINVAL);
}

TEST(dockerignore_file)
{
        const char *s = "# comment\n\n  node_modules  \n*.log\n!important.log\n/build/\ndocs/**/*.md\n!docs/README.md\n";
        _cleanup_dockerignore_ struct dockerignore *d = NULL;
        struct dockerignore *bad = NULL;

        ASSERT_OK(dockerignore_parse(s, strlen(s), &d));
        ASSERT_TRUE(dockerignore_excludes(d, "node_modules"));
        ASSERT_TRUE(dockerignore_excludes(d, "node_modules/x/y.js"));
        ASSERT_TRUE(dockerignore_excludes(d, "debug.log"));
        ASSERT_FALSE(dockerignore_excludes(d, "important.log"));
        ASSERT_FALSE(dockerignore_excludes(d, "sub/debug.log"));
        ASSERT_TRUE(dockerignore_excludes(d, "build/out.o"));
        ASSERT_TRUE(dockerignore_excludes(d, "docs/a/b.md"));
        ASSERT_FALSE(dockerignore_excludes(d, "docs/README.md"));
        ASSERT_FALSE(dockerignore_excludes(d, "src/main.c"));
        err_clear();
        ASSERT_ERR(dockerignore_parse("ok\n[z-a]\n", 10, &bad), -EINVAL);
        ASSERT_CONTAINS(err_msg(-EINVAL), ".dockerignore:2: bad pattern '[z-a]'");
}
