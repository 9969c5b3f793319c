/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.c - OCI distribution client; see registry.h for what is implemented.
 *
 * Every request goes through perform(), which owns the retry and
 * authentication loop: a 401 answer is met once per request with the
 * challenge's scheme (a new Bearer token for the needed scope, or Basic
 * credentials), 5xx answers and connection failures of requests that can be
 * repeated are retried with exponential backoff until a body byte has reached
 * a sink (a half-written blob cannot be rewound).
 *
 * Ownership: struct registry owns its curl handle, CA bundle and token. A
 * struct request lives on the caller's stack and owns its response buffers.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <time.h>

#include "error.h"
#include "json.h"
#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "sha256.h"
#include "util.h"

#define MAX_ATTEMPTS      4
#define ERROR_BODY_MAX    (64u << 10)
#define CHUNK_DEFAULT     (32u << 20)
#define MONOLITHIC_MAX    (64u << 20)
#define SYSTEM_CA_BUNDLE  "/etc/ssl/certs/ca-certificates.crt"

struct registry {
        char *host;
        char *base; /* "https://host" once decided, else NULL */
        bool tls_verify;
        char *ca;
        size_t ca_len;
        char *user, *pass;
        char *token, *token_scope;
        bool use_basic;
        CURL *curl;
};

struct request {
        CURL *curl;
        const char *method;
        const char *url;
        const char *scope;  /* token scope this request needs */
        const char *accept; /* Accept header */
        const char *content_type;
        bool idempotent;
        bool follow;
        bool no_auth; /* the ping: a 401 already says "this is a registry" */
        /* Upload body: a buffer or a range of an fd. */
        const char *in_buf;
        int in_fd;
        uint64_t in_off, in_len, in_pos;
        /* Response. */
        long status;
        char *body;
        size_t body_len, body_max;
        registry_sink_fn sink;
        void *userdata;
        int sink_error;
        uint64_t sunk;
        const struct image_progress *progress;
        const char *progress_digest;
        uint64_t progress_total, progress_last;
        char *content_type_resp, *location, *www_auth, *docker_digest;
        char *url_buf, *scope_buf; /* owned by the request when repo_request() built them */
};

static bool curl_initialized;

static void curl_freep(char **p)
{
        curl_free(*p);
}
#define _cleanup_curl_free_ _cleanup_(curl_freep)

void auth_challenge_done(struct auth_challenge *c)
{
        free(c->realm);
        free(c->service);
        free(c->scope);
        *c = (struct auth_challenge){};
}

int registry_parse_challenge(const char *h, struct auth_challenge *ret)
{
        struct auth_challenge c = {};
        size_t n;

        while (*h == ' ')
                h++;
        n = strcspn(h, " ");
        if (n == 0 || n >= sizeof(c.scheme))
                return -EINVAL;
        memcpy(c.scheme, h, n);
        h += n;
        /* auth-param := token "=" ( token | quoted-string ), comma separated (RFC 7235 section 2.1). */
        while (*h) {
                char key[32], *val;
                size_t kl, vl = 0;

                while (*h == ' ' || *h == ',')
                        h++;
                if (!*h)
                        break;
                kl = strcspn(h, "= ,");
                if (h[kl] != '=' || kl >= sizeof(key)) {
                        auth_challenge_done(&c);
                        return -EINVAL;
                }
                memcpy(key, h, kl);
                key[kl] = 0;
                h += kl + 1;
                val = malloc(strlen(h) + 1);
                if (!val) {
                        auth_challenge_done(&c);
                        return -ENOMEM;
                }
                if (*h == '"') {
                        h++;
                        while (*h && *h != '"') {
                                if (*h == '\\' && h[1])
                                        h++;
                                val[vl++] = *h++;
                        }
                        if (*h != '"') {
                                free(val);
                                auth_challenge_done(&c);
                                return -EINVAL;
                        }
                        h++;
                } else
                        while (*h && *h != ',' && *h != ' ')
                                val[vl++] = *h++;
                val[vl] = 0;
                char **slot = strcasecmp(key, "realm") == 0     ? &c.realm
                              : strcasecmp(key, "service") == 0 ? &c.service
                              : strcasecmp(key, "scope") == 0   ? &c.scope
                                                                : NULL;
                if (slot) {
                        free(*slot);
                        *slot = val;
                } else
                        free(val);
        }
        *ret = c;
        return 0;
}

