/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.c - signing, signature verification and the pull policy; see
 * policy.h for the scheme and the file format.
 *
 * Verification checks, in this order: the artifact blob's digest (done by
 * the registry client's caller), the signature over the exact payload bytes
 * with each key the policy names (OpenSSL EVP_DigestVerify), then the
 * payload's claims: the type, the signed digest equal to the pulled one, the
 * identity equal to the pulled repository (a signature for another repository
 * does not transfer).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/mman.h>
#include <time.h>

#include "error.h"
#include "json.h"
#include "log.h"
#include "manifest.h"
#include "policy.h"
#include "sha256.h"
#include "util.h"

#define SIGNATURE_TYPE   "hull container image signature"
#define ARTIFACT_MAX     (64u << 10)

static void pkey_freep(EVP_PKEY **k)
{
        EVP_PKEY_free(*k);
}

static int b64_encode(const unsigned char *in, size_t n, char **ret)
{
        char *out = malloc(4 * ((n + 2) / 3) + 1);
        if (!out)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *)out, in, (int)n);
        *ret = out;
        return 0;
}

static int b64_decode(const char *in, unsigned char **ret, size_t *ret_len)
{
        size_t n = strlen(in);
        unsigned char *out;
        int k;

        if (n % 4 != 0 || n > 4 * ARTIFACT_MAX)
                return -EINVAL;
        out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        k = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
        if (k < 0) {
                free(out);
                return -EINVAL;
        }
        /* EVP_DecodeBlock counts the padding as data. */
        if (n >= 1 && in[n - 1] == '=')
                k--;
        if (n >= 2 && in[n - 2] == '=')
                k--;
        *ret = out;
        *ret_len = (size_t)k;
        return 0;
}

static int load_key(const char *path, bool private, EVP_PKEY **ret)
{
        FILE *f = fopen(path, "re");
        EVP_PKEY *k;

        if (!f)
                return err_set(negative_errno(), "key '%s': %m", path);
        k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
        if (!k)
                return err_set(-EINVAL, "key '%s': not a PEM %s key", path, private ? "private" : "public");
        if (EVP_PKEY_base_id(k) != EVP_PKEY_ED25519 && EVP_PKEY_base_id(k) != EVP_PKEY_EC) {
                EVP_PKEY_free(k);
                return err_set(-EINVAL, "key '%s': only Ed25519 and ECDSA P-256 keys are supported", path);
        }
        *ret = k;
        return 0;
}

static const EVP_MD *key_md(EVP_PKEY *k)
{
        /* Ed25519 signs the message itself (RFC 8032); ECDSA signs its SHA-256. */
        return EVP_PKEY_base_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

static int key_id(EVP_PKEY *k, char ret[80])
{
        unsigned char *der = NULL;
        char hex[SHA256_HEX_LEN + 1];
        int n = i2d_PUBKEY(k, &der);

        if (n <= 0)
                return -EINVAL;
        sha256_hex(der, (size_t)n, hex);
        OPENSSL_free(der);
        snprintf(ret, 80, "sha256:%s", hex);
        return 0;
}

int policy_make_artifact(const char *digest, const char *repo, const char *key_path, char **ret)
{
        _cleanup_(pkey_freep) EVP_PKEY *key = NULL;
        _cleanup_json_ struct json_object *payload = json_object_new_object(), *art = json_object_new_object();
        _cleanup_free_ char *p64 = NULL, *s64 = NULL, *payload_str = NULL;
        _cleanup_free_ unsigned char *sig = NULL;
        struct json_object *crit, *img, *id, *opt;
        EVP_MD_CTX *md = NULL;
        size_t siglen = 0;
        char kid[80];
        int r;

        if (!payload || !art)
                return -ENOMEM;
        r = load_key(key_path, true, &key);
        if (r < 0)
                return r;
        crit = json_object_new_object();
        img = json_object_new_object();
        id = json_object_new_object();
        opt = json_object_new_object();
        json_object_object_add(crit, "type", json_object_new_string(SIGNATURE_TYPE));
        json_object_object_add(img, "docker-manifest-digest", json_object_new_string(digest));
        json_object_object_add(crit, "image", img);
        json_object_object_add(id, "docker-reference", json_object_new_string(repo));
        json_object_object_add(crit, "identity", id);
        json_object_object_add(payload, "critical", crit);
        json_object_object_add(opt, "creator", json_object_new_string("hull"));
        json_object_object_add(opt, "timestamp", json_object_new_int64((int64_t)time(NULL)));
        json_object_object_add(payload, "optional", opt);
        payload_str = strdup(json_to_string(payload));
        if (!payload_str)
                return -ENOMEM;
        md = EVP_MD_CTX_new();
        if (!md || EVP_DigestSignInit(md, NULL, key_md(key), NULL, key) != 1 ||
            EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)payload_str, strlen(payload_str)) != 1 ||
            !(sig = malloc(siglen)) ||
            EVP_DigestSign(md, sig, &siglen, (const unsigned char *)payload_str, strlen(payload_str)) != 1) {
                EVP_MD_CTX_free(md);
                return err_set(-EIO, "signing with '%s' failed", key_path);
        }
        EVP_MD_CTX_free(md);
        if ((r = key_id(key, kid)) < 0 || (r = b64_encode((unsigned char *)payload_str, strlen(payload_str), &p64)) < 0 ||
            (r = b64_encode(sig, siglen, &s64)) < 0)
                return r;
        json_object_object_add(art, "payload", json_object_new_string(p64));
        json_object_object_add(art, "signature", json_object_new_string(s64));
        json_object_object_add(art, "keyid", json_object_new_string(kid));
        *ret = strdup(json_to_string(art));
        return *ret ? 0 : -ENOMEM;
}

