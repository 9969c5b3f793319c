/* SPDX-License-Identifier: Apache-2.0 */
/* test-image-manifest.c - manifest, index and image config parsing and validation. */
#include "error.h"
#include "manifest.h"
#include "test.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int parse(const char *s, const char *ct, struct manifest **m)
{
        err_clear();
        return manifest_parse(s, strlen(s), ct, m);
}

TEST(oci_manifest)
{
        _cleanup_manifest_ struct manifest *m = NULL;
        const char *s = "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
                        "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":7},"
                        "\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZIP "\",\"digest\":\"" D2 "\",\"size\":10},"
                        "{\"mediaType\":\"" MT_DOCKER_LAYER "\",\"digest\":\"" D3 "\",\"size\":0}]}";

        ASSERT_OK(parse(s, MT_OCI_MANIFEST, &m));
        ASSERT_EQ(m->kind, MANIFEST_OCI);
        ASSERT_STREQ(m->config.digest, D1);
        ASSERT_EQ(m->n_layers, 2);
        ASSERT_EQ(m->layers[0].size, 10);
        ASSERT_TRUE(manifest_layer_type_supported(m->layers[1].media_type));
}

TEST(docker_manifest_without_content_type)
{
        _cleanup_manifest_ struct manifest *m = NULL;
        const char *s = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
                        "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"digest\":\"" D1 "\",\"size\":7},"
                        "\"layers\":[]}";
        ASSERT_OK(parse(s, NULL, &m));
        ASSERT_EQ(m->kind, MANIFEST_DOCKER);
}

TEST(index_platforms)
{
        _cleanup_manifest_ struct manifest *m = NULL;
        const char *s = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
                        "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
                        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
                        "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":1,"
                        "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                        "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
                        "\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}";

        ASSERT_OK(parse(s, MT_DOCKER_LIST, &m));
        ASSERT_TRUE(manifest_is_index(m));
        ASSERT_EQ(manifest_select_platform(m, "linux", "x86_64", NULL), 1);
        ASSERT_EQ(manifest_select_platform(m, "linux", "arm", "v7"), 0);
        err_clear();
        ASSERT_ERR(manifest_select_platform(m, "linux", "s390x", NULL), -ENOENT);
        ASSERT_CONTAINS(err_msg(-ENOENT), "no linux/s390x image in the index (available: linux/arm/v7, linux/amd64");
}

TEST(rejections)
{
        struct manifest *m = NULL;

        ASSERT_ERR(parse("{\"schemaVersion\":1,\"name\":\"x\"}", NULL, &m), -EPROTONOSUPPORT);
        ASSERT_CONTAINS(err_msg(-1), "schema 1");
        ASSERT_ERR(parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\"x\","
                         "\"digest\":\"sha256:12\",\"size\":1},\"layers\":[]}",
                         NULL, &m),
                   -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "config.digest");
        ASSERT_ERR(parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\"x\","
                         "\"digest\":\"" D1 "\",\"size\":-5},\"layers\":[]}",
                         NULL, &m),
                   -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "negative size");
        ASSERT_ERR(parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\"x\","
                         "\"digest\":\"" D1 "\",\"size\":1}}",
                         NULL, &m),
                   -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "layers: missing");
        ASSERT_ERR(parse("{\"schemaVersion\":2,\"mediaType\":\"application/x-garbage\"}", NULL, &m), -EPROTONOSUPPORT);
        ASSERT_ERR(parse("<html>nope</html>", NULL, &m), -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "invalid JSON");
        ASSERT_ERR(parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\"x\","
                         "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
                         MT_DOCKER_MANIFEST, &m),
                   -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "does not match the served type");
        ASSERT_TRUE(m == NULL);
}

TEST(config)
{
        _cleanup_image_config_ struct image_config *c = NULL;
        const char *s = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
                        "\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"Entrypoint\":[\"/init\"],"
                        "\"WorkingDir\":\"/w\",\"User\":\"1000:1000\",\"ExposedPorts\":{\"80/tcp\":{}},"
                        "\"Volumes\":{\"/data\":{}},\"StopSignal\":\"SIGINT\",\"Labels\":{\"a\":\"b\"},"
                        "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":30000000000,\"Retries\":3}},"
                        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]},"
                        "\"history\":[{\"created_by\":\"x\"},{\"empty_layer\":true}]}";

        err_clear();
        ASSERT_OK(image_config_parse(s, strlen(s), &c));
        ASSERT_STREQ(c->env[0], "PATH=/bin");
        ASSERT_STREQ(c->entrypoint[0], "/init");
        ASSERT_STREQ(c->working_dir, "/w");
        ASSERT_STREQ(c->user, "1000:1000");
        ASSERT_STREQ(c->exposed_ports[0], "80/tcp");
        ASSERT_STREQ(c->volumes[0], "/data");
        ASSERT_STREQ(c->labels[0], "a");
        ASSERT_STREQ(c->labels[1], "b");
        ASSERT_STREQ(c->stop_signal, "SIGINT");
        ASSERT_EQ(c->healthcheck.interval, 30000000000LL);
        ASSERT_EQ(c->healthcheck.retries, 3);
        ASSERT_EQ(c->n_history, 2);
        ASSERT_TRUE(c->history[1].empty_layer);
}

TEST(config_rejections)
{
        struct image_config *c = NULL;
        const char *no_rootfs = "{\"os\":\"linux\"}";
        const char *bad_diff = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:zz\"]}}";
        const char *bad_env = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Env\":[1]}}";

        err_clear();
        ASSERT_ERR(image_config_parse(no_rootfs, strlen(no_rootfs), &c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "rootfs: missing");
        ASSERT_ERR(image_config_parse(bad_diff, strlen(bad_diff), &c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "rootfs.diff_ids[0]");
        ASSERT_ERR(image_config_parse(bad_env, strlen(bad_env), &c), -EINVAL);
        ASSERT_CONTAINS(err_msg(-1), "config.Env[0]: expected a string");
        ASSERT_TRUE(c == NULL);
}

TEST(build_manifest)
{
        _cleanup_manifest_ struct manifest *m = NULL;
        struct descriptor cfg = { .media_type = (char *)MT_OCI_CONFIG, .digest = (char *)D1, .size = 3 };
        struct descriptor l = { .media_type = (char *)MT_OCI_LAYER, .digest = (char *)D2, .size = 9 };
        _cleanup_free_ char *j = manifest_oci_to_json(&cfg, &l, 1);

        ASSERT_TRUE(j != NULL);
        ASSERT_OK(parse(j, MT_OCI_MANIFEST, &m));
        ASSERT_STREQ(m->layers[0].digest, D2);
}