static int load_ca(struct registry *r, const char *cert_dir)
{
        _cleanup_free_ char *bundle = NULL, *hostdir = NULL;
        const char *dirs[2];
        size_t len = 0;
        int r2;

        hostdir = strdup_printf("/etc/hull/certs.d/%s", r->host);
        if (!hostdir)
                return -ENOMEM;
        dirs[0] = cert_dir;
        dirs[1] = hostdir;
        if (!cert_dir && access(hostdir, F_OK) < 0)
                return 0;
        /* The system's CAs stay trusted: extra directories add to them, as podman's --cert-dir does. */
        r2 = read_full_file(SYSTEM_CA_BUNDLE, 16 << 20, &bundle, &len);
        if (r2 < 0) {
                bundle = strdup("");
                len = 0;
                if (!bundle)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                DIR *d;
                struct dirent *de;
                if (!dirs[i])
                        continue;
                d = opendir(dirs[i]);
                if (!d) {
                        if (i == 0)
                                return err_set(negative_errno(), "--cert-dir '%s': %m", dirs[i]);
                        continue;
                }
                while ((de = readdir(d))) {
                        _cleanup_free_ char *p = NULL, *pem = NULL;
                        size_t l = strlen(de->d_name), pl;
                        char *nb;
                        if (l < 5 || !streq(de->d_name + l - 4, ".crt"))
                                continue;
                        p = strdup_printf("%s/%s", dirs[i], de->d_name);
                        if (!p || read_full_file(p, 1 << 20, &pem, &pl) < 0)
                                continue;
                        nb = realloc(bundle, len + pl + 2);
                        if (!nb) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        bundle = nb;
                        memcpy(bundle + len, pem, pl);
                        len += pl;
                        bundle[len++] = '\n';
                        bundle[len] = 0;
                }
                closedir(d);
        }
        r->ca = TAKE_PTR(bundle);
        r->ca_len = len;
        return 0;
}