static int check_claims(const unsigned char *payload, size_t len, const char *digest, const char *repo)
{
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *crit, *img, *id;
        const char *type, *d, *ref;
        int r;

        r = json_parse_buffer((const char *)payload, len, "signature payload", &o);
        if (r < 0)
                return r;
        if (json_get_object(o, "critical", "critical", &crit) < 0 || json_get_string(crit, "type", "type", &type) < 0 ||
            json_get_object(crit, "image", "image", &img) < 0 ||
            json_get_string(img, "docker-manifest-digest", "digest", &d) < 0 ||
            json_get_object(crit, "identity", "identity", &id) < 0 ||
            json_get_string(id, "docker-reference", "reference", &ref) < 0)
                return err_set(-EINVAL, "signature payload: missing fields");
        if (!streq(type, SIGNATURE_TYPE))
                return err_set(-EINVAL, "signature payload: unknown type '%.80s'", type);
        if (!streq(d, digest))
                return err_set(-EPERM, "signature is for %s, not for %s", d, digest);
        if (!streq(ref, repo))
                return err_set(-EPERM, "signature is for repository '%.200s', not '%s'", ref, repo);
        return 0;
}

int policy_verify_artifact(const char *artifact, size_t len, const char *digest, const char *repo, char **key_paths)
{
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ unsigned char *payload = NULL, *sig = NULL;
        const char *p64, *s64;
        size_t plen, slen;
        int r;

        r = json_parse_buffer(artifact, len, "signature", &o);
        if (r < 0)
                return r;
        if (json_get_string(o, "payload", "payload", &p64) < 0 || json_get_string(o, "signature", "signature", &s64) < 0)
                return err_set(-EINVAL, "signature: missing payload or signature");
        if (b64_decode(p64, &payload, &plen) < 0 || b64_decode(s64, &sig, &slen) < 0)
                return err_set(-EINVAL, "signature: invalid base64");
        STRV_FOREACH(kp, key_paths)
        {
                _cleanup_(pkey_freep) EVP_PKEY *key = NULL;
                EVP_MD_CTX *md;
                int ok;

                r = load_key(*kp, false, &key);
                if (r < 0)
                        return r;
                md = EVP_MD_CTX_new();
                if (!md)
                        return -ENOMEM;
                ok = EVP_DigestVerifyInit(md, NULL, key_md(key), NULL, key) == 1 &&
                     EVP_DigestVerify(md, sig, slen, payload, plen) == 1;
                EVP_MD_CTX_free(md);
                if (ok)
                        return check_claims(payload, plen, digest, repo);
        }
        return err_set(-EPERM, "the signature was not made by any key the policy trusts");
}

struct policy_rule {
        char *require;
        char **keys;
        char *scope;
};

