/* SPDX-License-Identifier: Apache-2.0 */
/* test-image-registry.c - WWW-Authenticate parsing and the signature artifact (make, verify, tamper). */
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "error.h"
#include "policy.h"
#include "registry.h"
#include "util.h"
#include "test.h"

TEST(challenges)
{
        struct auth_challenge c;

        ASSERT_OK(registry_parse_challenge(
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                "scope=\"repository:library/busybox:pull\"",
                &c));
        ASSERT_STREQ(c.scheme, "Bearer");
        ASSERT_STREQ(c.realm, "https://auth.docker.io/token");
        ASSERT_STREQ(c.service, "registry.docker.io");
        ASSERT_STREQ(c.scope, "repository:library/busybox:pull");
        auth_challenge_done(&c);
        ASSERT_OK(registry_parse_challenge("Basic realm=\"a \\\"quoted\\\" realm\"", &c));
        ASSERT_STREQ(c.scheme, "Basic");
        ASSERT_STREQ(c.realm, "a \"quoted\" realm");
        auth_challenge_done(&c);
        ASSERT_OK(registry_parse_challenge("Bearer realm=http://t/x, service=s", &c));
        ASSERT_STREQ(c.realm, "http://t/x");
        ASSERT_STREQ(c.service, "s");
        auth_challenge_done(&c);
        ASSERT_ERR(registry_parse_challenge("Bearer realm=\"unterminated", &c), -EINVAL);
        ASSERT_ERR(registry_parse_challenge("Bearer novalue", &c), -EINVAL);
        ASSERT_ERR(registry_parse_challenge("", &c), -EINVAL);
}

static void write_key(const char *dir, const char *name, const char *type)
{
        char priv[256], pub[256];
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, type, type[0] == 'E' && type[1] == 'C' ? "P-256" : NULL);
        FILE *f;

        if (!k)
                TEST_FAIL("cannot make a %s key", type);
        snprintf(priv, sizeof(priv), "%s/%s.pem", dir, name);
        snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name);
        f = fopen(priv, "we");
        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
        fclose(f);
        f = fopen(pub, "we");
        PEM_write_PUBKEY(f, k);
        fclose(f);
        EVP_PKEY_free(k);
}

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER  "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(signature_artifacts)
{
        char dir[] = "/tmp/hull-test-sig-XXXXXX", ed[300], edpub[300], ecpub[300], ec[300];
        _cleanup_free_ char *a = NULL, *b = NULL;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        write_key(dir, "ed", "ED25519");
        write_key(dir, "ec", "EC");
        snprintf(ed, sizeof(ed), "%s/ed.pem", dir);
        snprintf(edpub, sizeof(edpub), "%s/ed.pub", dir);
        snprintf(ec, sizeof(ec), "%s/ec.pem", dir);
        snprintf(ecpub, sizeof(ecpub), "%s/ec.pub", dir);
        char *only_ed[] = { edpub, NULL }, *only_ec[] = { ecpub, NULL }, *both[] = { ecpub, edpub, NULL };

        ASSERT_OK(policy_make_artifact(DIGEST, "localhost:5000/app", ed, &a));
        ASSERT_OK(policy_verify_artifact(a, strlen(a), DIGEST, "localhost:5000/app", only_ed));
        ASSERT_OK(policy_verify_artifact(a, strlen(a), DIGEST, "localhost:5000/app", both));
        err_clear();
        ASSERT_ERR(policy_verify_artifact(a, strlen(a), DIGEST, "localhost:5000/app", only_ec), -EPERM);
        ASSERT_CONTAINS(err_msg(-EPERM), "not made by any key the policy trusts");
        ASSERT_ERR(policy_verify_artifact(a, strlen(a), OTHER, "localhost:5000/app", only_ed), -EPERM);
        ASSERT_CONTAINS(err_msg(-EPERM), "signature is for " DIGEST);
        ASSERT_ERR(policy_verify_artifact(a, strlen(a), DIGEST, "localhost:5000/other", only_ed), -EPERM);
        ASSERT_CONTAINS(err_msg(-EPERM), "not 'localhost:5000/other'");

        ASSERT_OK(policy_make_artifact(DIGEST, "r/app", ec, &b));
        ASSERT_OK(policy_verify_artifact(b, strlen(b), DIGEST, "r/app", only_ec));
        /* Tamper with one character of the payload: no key accepts it any more. */
        {
                char *p = strstr(b, "\"payload\":\"");
                ASSERT_TRUE(p != NULL);
                p += strlen("\"payload\":\"") + 10;
                *p = *p == 'A' ? 'B' : 'A';
                ASSERT_TRUE(policy_verify_artifact(b, strlen(b), DIGEST, "r/app", only_ec) < 0);
        }
        ASSERT_TRUE(policy_verify_artifact("{}", 2, DIGEST, "r/app", only_ec) < 0);
        ASSERT_TRUE(policy_verify_artifact("nope", 4, DIGEST, "r/app", only_ec) < 0);
        rm_rf(dir);
}