int registry_new(const char *host, const struct registry_options *o, struct registry **ret)
{
        _cleanup_(registry_freep) struct registry *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        if (!curl_initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                curl_initialized = true;
        }
        r->host = strdup(host);
        r->curl = curl_easy_init();
        if (!r->host || !r->curl)
                return -ENOMEM;
        r->tls_verify = o->tls_verify;
        if (o->username) {
                r->user = strdup(o->username);
                r->pass = strdup(strempty(o->password));
                if (!r->user || !r->pass)
                        return -ENOMEM;
        }
        k = load_ca(r, o->cert_dir);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

void registry_free(struct registry *r)
{
        if (!r)
                return;
        if (r->curl)
                curl_easy_cleanup(r->curl);
        free(r->host);
        free(r->base);
        free(r->ca);
        free(r->user);
        if (r->pass)
                explicit_bzero(r->pass, strlen(r->pass));
        free(r->pass);
        free(r->token);
        free(r->token_scope);
        free(r);
}

static void request_reset_response(struct request *q)
{
        free(q->body);
        free(q->content_type_resp);
        free(q->location);
        free(q->www_auth);
        free(q->docker_digest);
        q->body = q->content_type_resp = q->location = q->www_auth = q->docker_digest = NULL;
        q->body_len = 0;
        q->status = 0;
        q->in_pos = 0;
}

static void request_done(struct request *q)
{
        request_reset_response(q);
        free(q->url_buf);
        free(q->scope_buf);
        q->url_buf = q->scope_buf = NULL;
}

static char *header_value(const char *line, size_t n, const char *name)
{
        size_t l = strlen(name);
        const char *v, *end;

        if (n <= l || strncasecmp(line, name, l) != 0 || line[l] != ':')
                return NULL;
        v = line + l + 1;
        end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return strndup(v, (size_t)(end - v));
}

static size_t header_cb(char *buf, size_t size, size_t n, void *userdata)
{
        struct request *q = userdata;
        size_t len = size * n;
        char *v;

        if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                /* A new response (after a redirect or 100-continue): forget the previous headers. */
                free(q->content_type_resp);
                free(q->location);
                free(q->www_auth);
                free(q->docker_digest);
                q->content_type_resp = q->location = q->www_auth = q->docker_digest = NULL;
                return len;
        }
        if ((v = header_value(buf, len, "Content-Type"))) {
                free(q->content_type_resp);
                v[strcspn(v, ";")] = 0;
                q->content_type_resp = v;
        } else if ((v = header_value(buf, len, "Location"))) {
                free(q->location);
                q->location = v;
        } else if ((v = header_value(buf, len, "WWW-Authenticate"))) {
                free(q->www_auth);
                q->www_auth = v;
        } else if ((v = header_value(buf, len, "Docker-Content-Digest"))) {
                free(q->docker_digest);
                q->docker_digest = v;
        }
        return len;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
        struct request *q = userdata;
        size_t len = size * n;
        long status = 0;

        /* Asked for every block: after a redirect the status changes between bodies. */
        curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
        if (q->sink && status >= 200 && status < 300) {
                int r = q->sink(q->userdata, data, len);
                if (r < 0) {
                        q->sink_error = r;
                        return 0;
                }
                q->sunk += len;
                if (q->progress && (q->sunk - q->progress_last >= (256u << 10) || q->sunk == q->progress_total)) {
                        image_progress_emit(q->progress, PROGRESS_UPDATE, "Copying blob", q->progress_digest, q->sunk,
                                            q->progress_total);
                        q->progress_last = q->sunk;
                }
                return len;
        }
        if (q->body_len + len > q->body_max) {
                q->sink_error = -EFBIG;
                return 0;
        }
        {
                char *b = realloc(q->body, q->body_len + len + 1);
                if (!b) {
                        q->sink_error = -ENOMEM;
                        return 0;
                }
                q->body = b;
                memcpy(q->body + q->body_len, data, len);
                q->body_len += len;
                q->body[q->body_len] = 0;
        }
        return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *userdata)
{
        struct request *q = userdata;
        size_t want = MIN(size * n, (size_t)(q->in_len - q->in_pos));
        ssize_t k;

        if (want == 0)
                return 0;
        if (q->in_buf) {
                memcpy(buf, q->in_buf + q->in_pos, want);
                q->in_pos += want;
                return want;
        }
        k = pread(q->in_fd, buf, want, (off_t)(q->in_off + q->in_pos));
        if (k <= 0)
                return CURL_READFUNC_ABORT;
        q->in_pos += (uint64_t)k;
        if (q->progress) {
                uint64_t done = q->in_off + q->in_pos;
                if (done - q->progress_last >= (256u << 10) || done == q->progress_total) {
                        image_progress_emit(q->progress, PROGRESS_UPDATE, "Copying blob", q->progress_digest, done,
                                            q->progress_total);
                        q->progress_last = done;
                }
        }
        return (size_t)k;
}

/* A status that counts as an error: one line from the registry's error JSON. */
static int status_error(struct registry *r, struct request *q, const char *what)
{
        int e = q->status == 401 || q->status == 403 ? -EACCES
                : q->status == 404                   ? -ENOENT
                : q->status == 429                   ? -EAGAIN
                : q->status >= 500                   ? -EIO
                                                     : -EPROTO;
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *errs, *first;
        const char *code = NULL, *msg = NULL;

        if (q->body && q->body_len && json_parse_buffer(q->body, q->body_len, "error", &o) >= 0 &&
            json_get_array(o, "errors", "errors", &errs) >= 0 && json_object_array_length(errs) > 0) {
                first = json_object_array_get_idx(errs, 0);
                (void)json_get_string(first, "code", "code", &code);
                (void)json_get_string(first, "message", "message", &msg);
        }
        err_clear();
        /* HEAD answers have no body: say what a bare 401 means here. */
        if (!code && !msg && q->status == 401)
                return err_set(e, "registry %s: %s: %s", r->host, what,
                               r->use_basic ? "the credentials were refused"
                               : r->token   ? "access denied"
                                            : "authentication required (give --creds USER:PASS)");
        if (code || msg)
                return err_set(e, "registry %s: %s: %.60s%s%.200s", r->host, what, strempty(code), msg ? ": " : "",
                               strempty(msg));
        return err_set(e, "registry %s: %s: HTTP status %ld", r->host, what, q->status);
}