static void rule_done(struct policy_rule *r)
{
        free(r->require);
        strv_free(r->keys);
        free(r->scope);
}

static bool scope_matches(const char *scope, const char *name)
{
        const char *rest = startswith(name, scope);
        return rest && (*rest == 0 || *rest == '/' || scope[strlen(scope) - 1] == '/');
}

static int policy_load(const char *path, const char *name, struct policy_rule *ret)
{
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *repos, *best = NULL;
        const char *def = "accept", *best_key = NULL;
        int r;

        r = json_parse_file(path, 1 << 20, &o);
        if (r == -ENOENT && !err_has_msg())
                return 0;
        if (r < 0 && strstr(err_msg(r), "No such file"))
                return 0;
        if (r < 0)
                return err_prefix(r, "policy");
        r = json_expect_type(o, json_type_object, "policy");
        if (r < 0)
                return err_prefix(r, "policy '%s'", path);
        r = json_get_string(o, "default", "default", &def);
        if (r < 0 && r != -ENOENT)
                return err_prefix(r, "policy '%s'", path);
        r = json_get_strv(o, "keys", "keys", &ret->keys);
        if (r < 0 && r != -ENOENT)
                return err_prefix(r, "policy '%s'", path);
        if (json_get_object(o, "repositories", "repositories", &repos) >= 0) {
                json_object_object_foreach(repos, k, v)
                {
                        if (scope_matches(k, name) && (!best_key || strlen(k) > strlen(best_key))) {
                                best_key = k;
                                best = v;
                        }
                }
        }
        if (best) {
                const char *req = "accept";
                char **keys = NULL;
                r = json_expect_type(best, json_type_object, best_key);
                if (r >= 0)
                        r = json_get_string(best, "require", "require", &req);
                if (r < 0 && r != -ENOENT)
                        return err_prefix(r, "policy '%s': repositories", path);
                r = json_get_strv(best, "keys", "keys", &keys);
                if (r < 0 && r != -ENOENT)
                        return err_prefix(r, "policy '%s': repositories.%s", path, best_key);
                if (keys) {
                        strv_free(ret->keys);
                        ret->keys = keys;
                }
                def = req;
                ret->scope = strdup(best_key);
        } else
                ret->scope = strdup("default");
        ret->require = strdup(def);
        if (!ret->require || !ret->scope)
                return -ENOMEM;
        if (!streq(def, "accept") && !streq(def, "reject") && !streq(def, "signed"))
                return err_set(-EINVAL, "policy '%s': requirement '%s' is not accept, reject or signed", path, def);
        return 0;
}

static char *signature_tag(const char *digest)
{
        return strdup_printf("sha256-%s.sig", digest + strlen("sha256:"));
}

struct mem_sink {
        char *buf;
        size_t len, max;
};

static int mem_sink_write(void *userdata, const void *data, size_t len)
{
        struct mem_sink *m = userdata;
        char *b;

        if (m->len + len > m->max)
                return err_set(-EFBIG, "signature artifact too large");
        b = realloc(m->buf, m->len + len + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b + m->len, data, len);
        m->buf = b;
        m->len += len;
        m->buf[m->len] = 0;
        return 0;
}