static int fetch_token(struct registry *r, const struct auth_challenge *c, const char *scope)
{
        _cleanup_free_ char *url = NULL;
        _cleanup_curl_free_ char *esc_service = NULL, *esc_scope = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        struct request q = { .method = "GET", .body_max = 1 << 20, .in_fd = -EBADF };
        const char *tok = NULL;
        CURLcode rc;
        int k;

        if (!c->realm || !(startswith(c->realm, "https://") || startswith(c->realm, "http://")))
                return err_set(-EPROTO, "registry %s: bearer challenge without a usable realm", r->host);
        if (c->service)
                esc_service = curl_easy_escape(r->curl, c->service, 0);
        if (scope)
                esc_scope = curl_easy_escape(r->curl, scope, 0);
        url = strdup_printf("%s%s%s%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?",
                            esc_service ? "service=" : "", strempty(esc_service), esc_scope ? "&scope=" : "",
                            strempty(esc_scope));
        if (!url)
                return -ENOMEM;
        curl_easy_reset(r->curl);
        curl_easy_setopt(r->curl, CURLOPT_URL, url);
        curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &q);
        curl_easy_setopt(r->curl, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(r->curl, CURLOPT_HEADERDATA, &q);
        curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(r->curl, CURLOPT_TIMEOUT, 120L);
        curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYPEER, r->tls_verify ? 1L : 0L);
        curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYHOST, r->tls_verify ? 2L : 0L);
        if (r->ca) {
                struct curl_blob b = { r->ca, r->ca_len, CURL_BLOB_NOCOPY };
                curl_easy_setopt(r->curl, CURLOPT_CAINFO_BLOB, &b);
        }
        if (r->user) {
                curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->user);
                curl_easy_setopt(r->curl, CURLOPT_PASSWORD, r->pass);
        }
        q.curl = r->curl;
        rc = curl_easy_perform(r->curl);
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &q.status);
        if (rc != CURLE_OK) {
                request_done(&q);
                return err_set(-EHOSTUNREACH, "registry %s: token server '%s': %s", r->host, c->realm,
                               curl_easy_strerror(rc));
        }
        if (q.status != 200) {
                k = status_error(r, &q, q.status == 401 ? "token server refused the credentials" : "token server");
                request_done(&q);
                return k;
        }
        k = json_parse_buffer(q.body ?: "", q.body_len, "token response", &o);
        request_done(&q);
        if (k < 0)
                return err_prefix(k, "registry %s", r->host);
        if (json_get_string(o, "token", "token", &tok) < 0 && json_get_string(o, "access_token", "access_token", &tok) < 0)
                return err_set(-EPROTO, "registry %s: token response has no token", r->host);
        free(r->token);
        free(r->token_scope);
        r->token = strdup(tok);
        r->token_scope = scope ? strdup(scope) : NULL;
        r->use_basic = false;
        if (!r->token)
                return -ENOMEM;
        return 0;
}

static int authenticate(struct registry *r, struct request *q)
{
        struct auth_challenge c;
        int k;

        if (!q->www_auth)
                return err_set(-EACCES, "registry %s: access denied (no authentication challenge)", r->host);
        k = registry_parse_challenge(q->www_auth, &c);
        if (k < 0)
                return err_set(-EPROTO, "registry %s: unparsable WWW-Authenticate '%.100s'", r->host, q->www_auth);
        if (strcasecmp(c.scheme, "Basic") == 0) {
                auth_challenge_done(&c);
                if (!r->user)
                        return err_set(-EACCES, "registry %s: authentication required (give --creds USER:PASS)",
                                       r->host);
                if (r->use_basic)
                        return err_set(-EACCES, "registry %s: the credentials were refused", r->host);
                r->use_basic = true;
                return 0;
        }
        if (strcasecmp(c.scheme, "Bearer") == 0) {
                /* Our scope names what this request needs; the challenge's may be narrower (a ping has none). */
                k = fetch_token(r, &c, q->scope ?: c.scope);
                auth_challenge_done(&c);
                return k;
        }
        auth_challenge_done(&c);
        return err_set(-EPROTO, "registry %s: unsupported authentication scheme '%s'", r->host, c.scheme);
}

static bool retryable(CURLcode rc)
{
        return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
               rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
}

static int perform(struct registry *r, struct request *q)
{
        bool authed = false;

        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
                struct curl_slist *h = NULL;
                _cleanup_free_ char *auth = NULL, *accept = NULL, *ctype = NULL;
                CURLcode rc;

                request_reset_response(q);
                curl_easy_reset(r->curl);
                curl_easy_setopt(r->curl, CURLOPT_URL, q->url);
                curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(r->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, write_cb);
                curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, q);
                curl_easy_setopt(r->curl, CURLOPT_HEADERFUNCTION, header_cb);
                curl_easy_setopt(r->curl, CURLOPT_HEADERDATA, q);
                curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, 30L);
                /* A stalled transfer (under 1 byte/s for 60 s) fails instead of hanging forever. */
                curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
                curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_TIME, 60L);
                curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYPEER, r->tls_verify ? 1L : 0L);
                curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYHOST, r->tls_verify ? 2L : 0L);
                curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "hull/0.1");
                if (r->ca) {
                        struct curl_blob b = { r->ca, r->ca_len, CURL_BLOB_NOCOPY };
                        curl_easy_setopt(r->curl, CURLOPT_CAINFO_BLOB, &b);
                }
                if (q->follow) {
                        /* Blob GETs redirect to storage; curl drops our Authorization header on another host. */
                        curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 1L);
                        curl_easy_setopt(r->curl, CURLOPT_MAXREDIRS, 5L);
                }
                if (streq(q->method, "HEAD"))
                        curl_easy_setopt(r->curl, CURLOPT_NOBODY, 1L);
                else if (streq(q->method, "PUT") || streq(q->method, "PATCH")) {
                        curl_easy_setopt(r->curl, CURLOPT_UPLOAD, 1L);
                        curl_easy_setopt(r->curl, CURLOPT_READFUNCTION, read_cb);
                        curl_easy_setopt(r->curl, CURLOPT_READDATA, q);
                        curl_easy_setopt(r->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->in_len);
                        if (streq(q->method, "PATCH"))
                                curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, "PATCH");
                } else if (streq(q->method, "POST")) {
                        curl_easy_setopt(r->curl, CURLOPT_POST, 1L);
                        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, 0L);
                        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, "");
                }
                if (r->token && !r->use_basic) {
                        auth = strdup_printf("Authorization: Bearer %s", r->token);
                        if (!auth)
                                return -ENOMEM;
                        h = curl_slist_append(h, auth);
                } else if (r->use_basic && r->user) {
                        curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->user);
                        curl_easy_setopt(r->curl, CURLOPT_PASSWORD, r->pass);
                }
                if (q->accept) {
                        accept = strdup_printf("Accept: %s", q->accept);
                        h = curl_slist_append(h, accept);
                }
                if (q->content_type) {
                        ctype = strdup_printf("Content-Type: %s", q->content_type);
                        h = curl_slist_append(h, ctype);
                }
                if (q->in_len > 0 && streq(q->method, "PATCH")) {
                        char range[96];
                        snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)q->in_off,
                                 (unsigned long long)(q->in_off + q->in_len - 1));
                        h = curl_slist_append(h, range);
                }
                h = curl_slist_append(h, "Expect:");
                curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
                q->curl = r->curl;
                rc = curl_easy_perform(r->curl);
                curl_slist_free_all(h);
                curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &q->status);
                if (q->sink_error)
                        return q->sink_error == -EFBIG ? err_set(-EFBIG, "registry %s: response too large", r->host)
                                                       : q->sink_error;
                if (rc != CURLE_OK) {
                        if (retryable(rc) && q->idempotent && q->sunk == 0 && attempt + 1 < MAX_ATTEMPTS) {
                                log_debug("registry %s: %s, retrying", r->host, curl_easy_strerror(rc));
                                usleep(200000u << attempt);
                                continue;
                        }
                        return err_set(rc == CURLE_PARTIAL_FILE ? -EPIPE : -EHOSTUNREACH, "registry %s: %s %s: %s",
                                       r->host, q->method, q->url, curl_easy_strerror(rc));
                }
                if (q->status == 401 && !authed && !q->no_auth) {
                        int k = authenticate(r, q);
                        if (k < 0)
                                return k;
                        authed = true;
                        attempt--;
                        continue;
                }
                if (q->status >= 500 && q->idempotent && q->sunk == 0 && attempt + 1 < MAX_ATTEMPTS) {
                        log_debug("registry %s: HTTP %ld, retrying", r->host, q->status);
                        usleep(200000u << attempt);
                        continue;
                }
                return 0;
        }
        return 0;
}