int policy_check(const char *path, const struct image_ref *ref, struct registry *reg, const char *digest)
{
        _cleanup_free_ char *name = image_ref_name(ref), *tag = signature_tag(digest);
        _cleanup_free_ char *body = NULL, *type = NULL;
        _cleanup_manifest_ struct manifest *m = NULL;
        struct policy_rule rule = {};
        struct mem_sink sink = { .max = ARTIFACT_MAX };
        char sdigest[80], hex[SHA256_HEX_LEN + 1];
        size_t len;
        int r;

        if (!name || !tag)
                return -ENOMEM;
        r = policy_load(path ?: POLICY_DEFAULT_PATH, name, &rule);
        if (r < 0)
                goto out;
        if (!rule.require || streq(rule.require, "accept"))
                goto out;
        if (streq(rule.require, "reject")) {
                r = err_set(-EPERM, "the policy refuses images from '%s' (rule '%s')", name, rule.scope);
                goto out;
        }
        if (!rule.keys || !rule.keys[0]) {
                r = err_set(-EPERM, "the policy demands signatures for '%s' but names no keys", rule.scope);
                goto out;
        }
        r = registry_get_manifest(reg, ref->path, tag, &body, &len, &type, sdigest);
        if (r == -ENOENT) {
                r = err_set(-EPERM, "image '%s' is not signed: the policy demands a signature for '%s'", name,
                            rule.scope);
                goto out;
        }
        if (r < 0)
                goto out;
        r = manifest_parse(body, len, type, &m);
        if (r < 0)
                goto out;
        if (manifest_is_index(m) || m->n_layers < 1 || !streq(m->layers[0].media_type, SIGNATURE_MEDIA_TYPE) ||
            m->layers[0].size > (int64_t)ARTIFACT_MAX) {
                r = err_set(-EPERM, "image '%s': '%s' is not a hull signature", name, tag);
                goto out;
        }
        r = registry_get_blob(reg, ref->path, m->layers[0].digest, mem_sink_write, &sink, NULL, 0);
        if (r < 0)
                goto out;
        sha256_hex(sink.buf ?: "", sink.len, hex);
        if (!streq(hex, m->layers[0].digest + strlen("sha256:"))) {
                r = err_set(-EBADMSG, "image '%s': signature blob does not match its digest", name);
                goto out;
        }
        r = policy_verify_artifact(sink.buf ?: "", sink.len, digest, name, rule.keys);
        if (r < 0)
                err_prefix(r, "image '%s' refused by the signature policy", name);
        else
                log_debug("policy: %s@%s signed by a trusted key", name, digest);
out:
        free(sink.buf);
        rule_done(&rule);
        return r;
}

static int upload_mem(struct registry *reg, const char *repo, const char *data, char ret_digest[80])
{
        _cleanup_close_ int fd = memfd_create("hull-signature", MFD_CLOEXEC);
        char hex[SHA256_HEX_LEN + 1];
        int r;

        if (fd < 0)
                return negative_errno();
        r = write_all(fd, data, strlen(data));
        if (r < 0)
                return r;
        sha256_hex(data, strlen(data), hex);
        snprintf(ret_digest, 80, "sha256:%s", hex);
        r = registry_blob_exists(reg, repo, ret_digest);
        if (r > 0)
                return 0;
        r = registry_upload_blob(reg, repo, ret_digest, fd, strlen(data), NULL, NULL);
        return r < 0 ? r : 0;
}

int policy_sign(const char *name, const char *key_path, const struct registry_options *o, char ret_digest[80])
{
        _cleanup_image_ref_ struct image_ref *ref = NULL;
        _cleanup_registry_ struct registry *reg = NULL;
        _cleanup_free_ char *body = NULL, *type = NULL, *repo = NULL, *artifact = NULL, *tag = NULL, *mjson = NULL;
        const char *config = "{}";
        char digest[80], adigest[80], cdigest[80];
        size_t len;
        int r;

        r = image_ref_parse(name, &ref);
        if (r < 0)
                return r;
        repo = image_ref_name(ref);
        if (!repo)
                return -ENOMEM;
        r = registry_new(image_ref_registry_host(ref), o, &reg);
        if (r < 0)
                return r;
        r = registry_get_manifest(reg, ref->path, ref->digest ?: ref->tag, &body, &len, &type, digest);
        if (r < 0)
                return r;
        r = policy_make_artifact(digest, repo, key_path, &artifact);
        if (r < 0)
                return r;
        r = upload_mem(reg, ref->path, artifact, adigest);
        if (r >= 0)
                r = upload_mem(reg, ref->path, config, cdigest);
        if (r < 0)
                return r;
        struct descriptor cd = { .media_type = (char *)MT_OCI_CONFIG, .digest = cdigest, .size = (int64_t)strlen(config) };
        struct descriptor ld = { .media_type = (char *)SIGNATURE_MEDIA_TYPE, .digest = adigest,
                                 .size = (int64_t)strlen(artifact) };
        mjson = manifest_oci_to_json(&cd, &ld, 1);
        tag = signature_tag(digest);
        if (!mjson || !tag)
                return -ENOMEM;
        r = registry_put_manifest(reg, ref->path, tag, mjson, strlen(mjson), MT_OCI_MANIFEST);
        if (r < 0)
                return r;
        if (ret_digest)
                snprintf(ret_digest, 80, "%s", digest);
        return 0;
}