/* Decide the scheme with a ping of /v2/ ("Determining support"), once per registry. */
static int ensure_base(struct registry *r)
{
        static const char *const schemes[] = { "https", "http" };
        int last = 0;

        if (r->base)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(schemes); i++) {
                _cleanup_free_ char *base = strdup_printf("%s://%s", schemes[i], r->host);
                _cleanup_free_ char *url = strdup_printf("%s/v2/", base ?: "");
                struct request q = { .method = "GET", .url = url, .idempotent = true, .no_auth = true,
                                     .body_max = ERROR_BODY_MAX, .in_fd = -EBADF };
                int k;

                if (!base || !url)
                        return -ENOMEM;
                /* Plain HTTP only when the user turned verification off (podman's --tls-verify=false). */
                if (i > 0 && r->tls_verify)
                        break;
                free(r->base);
                r->base = TAKE_PTR(base);
                k = perform(r, &q);
                if (k >= 0 && (q.status == 200 || q.status == 401)) {
                        request_done(&q);
                        return 0;
                }
                if (k >= 0)
                        k = err_set(-EPROTO, "registry %s: does not speak the registry API (GET /v2/: HTTP %ld)",
                                    r->host, q.status);
                request_done(&q);
                free(r->base);
                r->base = NULL;
                last = k;
                /* An answer other than a transport failure is final; only a TLS failure tries plain HTTP. */
                if (k != -EHOSTUNREACH)
                        return k;
        }
        if (r->tls_verify && last == -EHOSTUNREACH && strstr(err_msg(last), "SSL")) {
                char msg[512];
                snprintf(msg, sizeof(msg), "%s", err_msg(last));
                return err_set(last, "%s (for a plain-HTTP registry use --tls-verify=false)", msg);
        }
        return last;
}

static char *repo_url(struct registry *r, const char *repo, const char *kind, const char *ref)
{
        return strdup_printf("%s/v2/%s/%s/%s", r->base, repo, kind, ref);
}

static char *scope_for(const char *repo, bool push)
{
        return strdup_printf("repository:%s:%s", repo, push ? "pull,push" : "pull");
}

/* Perform q against /v2/<repo>/<kind>/<ref> with the token scope pull (or pull,push). */
static int repo_request(struct registry *r, struct request *q, const char *repo, const char *kind, const char *ref,
                        bool push)
{
        int k = ensure_base(r);
        if (k < 0)
                return k;
        q->url = q->url_buf = repo_url(r, repo, kind, ref);
        q->scope = q->scope_buf = scope_for(repo, push);
        if (!q->url || !q->scope)
                return -ENOMEM;
        return perform(r, q);
}

int registry_get_manifest(struct registry *r, const char *repo, const char *reference, char **ret_body,
                          size_t *ret_len, char **ret_type, char ret_digest[80])
{
        struct request q = { .method = "GET", .accept = manifest_accept_header(), .idempotent = true,
                             .body_max = MANIFEST_MAX_SIZE, .in_fd = -EBADF };
        char hex[SHA256_HEX_LEN + 1], what[320];
        int k;

        k = repo_request(r, &q, repo, "manifests", reference, false);
        if (k == -EFBIG)
                k = err_set(-EFBIG, "registry %s: manifest of %s:%s is larger than %u bytes", r->host, repo,
                            reference, MANIFEST_MAX_SIZE);
        if (k < 0)
                goto out;
        snprintf(what, sizeof(what), "manifest %.200s%s%.80s", repo, startswith(reference, "sha256:") ? "@" : ":",
                 reference);
        if (q.status != 200) {
                k = status_error(r, &q, what);
                goto out;
        }
        sha256_hex(q.body ?: "", q.body_len, hex);
        snprintf(ret_digest, 80, "sha256:%s", hex);
        if (startswith(reference, "sha256:") && !streq(reference, ret_digest)) {
                k = err_set(-EBADMSG, "registry %s: %s: content does not match the digest (got %s)", r->host, what,
                            ret_digest);
                goto out;
        }
        if (q.docker_digest && startswith(q.docker_digest, "sha256:") && !streq(q.docker_digest, ret_digest)) {
                k = err_set(-EBADMSG, "registry %s: %s: Docker-Content-Digest %s does not match the content (%s)",
                            r->host, what, q.docker_digest, ret_digest);
                goto out;
        }
        *ret_type = q.content_type_resp ? strdup(q.content_type_resp) : NULL;
        *ret_body = q.body ? TAKE_PTR(q.body) : strdup("");
        *ret_len = q.body_len;
        k = 0;
out:
        request_done(&q);
        return k;
}

int registry_get_blob(struct registry *r, const char *repo, const char *digest, registry_sink_fn sink,
                      void *userdata, const struct image_progress *p, uint64_t total)
{
        struct request q = { .method = "GET", .idempotent = true, .follow = true, .body_max = ERROR_BODY_MAX,
                             .sink = sink, .userdata = userdata, .progress = p, .progress_digest = digest,
                             .progress_total = total, .in_fd = -EBADF };
        int k;

        k = repo_request(r, &q, repo, "blobs", digest, false);
        if (k >= 0 && q.status != 200) {
                char what[300];
                snprintf(what, sizeof(what), "blob %s", digest);
                k = status_error(r, &q, what);
        }
        request_done(&q);
        return k;
}

int registry_blob_exists(struct registry *r, const char *repo, const char *digest)
{
        struct request q = { .method = "HEAD", .idempotent = true, .body_max = ERROR_BODY_MAX, .in_fd = -EBADF };
        int k;

        k = repo_request(r, &q, repo, "blobs", digest, true);
        if (k >= 0)
                k = q.status == 200 ? 1 : q.status == 404 ? 0 : status_error(r, &q, "checking a blob");
        request_done(&q);
        return k;
}

/* An upload URL from a Location header: absolute, or relative to the registry. */
static char *upload_url(struct registry *r, const char *location, const char *digest)
{
        _cleanup_free_ char *abs = NULL;
        if (!location)
                return NULL;
        abs = startswith(location, "http://") || startswith(location, "https://")
                      ? strdup(location)
                      : strdup_printf("%s%s%s", r->base, location[0] == '/' ? "" : "/", location);
        if (!abs || !digest)
                return TAKE_PTR(abs);
        /* ':' is escaped in the query parameter (distribution spec: "?digest=<digest>"). */
        return strdup_printf("%s%sdigest=sha256%%3A%s", abs, strchr(abs, '?') ? "&" : "?", digest + strlen("sha256:"));
}

static uint64_t chunk_size(void)
{
        const char *e = getenv("HULL_PUSH_CHUNK_SIZE");
        uint64_t v;
        if (e && parse_size(e, &v) >= 0 && v >= 1024)
                return v;
        return CHUNK_DEFAULT;
}

int registry_upload_blob(struct registry *r, const char *repo, const char *digest, int fd, uint64_t size,
                         const char *from_repo, const struct image_progress *p)
{
        _cleanup_free_ char *url = NULL, *scope = NULL, *location = NULL;
        _cleanup_curl_free_ char *esc_from = NULL;
        struct request q = { .method = "POST", .body_max = ERROR_BODY_MAX, .in_fd = -EBADF };
        uint64_t chunk = chunk_size();
        bool chunked = size > MIN((uint64_t)MONOLITHIC_MAX, chunk);
        int k;

        k = ensure_base(r);
        if (k < 0)
                return k;
        if (from_repo && !streq(from_repo, repo)) {
                esc_from = curl_easy_escape(r->curl, from_repo, 0);
                url = strdup_printf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", r->base, repo, digest, strempty(esc_from));
                scope = strdup_printf("repository:%s:pull,push repository:%s:pull", repo, from_repo);
        } else {
                url = strdup_printf("%s/v2/%s/blobs/uploads/", r->base, repo);
                scope = scope_for(repo, true);
        }
        if (!url || !scope) {
                k = -ENOMEM;
                goto out;
        }
        q.url = url;
        q.scope = scope;
        k = perform(r, &q);
        if (k < 0)
                goto out;
        if (q.status == 201) {
                k = 1; /* mounted */
                goto out;
        }
        if (q.status != 202 || !q.location) {
                k = q.status == 202 ? err_set(-EPROTO, "registry %s: upload started without a Location", r->host)
                                    : status_error(r, &q, "starting an upload");
                goto out;
        }
        location = TAKE_PTR(q.location);
        image_progress_emit(p, PROGRESS_START, "Copying blob", digest, 0, size);
        if (chunked) {
                /* PATCH chunks with Content-Range; each answer gives the next Location. */
                for (uint64_t off = 0; off < size; off += chunk) {
                        _cleanup_free_ char *u = upload_url(r, location, NULL);
                        struct request c = { .method = "PATCH", .url = u, .scope = scope, .body_max = ERROR_BODY_MAX,
                                             .in_fd = fd, .in_off = off, .in_len = MIN(chunk, size - off),
                                             .content_type = "application/octet-stream", .progress = p,
                                             .progress_digest = digest, .progress_total = size };
                        if (!u) {
                                k = -ENOMEM;
                                goto out;
                        }
                        k = perform(r, &c);
                        if (k >= 0 && c.status != 202)
                                k = status_error(r, &c, "uploading a chunk");
                        if (k >= 0 && !c.location)
                                k = err_set(-EPROTO, "registry %s: chunk accepted without a Location", r->host);
                        if (k >= 0) {
                                free(location);
                                location = TAKE_PTR(c.location);
                        }
                        request_done(&c);
                        if (k < 0)
                                goto out;
                }
        }
        {
                _cleanup_free_ char *u = upload_url(r, location, digest);
                struct request c = { .method = "PUT", .url = u, .scope = scope, .body_max = ERROR_BODY_MAX,
                                     .in_fd = chunked ? -EBADF : fd, .in_len = chunked ? 0 : size,
                                     .content_type = "application/octet-stream", .progress = p,
                                     .progress_digest = digest, .progress_total = size };
                if (!u) {
                        k = -ENOMEM;
                        goto out;
                }
                k = perform(r, &c);
                if (k >= 0 && c.status != 201)
                        k = status_error(r, &c, "finishing an upload");
                request_done(&c);
                if (k < 0)
                        goto out;
        }
        image_progress_emit(p, PROGRESS_DONE, "Copying blob", digest, size, size);
        k = 0;
out:
        request_done(&q);
        return k;
}

int registry_put_manifest(struct registry *r, const char *repo, const char *reference, const char *body,
                          size_t len, const char *media_type)
{
        struct request q = { .method = "PUT", .idempotent = true, .body_max = ERROR_BODY_MAX, .in_buf = body,
                             .in_len = len, .content_type = media_type, .in_fd = -EBADF };
        int k;

        k = repo_request(r, &q, repo, "manifests", reference, true);
        if (k >= 0 && q.status != 201)
                k = status_error(r, &q, "pushing the manifest");
        request_done(&q);
        return k;
}
