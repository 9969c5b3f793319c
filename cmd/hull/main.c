/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - `hull`: the command table, option parsing, generated help and the
 * global options (--root, --log-level). See cmd.h for the table's contract.
 *
 * Global options may come before the command or among its options
 * ("hull --root /tmp/r images" and "hull images --root /tmp/r"), as podman
 * accepts them. The store root is --root, else $HULL_ROOT, else /var/lib/hull.
 */
#include <getopt.h>
#include <stdarg.h>

#include "cmd.h"
#include "cmd-vm.h"
#include "cp.h"
#include "hull-build.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define DEFAULT_ROOT "/var/lib/hull"

/*
 * Two executables are built from this table. `hull` runs every command but those that move
 * images in and out (registries, archives: libcurl, libarchive, libcrypto and their
 * dependencies cost milliseconds and megabytes to load on every command, measured in
 * docs/benchmarks.md); for those it executes `hull-image`, which is this same program
 * built with HULL_IMAGE_TRANSFER and all the libraries, with the same arguments.
 */
#ifdef HULL_IMAGE_TRANSFER
#define TRANSFER(fn) fn
#else
#define TRANSFER(fn) NULL
#endif

static const char *const image_ls_aliases[] = { "image ls", "image list", NULL };
static const char *const rmi_aliases[] = { "image rm", NULL };
static const char *const pull_aliases[] = { "image pull", NULL };
static const char *const push_aliases[] = { "image push", NULL };
static const char *const load_aliases[] = { "image load", NULL };
static const char *const save_aliases[] = { "image save", NULL };
static const char *const import_aliases[] = { "image import", NULL };
static const char *const tag_aliases[] = { "image tag", NULL };
static const char *const run_aliases[] = { "container run", NULL };
static const char *const create_aliases[] = { "container create", NULL };
static const char *const start_aliases[] = { "container start", NULL };
static const char *const stop_aliases[] = { "container stop", NULL };
static const char *const restart_aliases[] = { "container restart", NULL };
static const char *const kill_aliases[] = { "container kill", NULL };
static const char *const rm_aliases[] = { "container rm", "container remove", NULL };
static const char *const ps_aliases[] = { "container ls", "container list", "container ps", NULL };
static const char *const logs_aliases[] = { "container logs", NULL };
static const char *const exec_aliases[] = { "container exec", NULL };
static const char *const attach_aliases[] = { "container attach", NULL };
static const char *const top_aliases[] = { "container top", NULL };
static const char *const stats_aliases[] = { "container stats", NULL };
static const char *const wait_aliases[] = { "container wait", NULL };
static const char *const cp_aliases[] = { "container cp", NULL };
static const char *const pause_aliases[] = { "container pause", NULL };
static const char *const unpause_aliases[] = { "container unpause", NULL };
static const char *const rename_aliases[] = { "container rename", NULL };
static const char *const volume_ls_aliases[] = { "volume list", NULL };
static const char *const volume_rm_aliases[] = { "volume remove", NULL };
static const char *const history_aliases[] = { "image history", NULL };
static const char *const network_ls_aliases[] = { "network list", NULL };
static const char *const network_rm_aliases[] = { "network remove", NULL };
static const char *const port_aliases[] = { "container port", NULL };

#define OPT_TLS                                                                                                    \
        { "tls-verify", 0, OPT_BOOL, "BOOL",                                                                      \
          "require HTTPS and verify certificates (default true; false also allows plain HTTP)" },                 \
        { "cert-dir", 0, OPT_VALUE, "DIR",                                                                        \
          "trust the CA certificates (*.crt) in DIR, in addition to the system's" },                              \
        { "creds", 0, OPT_VALUE, "USER:PASS", "credentials for the registry" }

static const struct cmd_option pull_opts[] = {
        OPT_TLS,
        { "policy", 0, OPT_VALUE, "FILE", "signature policy (default /etc/hull/policy.json)" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress, only the image id" },
        {},
};
static const struct cmd_option push_opts[] = {
        OPT_TLS,
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress" },
        {},
};
static const struct cmd_option sign_opts[] = {
        OPT_TLS,
        { "key", 0, OPT_VALUE, "FILE", "private key (PEM, Ed25519 or ECDSA P-256) to sign with" },
        {},
};
static const struct cmd_option load_opts[] = {
        { "input", 'i', OPT_VALUE, "FILE", "read from FILE (a tarball or an OCI layout directory) instead of stdin" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress" },
        {},
};
static const struct cmd_option save_opts[] = {
        { "output", 'o', OPT_VALUE, "FILE", "write to FILE instead of stdout" },
        { "format", 0, OPT_VALUE, "FORMAT", "docker-archive (default), oci-archive or oci-dir" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress" },
        {},
};
static const struct cmd_option import_opts[] = {
        { "change", 'c', OPT_MULTI, "INSTRUCTION",
          "apply a Dockerfile instruction to the config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, "
          "VOLUME, WORKDIR)" },
        { "quiet", 'q', OPT_FLAG, NULL, "print no progress, only the image id" },
        {},
};
static const struct cmd_option images_opts[] = {
        { "all", 'a', OPT_FLAG, NULL, "also list intermediate images (untagged images of cached build steps)" },
        { "quiet", 'q', OPT_FLAG, NULL, "print image ids only" },
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template like '{{.Repository}}:{{.Tag}}'" },
        { "noheading", 'n', OPT_FLAG, NULL, "do not print the heading of the table" },
        { "digests", 0, OPT_FLAG, NULL, "show the repository digests" },
        { "no-trunc", 0, OPT_FLAG, NULL, "show full image ids" },
        {},
};
static const struct cmd_option rmi_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "remove an image with several names, and ignore missing images" },
        { "all", 'a', OPT_FLAG, NULL, "remove every image" },
        {},
};
static const struct cmd_option inspect_opts[] = {
        { "format", 'f', OPT_VALUE, "FORMAT", "json (default) or a template like '{{.Id}}'" },
        {},
};
static const struct cmd_option history_opts[] = {
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template" },
        { "no-trunc", 0, OPT_FLAG, NULL, "do not truncate the CREATED BY column" },
        { "quiet", 'q', OPT_FLAG, NULL, "print ids only" },
        { "noheading", 'n', OPT_FLAG, NULL, "do not print the heading of the table" },
        {},
};
static const struct cmd_option prune_opts[] = {
        { "all", 'a', OPT_FLAG, NULL, "remove every image, not only the unnamed ones" },
        { "force", 'f', OPT_FLAG, NULL, "do not ask (hull never asks; accepted for podman compatibility)" },
        {},
};

/* `run` and `create` share their options (cmd-run.c reads them into a runspec). */
#define OPTS_CREATE                                                                                                \
        { "name", 0, OPT_VALUE, "NAME", "name the container (default: a generated adjective_noun)" },             \
        { "interactive", 'i', OPT_FLAG, NULL, "keep the container's stdin open and connected" },                   \
        { "tty", 't', OPT_FLAG, NULL, "give the container a pseudo-terminal" },                                    \
        { "rm", 0, OPT_FLAG, NULL, "remove the container (and its anonymous volumes) when it exits" },            \
        { "env", 'e', OPT_MULTI, "KEY=VALUE", "set an environment variable (KEY alone: take its value from here)" }, \
        { "env-file", 0, OPT_MULTI, "FILE", "read KEY=VALUE lines from FILE" },                                    \
        { "volume", 'v', OPT_MULTI, "[SRC:]DST[:OPTS]", "bind mount SRC (a path) or mount volume SRC (a name) at DST; ro, rw, nocopy, propagation" }, \
        { "mount", 0, OPT_MULTI, "type=TYPE,...", "mount: type=bind|volume|tmpfs,source=,target=,readonly,bind-propagation=,tmpfs-size=,tmpfs-mode=" }, \
        { "tmpfs", 0, OPT_MULTI, "DST[:OPTS]", "mount a tmpfs at DST (options as mount(8): size=64m,mode=1777...)" }, \
        { "workdir", 'w', OPT_VALUE, "DIR", "working directory of the process (default: the image's)" },           \
        { "user", 'u', OPT_VALUE, "USER[:GROUP]", "run as this user: a name from the image's /etc/passwd or a uid" }, \
        { "entrypoint", 0, OPT_VALUE, "CMD", "replace the image's ENTRYPOINT (a program, or a JSON array); clears its CMD" }, \
        { "restart", 0, OPT_VALUE, "POLICY", "no (default), on-failure[:N], always, unless-stopped" },              \
        { "memory", 'm', OPT_VALUE, "SIZE", "memory limit (e.g. 512m, 1g)" },                                      \
        { "memory-swap", 0, OPT_VALUE, "SIZE", "memory plus swap limit (-1: unlimited; default twice --memory)" },  \
        { "memory-reservation", 0, OPT_VALUE, "SIZE", "soft memory limit" },                                       \
        { "cpus", 0, OPT_VALUE, "N", "CPU time limit in CPUs (e.g. 1.5)" },                                        \
        { "cpu-shares", 'c', OPT_VALUE, "N", "relative CPU weight (default 1024)" },                               \
        { "cpuset-cpus", 0, OPT_VALUE, "LIST", "CPUs the container may use (e.g. 0-1)" },                          \
        { "pids-limit", 0, OPT_VALUE, "N", "most processes at once (-1: unlimited)" },                             \
        { "shm-size", 0, OPT_VALUE, "SIZE", "size of /dev/shm (default 64m)" },                                    \
        { "ulimit", 0, OPT_MULTI, "NAME=SOFT[:HARD]", "set a resource limit (nofile, nproc, core...)" },            \
        { "cap-add", 0, OPT_MULTI, "CAP", "add a capability (ALL for every one)" },                                \
        { "cap-drop", 0, OPT_MULTI, "CAP", "drop a capability (ALL for every one)" },                              \
        { "privileged", 0, OPT_FLAG, NULL, "every capability, the host's devices, no seccomp, no masked paths" },   \
        { "read-only", 0, OPT_FLAG, NULL, "mount the root file system read-only" },                                \
        { "security-opt", 0, OPT_MULTI, "OPT", "seccomp=FILE|unconfined, no-new-privileges" },                     \
        { "hostname", 'h', OPT_VALUE, "NAME", "the container's host name (default: the first 12 digits of its id)" }, \
        { "label", 'l', OPT_MULTI, "KEY=VALUE", "set a label (also an OCI annotation)" },                          \
        { "health-cmd", 0, OPT_VALUE, "CMD", "health check command, run with /bin/sh -c in the container" },      \
        { "health-interval", 0, OPT_VALUE, "DURATION", "time between health checks (default 30s)" },               \
        { "health-timeout", 0, OPT_VALUE, "DURATION", "time a check may take (default 30s)" },                     \
        { "health-retries", 0, OPT_VALUE, "N", "failures in a row before unhealthy (default 3)" },                 \
        { "health-start-period", 0, OPT_VALUE, "DURATION", "time during which failures do not count" },            \
        { "no-healthcheck", 0, OPT_FLAG, NULL, "disable the image's health check" },                               \
        { "network", 0, OPT_MULTI, "NETWORK", "a network NAME (default: the network 'hull'), none, host, container:ID" }, \
        { "isolation", 0, OPT_VALUE, "MODE", "container (default) or vm: a microVM of its own" }, \
        { "ip", 0, OPT_VALUE, "IPV4", "the container's IPv4 address on its first network" },                       \
        { "ip6", 0, OPT_VALUE, "IPV6", "the container's IPv6 address on its first network" },                      \
        { "mac-address", 0, OPT_VALUE, "MAC", "the MAC address of its interface on its first network" },            \
        { "network-alias", 0, OPT_MULTI, "NAME", "another DNS name of the container on its networks" },              \
        { "publish", 'p', OPT_MULTI, "[IP:][HOSTPORT:]PORT[/PROTO]", "publish a port (ranges: 8000-8010:80-90/udp)" }, \
        { "publish-all", 'P', OPT_FLAG, NULL, "publish the image's EXPOSEd ports on free host ports" },             \
        { "dns", 0, OPT_MULTI, "IP", "a DNS server for the container (replaces the host's)" },                      \
        { "dns-search", 0, OPT_MULTI, "DOMAIN", "a DNS search domain" },                                            \
        { "dns-option", 0, OPT_MULTI, "OPT", "a resolv.conf option (ndots:2...)" },                                 \
        { "egress", 0, OPT_MULTI, "RULE", "outbound policy: allow|deny=all|tcp|udp|icmp[:PORT[-PORT]][@CIDR]; first match wins" }, \
        { "ingress", 0, OPT_MULTI, "RULE", "inbound policy, same rules (ports are the container's)" },              \
        { "stop-signal", 0, OPT_VALUE, "SIGNAL", "signal that stops the container (default: the image's, or SIGTERM)" }, \
        { "stop-timeout", 0, OPT_VALUE, "SECONDS", "time stop waits before SIGKILL (default 10)" },               \
        { "add-host", 0, OPT_MULTI, "HOST:IP", "add a line to /etc/hosts (IP host-gateway: the network's gateway)" }, \
        { "log-opt", 0, OPT_MULTI, "OPT", "json-file log options: max-size=SIZE, max-file=N" },                    \
        { "pull", 0, OPT_VALUE, "POLICY", "missing (default): pull the image when the store lacks it; never" },    \
        OPT_TLS

static const struct cmd_option run_opts[] = {
        OPTS_CREATE,
        { "detach", 'd', OPT_FLAG, NULL, "run in the background and print the container id" },
        { "sig-proxy", 0, OPT_BOOL, "BOOL", "pass signals received by hull to the container (default true)" },
        {},
};
static const struct cmd_option create_opts[] = { OPTS_CREATE, {} };
static const struct cmd_option start_opts[] = {
        { "attach", 'a', OPT_FLAG, NULL, "attach to the container's output and wait for its exit" },
        { "interactive", 'i', OPT_FLAG, NULL, "also connect stdin (with --attach)" },
        {},
};
static const struct cmd_option stop_opts[] = {
        { "time", 't', OPT_VALUE, "SECONDS", "wait this long before SIGKILL (default: --stop-timeout, or 10)" },
        { "all", 'a', OPT_FLAG, NULL, "stop every running container" },
        {},
};
static const struct cmd_option restart_opts[] = {
        { "time", 't', OPT_VALUE, "SECONDS", "wait this long before SIGKILL (default: --stop-timeout, or 10)" },
        {},
};
static const struct cmd_option kill_opts[] = {
        { "signal", 's', OPT_VALUE, "SIGNAL", "signal to send (default KILL)" },
        {},
};
static const struct cmd_option rm_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "kill running containers first; ignore missing ones" },
        { "volumes", 'v', OPT_FLAG, NULL, "also remove the containers' anonymous volumes" },
        { "all", 'a', OPT_FLAG, NULL, "remove every container" },
        {},
};
static const struct cmd_option ps_opts[] = {
        { "all", 'a', OPT_FLAG, NULL, "show every container (default: running ones)" },
        { "quiet", 'q', OPT_FLAG, NULL, "print container ids only" },
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template like '{{.Names}} {{.Status}}'" },
        { "filter", 'f', OPT_MULTI, "KEY=VALUE", "name=, id=, label=KEY[=VALUE], status=, ancestor=" },
        { "noheading", 'n', OPT_FLAG, NULL, "do not print the heading of the table" },
        { "no-trunc", 0, OPT_FLAG, NULL, "show full ids and commands" },
        { "all-kinds", 0, OPT_FLAG, NULL, "list VMs too, with a KIND column" },
        { "kind", 0, OPT_VALUE, "KIND", "list only this kind of workload: container (default) or vm" },
        {},
};
static const struct cmd_option logs_opts[] = {
        { "follow", 'f', OPT_FLAG, NULL, "keep printing new output until the container stops" },
        { "tail", 0, OPT_VALUE, "N", "print only the last N lines (default all)" },
        { "timestamps", 't', OPT_FLAG, NULL, "prefix each line with its time (RFC 3339, nanoseconds)" },
        { "since", 0, OPT_VALUE, "TIME", "lines at or after TIME (RFC 3339, or a duration such as 10m)" },
        { "until", 0, OPT_VALUE, "TIME", "lines before TIME (RFC 3339, or a duration such as 10m)" },
        {},
};
static const struct cmd_option exec_opts[] = {
        { "interactive", 'i', OPT_FLAG, NULL, "keep stdin connected" },
        { "tty", 't', OPT_FLAG, NULL, "give the process a pseudo-terminal" },
        { "detach", 'd', OPT_FLAG, NULL, "run in the background" },
        { "user", 'u', OPT_VALUE, "USER[:GROUP]", "run as this user (default: the container's)" },
        { "workdir", 'w', OPT_VALUE, "DIR", "working directory (default: the container's)" },
        { "env", 'e', OPT_MULTI, "KEY=VALUE", "set an environment variable" },
        {},
};
static const struct cmd_option attach_opts[] = {
        { "no-stdin", 0, OPT_FLAG, NULL, "do not connect stdin" },
        { "sig-proxy", 0, OPT_BOOL, "BOOL", "pass signals received by hull to the container (default true)" },
        {},
};
static const struct cmd_option any_inspect_opts[] = {
        { "format", 'f', OPT_VALUE, "FORMAT", "json (default) or a template like '{{.State.Status}}'" },
        { "type", 0, OPT_VALUE, "TYPE", "container, image, volume or all (default)" },
        {},
};
static const struct cmd_option stats_opts[] = {
        { "no-stream", 0, OPT_FLAG, NULL, "print one sample and exit" },
        { "all", 'a', OPT_FLAG, NULL, "accepted for podman compatibility (only running containers have usage)" },
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template like '{{.Name}} {{.CPUPerc}}'" },
        { "interval", 'i', OPT_VALUE, "SECONDS", "time between samples when streaming (default 1)" },
        {},
};
static const struct cmd_option cp_opts[] = {
        { "archive", 'a', OPT_FLAG, NULL, "keep the files' owners (default: owned by root)" },
        {},
};
static const struct cmd_option force_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "do not ask (hull never asks; accepted for podman compatibility)" },
        {},
};
static const struct cmd_option volume_create_opts[] = {
        { "label", 'l', OPT_MULTI, "KEY=VALUE", "set a label" },
        { "driver", 'd', OPT_VALUE, "DRIVER", "local (the only driver)" },
        {},
};
static const struct cmd_option volume_ls_opts[] = {
        { "quiet", 'q', OPT_FLAG, NULL, "print volume names only" },
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template like '{{.Name}}'" },
        { "noheading", 'n', OPT_FLAG, NULL, "do not print the heading of the table" },
        {},
};
static const struct cmd_option volume_rm_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "remove the containers using the volume first; ignore missing volumes" },
        {},
};
static const struct cmd_option build_opts[] = {
        { "tag", 't', OPT_MULTI, "NAME", "name the image NAME" },
        { "file", 'f', OPT_VALUE, "FILE", "the Dockerfile (default CONTEXT/Dockerfile; '-' reads stdin)" },
        { "build-arg", 0, OPT_MULTI, "NAME[=VALUE]", "set a build argument (without a value: from the environment)" },
        { "target", 0, OPT_VALUE, "STAGE", "build up to this stage and name it" },
        { "no-cache", 0, OPT_FLAG, NULL, "run every step instead of reusing cached results" },
        { "quiet", 'q', OPT_FLAG, NULL, "print nothing but the image id" },
        {},
};
static const struct cmd_option network_create_opts[] = {
        { "subnet", 0, OPT_MULTI, "CIDR", "the IPv4 (or IPv6) subnet (default: a free /24 of 10.89.0.0-10.99.255.0)" },
        { "gateway", 0, OPT_VALUE, "IP", "the bridge's address (default: the subnet's first host)" },
        { "ip-range", 0, OPT_VALUE, "CIDR", "give containers addresses from this part of the subnet only" },
        { "ipv6", 0, OPT_FLAG, NULL, "also an IPv6 subnet (default: a /64 of the node's ULA prefix)" },
        { "internal", 0, OPT_FLAG, NULL, "no way out: no route, no NAT, no access to the host's services" },
        { "opt", 'o', OPT_MULTI, "KEY=VALUE", "mtu=N, bridge=NAME (the bridge's name), dns=false" },
        { "disable-dns", 0, OPT_FLAG, NULL, "no DNS responder (containers do not resolve each other's names)" },
        { "driver", 'd', OPT_VALUE, "DRIVER", "bridge (the only driver)" },
        { "egress", 0, OPT_MULTI, "RULE", "outbound policy of every container of the network (see run --egress)" },
        { "ingress", 0, OPT_MULTI, "RULE", "inbound policy of every container of the network" },
        {},
};
static const struct cmd_option network_ls_opts[] = {
        { "quiet", 'q', OPT_FLAG, NULL, "print network names only" },
        { "format", 0, OPT_VALUE, "FORMAT", "table (default), json, or a template like '{{.Name}} {{.Subnets}}'" },
        { "noheading", 'n', OPT_FLAG, NULL, "do not print the heading of the table" },
        {},
};
static const struct cmd_option network_rm_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "remove the containers on the network first; ignore missing networks" },
        {},
};
static const struct cmd_option network_connect_opts[] = {
        { "ip", 0, OPT_VALUE, "IPV4", "the container's IPv4 address on the network" },
        { "ip6", 0, OPT_VALUE, "IPV6", "the container's IPv6 address on the network" },
        { "mac-address", 0, OPT_VALUE, "MAC", "the MAC address of its interface" },
        { "alias", 0, OPT_MULTI, "NAME", "another DNS name of the container on the network" },
        {},
};
static const struct cmd_option network_disconnect_opts[] = {
        { "force", 'f', OPT_FLAG, NULL, "also when the container is not attached" },
        {},
};
static const struct cmd_option no_opts[] = { {} };

const struct cmd cmd_table[] = {
        { "pull", pull_aliases, TRANSFER(cmd_pull), CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_TRANSFER, 1, 1, "IMAGE",
          "copy an image from a registry into the store",
          "Fetches IMAGE (e.g. busybox, docker.io/library/busybox:1.36, localhost:5000/app@sha256:...) over the OCI\n"
          "distribution protocol. From a multi-architecture index the linux image of this machine's architecture\n"
          "is chosen. Every blob is verified against its digest as it arrives and again before it is unpacked;\n"
          "layers the store already has are not fetched again. When the signature policy demands a signature\n"
          "for the repository, the image is refused unless a valid one is found (see `hull image sign`).\n"
          "Registry credentials: --creds, else $HULL_REGISTRY_CREDS. Prints the image id.",
          pull_opts },
        { "push", push_aliases, TRANSFER(cmd_push), CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_TRANSFER, 1, 2, "IMAGE [DESTINATION]",
          "copy an image from the store to a registry",
          "Uploads the layers, config and manifest of IMAGE to DESTINATION (default: IMAGE's own name). Blobs the\n"
          "registry already has are skipped, and mounted from the source repository when it is on the same\n"
          "registry. The manifest is pushed as stored, so the digest does not change.",
          push_opts },
        { "load", load_aliases, TRANSFER(cmd_load), CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_TRANSFER, 0, 0, "",
          "load images from a docker-archive or oci-archive tarball or an OCI layout directory",
          "Reads a tarball written by `hull save`, `podman save`, `docker save` or `skopeo copy` (plain or\n"
          "compressed), or an OCI image layout directory. Each image is stored whole or not at all.",
          load_opts },
        { "save", save_aliases, TRANSFER(cmd_save), CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_TRANSFER, 1, -1, "IMAGE [IMAGE...]",
          "write images to a tarball or an OCI layout directory",
          "Writes the images in docker-archive format (loadable by docker, podman and hull), oci-archive or\n"
          "oci-dir. Blob digests are verified while they are written; on failure no partial file is left.",
          save_opts },
        { "import", import_aliases, TRANSFER(cmd_import), CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_TRANSFER, 1, 2, "TARBALL [NAME]",
          "create an image from a root file system tarball",
          "Makes a one-layer image of TARBALL (plain, gzip, xz or zstd compressed; '-' reads stdin) and names it\n"
          "NAME. --change sets config fields with Dockerfile syntax, e.g. --change 'CMD [\"/bin/sh\"]'.",
          import_opts },
        { "images", image_ls_aliases, cmd_images, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 0, 1, "[NAME]",
          "list the images in the store",
          "Lists every image with its names, or those whose repository is NAME. Columns: REPOSITORY, TAG,\n"
          "IMAGE ID, CREATED, SIZE (unpacked). Template fields: ID, Repository, Tag, Digest, Created, Size.",
          images_opts },
        { "rmi", rmi_aliases, cmd_rmi, CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_NEEDS_ENGINE, 0, -1, "IMAGE [IMAGE...]",
          "remove images",
          "Removing a name removes that name; the image goes with its last name. An image id with several\n"
          "names is only removed with --force. Layers no other image uses are deleted.",
          rmi_opts },
        { "tag", tag_aliases, cmd_tag, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 2, -1, "IMAGE NAME [NAME...]",
          "add names to an image", "Points each NAME (normalised, e.g. 'app' is docker.io/library/app:latest) at IMAGE.",
          no_opts },
        { "run", run_aliases, cmd_run, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_STOP_AT_ARGS | CMD_WORKLOAD_EXIT, 1, -1, "IMAGE [COMMAND [ARG...]]",
          "run a command in a new container",
          "Creates a container from IMAGE (pulled first when the store lacks it, unless --pull never) and starts\n"
          "it. In the foreground, hull passes stdin (-i), the terminal (-t) and signals through and exits with\n"
          "the container's status; the output is also recorded in the container's json-file log (`hull logs`),\n"
          "and `hull ps`, `stop`, `inspect` work from another shell meanwhile. With -d it prints the id and\n"
          "returns while the container runs: a small monitor process (hull-monitor) holds its stdio, writes its\n"
          "log, applies --restart and the health check, and records the exit.\n\n"
          "Containers are unprivileged by default: Docker's default capabilities, hull's seccomp profile\n"
          "(EPERM for system calls ordinary programs do not need), masked and read-only /proc and /sys paths,\n"
          "a private network namespace. Options after IMAGE belong to COMMAND. With -t, the sequence ctrl-p\n"
          "ctrl-q detaches and leaves the container running.\n\n"
          "Networks: without --network the container is on the default network 'hull' (10.88.0.0/16, outbound\n"
          "NAT); --network NAME puts it on networks made by `hull network create`, where containers also\n"
          "resolve each other's names and --network-alias; none gives it loopback only, host the host's\n"
          "network, container:ID another container's. -p publishes ports on the host's addresses (reachable\n"
          "from other hosts, other containers and the host's loopback); --egress/--ingress restrict what\n"
          "it may open and accept (the network's own lists apply too).\n\n"
          "Exit status: the container's own; 125 when hull failed (bad option, name in use, missing image),\n"
          "126 when COMMAND could not be executed, 127 when it was not found.",
          run_opts },
        { "create", create_aliases, cmd_create, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_STOP_AT_ARGS, 1, -1, "IMAGE [COMMAND [ARG...]]",
          "create a container without starting it",
          "Takes the options of `hull run` (but -d, --sig-proxy), records the container and prints its id.\n"
          "Nothing is mounted or started until `hull start`. A name in use or a missing image fails with\n"
          "one line and leaves nothing behind.",
          create_opts },
        { "start", start_aliases, cmd_start, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_WORKLOAD_EXIT, 1, -1, "CONTAINER [CONTAINER...]",
          "start created or stopped containers",
          "Mounts each container's root file system, writes its OCI configuration and starts it under a new\n"
          "monitor. Prints each name. With --attach (one container), waits for it as `hull run` does and exits\n"
          "with its status.",
          start_opts },
        { "stop", stop_aliases, cmd_stop, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, -1, "CONTAINER [CONTAINER...]", "stop running containers",
          "Sends the stop signal (--stop-signal, else the image's STOPSIGNAL, else SIGTERM), waits --time\n"
          "seconds, then sends SIGKILL. A stopped container is not restarted by its restart policy.",
          stop_opts },
        { "restart", restart_aliases, cmd_restart, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "CONTAINER [CONTAINER...]", "stop and start containers",
          "Stops each container as `hull stop` does (when it runs) and starts it again.", restart_opts },
        { "kill", kill_aliases, cmd_kill, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "CONTAINER [CONTAINER...]", "send a signal to containers",
          "Sends --signal (default KILL) to each container's main process. Killing with KILL or the stop signal\n"
          "counts as a stop: the restart policy does not restart the container.",
          kill_opts },
        { "rm", rm_aliases, cmd_rm, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, -1, "CONTAINER [CONTAINER...]", "remove containers",
          "Removes stopped containers: their directory, log and record. --force kills running ones first. The\n"
          "containers' named volumes stay; their anonymous volumes go with --volumes.",
          rm_opts },
        { "ps", ps_aliases, cmd_ps, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 0, "", "list containers",
          "Lists running containers (all with --all), newest first. Columns: CONTAINER ID, IMAGE, COMMAND,\n"
          "CREATED, STATUS, NAMES. Template fields: ID, Image, ImageID, Command, Created, CreatedAt, Status,\n"
          "State, Names, Labels, ExitCode, Pid, RestartCount, Health. A container whose monitor died is\n"
          "found and repaired on the way.",
          ps_opts },
        { "logs", logs_aliases, cmd_logs, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, 1, "CONTAINER", "print a container's output",
          "Prints what the container wrote to stdout (to stdout) and stderr (to stderr), from its json-file log\n"
          "(rotated files included).",
          logs_opts },
        { "exec", exec_aliases, cmd_exec, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_STOP_AT_ARGS | CMD_WORKLOAD_EXIT, 2, -1,
          "CONTAINER COMMAND [ARG...]", "run a command in a running container",
          "Runs COMMAND with the container's environment, user, capabilities and security settings, changed by\n"
          "the options.\n\n"
          "Exit status: COMMAND's; 126 when it could not be executed, 127 when it was not found, 125 when hull\n"
          "failed.",
          exec_opts },
        { "attach", attach_aliases, cmd_attach, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_WORKLOAD_EXIT, 1, 1, "CONTAINER",
          "attach to a running container's input and output",
          "Prints the container's output as it comes and passes stdin (when the container was started with -i)\n"
          "until it exits. With a terminal, ctrl-p ctrl-q detaches.",
          attach_opts },
        { "inspect", NULL, cmd_inspect_any, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "NAME [NAME...]",
          "show the details of containers, images or volumes as JSON",
          "Looks each NAME up as a container, then an image, then a volume (or only as --type says) and prints\n"
          "a JSON array of their documents, as podman's inspect does.",
          any_inspect_opts },
        { "container inspect", NULL, cmd_container_inspect, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "CONTAINER [CONTAINER...]",
          "show the details of containers as JSON",
          "Fields: Id, Name, Created, Path, Args, State (Status, Running, Paused, Restarting, OOMKilled, Pid,\n"
          "ExitCode, Error, StartedAt, FinishedAt, Health), Image, ImageName, Config, HostConfig, Mounts,\n"
          "RestartCount, LogPath, HullSpec (the options the container was created with).",
          inspect_opts },
        { "top", top_aliases, cmd_top, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "CONTAINER [DESCRIPTOR...]",
          "list the processes of a container",
          "Default columns: USER (from the container's /etc/passwd), PID, PPID (in the container's pid namespace),\n"
          "%CPU, ELAPSED, TTY, TIME, COMMAND. Descriptors (podman's): user, pid, ppid, pcpu, etime, tty, time,\n"
          "args, comm, group, nice, vsz, state, and hpid, hppid, huser, hgroup for the host's view.",
          no_opts },
        { "stats", stats_aliases, cmd_stats, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, -1, "[CONTAINER...]", "show resource usage of containers",
          "Samples the cgroups of running containers (all of them without arguments): CPU %, memory use and\n"
          "limit, network and block I/O, processes. Streams until interrupted unless --no-stream. Template\n"
          "fields: ID, Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs.",
          stats_opts },
        { "wait", wait_aliases, cmd_wait, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "CONTAINER [CONTAINER...]", "wait for containers to stop",
          "Blocks until each container has stopped and prints its exit code.", no_opts },
        { "cp", cp_aliases, cmd_cp, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 2, 2, "SRC DEST", "copy files between a container and the host",
          "One of SRC and DEST is CONTAINER:PATH. A directory is copied whole; SRC ending in /. copies its\n"
          "contents; an existing directory DEST receives SRC under its own name (docker cp's rules). Works on\n"
          "running and stopped containers; symlinks in the container never lead outside it. \"-\" as the host\n"
          "side is a tar stream: SRC written to stdout, or stdin unpacked into the directory DEST.",
          cp_opts },
        { "pause", pause_aliases, cmd_pause, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "CONTAINER [CONTAINER...]",
          "freeze every process of containers", "Uses the cgroup freezer.", no_opts },
        { "unpause", unpause_aliases, cmd_unpause, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "CONTAINER [CONTAINER...]",
          "thaw paused containers", "", no_opts },
        { "rename", rename_aliases, cmd_rename, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 2, 2, "CONTAINER NAME", "rename a container", "", no_opts },
        { "container prune", NULL, cmd_container_prune, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 0, "", "remove every stopped container",
          "Removes created and exited containers (with their anonymous volumes) and prints their ids.",
          force_opts },
        { "container cleanup", NULL, cmd_container_cleanup, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_HIDDEN, 1, 1, "CONTAINER",
          "(internal) finish a container that ended", "Run by hull-monitor for containers started with --rm.",
          no_opts },
        /* Virtual machines (src/engine/vm.h) and disk images (src/engine/vm-disk.h). */
        { "vm create", NULL, cmd_vm_create, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_STOP_AT_ARGS, 0, -1, "[IMAGE [CMD...]]",
          "create a VM from an image, a kernel or a bootable disk",
          "An image VM boots the guest kernel with hull's guest init, which mounts the image's layers (an ext4\n"
          "disk made once per image) as its root, applies the first-boot config (--hostname, --ssh-key, --ip,\n"
          "--user-data...) and runs CMD (default: the image's ENTRYPOINT and CMD, or /sbin/init) as the VM's main\n"
          "process; the VM powers off when it ends. --kernel boots a kernel of your own, --boot-disk a disk\n"
          "through firmware (QEMU). Prints the VM's id.",
          vm_create_opts },
        { "vm run", NULL, cmd_vm_run, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_STOP_AT_ARGS | CMD_WORKLOAD_EXIT, 0, -1,
          "[IMAGE [CMD...]]", "create and start a VM, and stay on its console",
          "As `vm create` then `vm start -a`: prints the console until the VM ends and exits with its main\n"
          "process's status. One line on stderr says which VMM runs it and why. Ctrl-C presses the power\n"
          "button (twice: kills it).",
          vm_run_opts },
        { "vm start", NULL, cmd_vm_start, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_WORKLOAD_EXIT, 1, -1, "VM [VM...]",
          "start VMs", "Starts each VM under its monitor; with --attach, stays on the console.", vm_start_opts },
        { "vm stop", NULL, cmd_vm_stop, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VM [VM...]", "stop VMs",
          "Presses the ACPI power button, then kills the VMM after --time seconds. No restart follows.",
          vm_stop_opts },
        { "vm kill", NULL, cmd_vm_kill, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VM [VM...]",
          "send a signal to the VMM of VMs", "SIGKILL (default) ends the VM at once. No restart follows.",
          vm_kill_opts },
        { "vm rm", NULL, cmd_vm_rm, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VM [VM...]", "remove VMs",
          "Removes stopped VMs (--force: kills running ones first) with their root overlay and config disk.\n"
          "Disks given with --disk and volumes stay, for a new VM to take over.",
          vm_rm_opts },
        { "vm ls", NULL, cmd_vm_ls, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 0, "", "list VMs",
          "Lists running VMs (--all: every one). `hull ps --all-kinds` lists containers and VMs together.",
          vm_ls_opts },
        { "vm inspect", NULL, cmd_vm_inspect, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VM [VM...]",
          "show VMs as JSON", "State, the VMM chosen and why (Vmm.Reason), its command line, the spec.", no_opts },
        { "vm pause", NULL, cmd_vm_pause, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VM [VM...]",
          "pause the vCPUs of VMs", "Through the VMM's control socket.", no_opts },
        { "vm unpause", NULL, cmd_vm_unpause, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VM [VM...]",
          "resume paused VMs", "Through the VMM's control socket.", no_opts },
        { "vm console", NULL, cmd_vm_console, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, 1, "VM",
          "attach to the serial console of a running VM", "Ctrl-] detaches; the VM goes on.", no_opts },
        { "vm logs", NULL, cmd_vm_logs, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, 1, "VM",
          "print what a VM wrote on its console", "Every boot's console output, in order.", vm_logs_opts },
        { "vm exec", NULL, cmd_vm_exec, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_STOP_AT_ARGS | CMD_WORKLOAD_EXIT, 2, -1,
          "VM CMD [ARG...]", "run a process in a running image VM",
          "Through hull's guest init (the VM's second serial port with QEMU, vsock with hull-vmm); waits for\n"
          "the guest to boot. Exits with the process's status; 126/127 when it could not run.",
          vm_exec_opts },
        { "vm cleanup", NULL, cmd_vm_cleanup, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE | CMD_HIDDEN, 1, 1, "ID",
          "(internal) detach a VM whose run is over", "Run by the VM's monitor at its end.", NULL },
        { "vm monitor", NULL, cmd_vm_monitor, CMD_NEEDS_ROOT | CMD_HIDDEN, 1, 1, "DIR",
          "(internal) the monitor of one VM", "Started by vm start in the VM's directory.", vm_monitor_opts },
        { "disk create", NULL, cmd_disk_create, 0, 1, 1, "PATH", "create a disk image",
          "Formats: raw (sparse), qcow2 (version 3, 64 KiB clusters, optionally over --backing), vhd (dynamic, or\n"
          "--fixed). Images are what qemu-img makes and reads.",
          disk_create_opts },
        { "disk convert", NULL, cmd_disk_convert, 0, 2, 2, "SOURCE DESTINATION", "copy a disk image into another format",
          "Copies the virtual disk; blocks of zeros are not written, so the new image stays sparse.",
          disk_convert_opts },
        { "disk inspect", NULL, cmd_disk_inspect, 0, 1, 1, "PATH", "show a disk image's format and sizes",
          "As qemu-img info (--format json uses its field names).", disk_inspect_opts },
        { "disk resize", NULL, cmd_disk_resize, 0, 2, 2, "PATH SIZE", "change a disk image's virtual size",
          "SIZE is absolute, or relative with + or -. Shrinking needs --shrink. The file system inside is not\n"
          "changed (grow it from the guest).",
          disk_resize_opts },
        { "volume create", NULL, cmd_volume_create, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 1, "[NAME]", "create a volume",
          "Creates a named volume on local disk (a generated name when NAME is missing) and prints its name.\n"
          "Its data outlives every container that mounts it (-v NAME:/path).",
          volume_create_opts },
        { "volume ls", volume_ls_aliases, cmd_volume_ls, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 0, "", "list volumes",
          "Columns: DRIVER, VOLUME NAME. Template fields: Name, Driver, Mountpoint, CreatedAt, Labels, Anonymous.",
          volume_ls_opts },
        { "volume inspect", NULL, cmd_volume_inspect, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VOLUME [VOLUME...]",
          "show the details of volumes as JSON", "Fields: Name, Driver, Mountpoint, CreatedAt, Labels, Scope, UsedBy.",
          inspect_opts },
        { "volume rm", volume_rm_aliases, cmd_volume_rm, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "VOLUME [VOLUME...]", "remove volumes",
          "A volume that a container uses is refused, unless --force, which removes those containers first.",
          volume_rm_opts },
        { "volume prune", NULL, cmd_volume_prune, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 0, "", "remove every volume no container uses",
          "Prints the names of the removed volumes.", force_opts },
        { "network create", NULL, cmd_network_create, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, 1, "NAME", "create a network",
          "Makes a bridge (hb-<id>, or --opt bridge=NAME) with the gateway address, an address pool, outbound NAT\n"
          "(none with --internal) and, unless --disable-dns, a DNS responder on the gateway through which the\n"
          "network's containers resolve each other by name and alias (other names go to the host's resolvers).\n"
          "Networks cannot reach each other; published ports are the way in. A subnet that overlaps another\n"
          "network's is refused. --egress and --ingress apply to every container of the network, on top of the\n"
          "container's own lists. Prints the name.",
          network_create_opts },
        { "network ls", network_ls_aliases, cmd_network_ls, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 0, "", "list networks",
          "Columns: NETWORK ID, NAME, DRIVER. Template fields: ID, Name, Driver, Subnets, Internal. --format json\n"
          "prints the inspect document of each network.",
          network_ls_opts },
        { "network inspect", NULL, cmd_network_inspect, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "NETWORK [NETWORK...]",
          "show the details of networks as JSON",
          "Fields (podman's): name, id, driver, network_interface, created, subnets (subnet, gateway, ip_range),\n"
          "ipv6_enabled, internal, dns_enabled, options, ipam_options, containers (by id: name, interfaces with\n"
          "their addresses and MAC, aliases, ports, egress, ingress); hull's: mtu, egress, ingress, policy_scope\n"
          "(\"routed\" when containers of one network are not filtered between themselves: no br_netfilter).",
          inspect_opts },
        { "network rm", network_rm_aliases, cmd_network_rm, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, -1, "NETWORK [NETWORK...]",
          "remove networks",
          "Removes the bridge, rules, address pool and DNS responder. A network that a container uses (running\n"
          "or not) is refused unless --force, which removes those containers first. The default network stays.",
          network_rm_opts },
        { "network prune", NULL, cmd_network_prune, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 0, 0, "",
          "remove every network no container uses",
          "First reclaims what killed processes left (endpoints, addresses, rules, links of containers that are\n"
          "gone), then removes the networks that no container names. Prints their names.",
          force_opts },
        { "network connect", NULL, cmd_network_connect, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 2, 2, "NETWORK CONTAINER",
          "connect a container to a network",
          "A running container gets a new interface (eth1, eth2...) on the network at once; a stopped one at its\n"
          "next start. The network is kept in the container's options: it is attached again at every start.",
          network_connect_opts },
        { "network disconnect", NULL, cmd_network_disconnect, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 2, 2, "NETWORK CONTAINER",
          "disconnect a container from a network",
          "Removes the container's interface, address, name and published ports on the network.",
          network_disconnect_opts },
        { "port", port_aliases, cmd_port, CMD_NEEDS_ROOT | CMD_NEEDS_ENGINE, 1, 2, "CONTAINER [PORT[/PROTO]]",
          "list the published ports of a container",
          "Prints each published port as \"80/tcp -> 0.0.0.0:8080\", or with PORT the host address and port it is\n"
          "published on.",
          no_opts },
        { "image inspect", NULL, cmd_inspect, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, -1, "IMAGE [IMAGE...]",
          "show the details of images as JSON",
          "Prints a JSON array with, for each image: Id, Digest, RepoTags, RepoDigests, Created, Architecture, Os,\n"
          "Size, Config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, StopSignal, Healthcheck,\n"
          "Labels), RootFS, History and the stored Manifest.",
          inspect_opts },
        { "history", history_aliases, cmd_history, CMD_NEEDS_ROOT | CMD_NEEDS_STORE, 1, 1, "IMAGE",
          "show how an image was built", "Lists the history entries of IMAGE's config, newest first.",
          history_opts },
        { "image prune", NULL, cmd_image_prune, CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_NEEDS_ENGINE, 0, 0, "",
          "remove unused images and collect garbage",
          "Removes unnamed images (all images with --all), then deletes layers and blobs that no image\n"
          "references and what interrupted imports left behind.",
          prune_opts },
        { "image sign", NULL, TRANSFER(cmd_image_sign), CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_TRANSFER, 1, 1, "IMAGE",
          "sign an image in a registry",
          "Signs the manifest digest of IMAGE as the registry serves it with --key and uploads the signature\n"
          "next to it, under the tag sha256-<hex>.sig (format: docs/image-signing.md). A pull checks it when\n"
          "/etc/hull/policy.json (or --policy) demands signatures for the repository.",
          sign_opts },
        { "build", NULL, TRANSFER(cmd_build), CMD_NEEDS_ROOT | CMD_NEEDS_STORE | CMD_TRANSFER, 1, 1, "CONTEXT",
          "build an image from a Dockerfile",
          "Runs the Dockerfile (CONTEXT/Dockerfile, or --file) on the directory CONTEXT: FROM (multi-stage, AS),\n"
          "RUN (in a hull-runtime container, on the host's network), COPY (also --from a stage or image, --chown,\n"
          "--chmod), ADD (local files; tar archives are unpacked), ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT,\n"
          "EXPOSE, LABEL, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL. Files matched by CONTEXT/.dockerignore are left\n"
          "out. Each step is cached under a key of its instruction and inputs (build args it sees, the content of\n"
          "the files it copies): a rebuild of unchanged input runs nothing and gives the same image. Cached\n"
          "layers are kept as unnamed images until `hull image prune`. Steps and RUN output go to stderr, the\n"
          "image id to stdout.",
          build_opts },
        { "completion", NULL, cmd_completion, 0, 1, 1, "bash", "print a shell completion script",
          "Prints a bash completion script generated from the command table: source it, or install it as\n"
          "/usr/share/bash-completion/completions/hull.",
          no_opts },
        { "help", NULL, cmd_help, 0, 0, 1, "[COMMAND]", "show help for hull or a command", "", no_opts },
        { "version", NULL, cmd_version, 0, 0, 0, "", "print the version", "", no_opts },
};
const size_t cmd_table_size = ELEMENTSOF(cmd_table);

static const struct cmd_option global_opts[] = {
        { "root", 0, OPT_VALUE, "DIR", "store root (default $HULL_ROOT or " DEFAULT_ROOT ")" },
        { "log-level", 0, OPT_VALUE, "LEVEL", "error, warning (default), info or debug" },
        { "help", 'h', OPT_FLAG, NULL, "show this help" },
        {},
};

int cmd_fail(int r, const char *fmt, ...)
{
        char ctx[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        fprintf(stderr, "hull: %s: %s\n", ctx, err_msg(r));
        return r;
}

static int opt_index(const struct cmd *cmd, const char *name)
{
        for (int i = 0; cmd->options && cmd->options[i].name; i++)
                if (streq(cmd->options[i].name, name))
                        return i;
        fprintf(stderr, "hull: internal error: command '%s' has no option '%s'\n", cmd->name, name);
        abort();
}

const char *cmd_opt(struct cmd_context *c, const char *name)
{
        return c->values[opt_index(c->cmd, name)];
}

bool cmd_flag(struct cmd_context *c, const char *name)
{
        return c->set[opt_index(c->cmd, name)];
}

char **cmd_opt_all(struct cmd_context *c, const char *name)
{
        return c->multi[opt_index(c->cmd, name)];
}

bool cmd_bool(struct cmd_context *c, const char *name, bool def)
{
        int i = opt_index(c->cmd, name);
        if (!c->set[i])
                return def;
        return !c->values[i] || streq(c->values[i], "true") || streq(c->values[i], "1");
}

static void print_options(const struct cmd_option *o, FILE *f)
{
        for (; o && o->name; o++) {
                char left[64];
                snprintf(left, sizeof(left), "%s%c%s--%s%s%s%s", o->short_name ? "-" : "",
                         o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
                         o->kind == OPT_BOOL ? "[=" : o->arg_name ? " " : "", o->arg_name ? o->arg_name : "",
                         o->kind == OPT_BOOL ? "]" : "");
                fprintf(f, "  %-30s %s%s\n", o->short_name ? left : left + 1, o->help,
                        o->kind == OPT_MULTI ? " (repeatable)" : "");
        }
}

void cmd_print_help(const struct cmd *cmd, FILE *f)
{
        fprintf(f, "Usage: hull %s [OPTIONS]%s%s\n\n%c%s.\n", cmd->name, *cmd->usage ? " " : "", cmd->usage,
                cmd->summary[0] >= 'a' ? cmd->summary[0] - 32 : cmd->summary[0], cmd->summary + 1);
        if (cmd->help && *cmd->help)
                fprintf(f, "\n%s\n", cmd->help);
        if (cmd->aliases) {
                fprintf(f, "\nAliases:");
                for (const char *const *a = cmd->aliases; *a; a++)
                        fprintf(f, " hull %s%s", *a, a[1] ? "," : "");
                fputc('\n', f);
        }
        if (cmd->options && cmd->options->name) {
                fprintf(f, "\nOptions:\n");
                print_options(cmd->options, f);
        }
        fprintf(f, "\nGlobal options:\n");
        print_options(global_opts, f);
        if (!(cmd->flags & CMD_WORKLOAD_EXIT))
                fprintf(f, "\nExit status: 0 on success, 125 when hull failed.\n");
        else if (!cmd->help || !strstr(cmd->help, "Exit status:"))
                fprintf(f, "\nExit status: the container's own when hull waited for it, else 0; 125 when hull failed.\n");
}

static void print_main_help(FILE *f)
{
        fprintf(f, "Usage: hull [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n\n"
                   "hull runs containers and virtual machines from images, without a daemon.\n\nCommands:\n");
        for (size_t i = 0; i < cmd_table_size; i++)
                if (!(cmd_table[i].flags & CMD_HIDDEN))
                        fprintf(f, "  %-17s %s\n", cmd_table[i].name, cmd_table[i].summary);
        fprintf(f, "\nGlobal options:\n");
        print_options(global_opts, f);
        fprintf(f, "\nRun 'hull COMMAND --help' for a command's options.\n");
}

int cmd_help(struct cmd_context *c)
{
        if (c->argc == 0) {
                print_main_help(stdout);
                return 0;
        }
        for (size_t i = 0; i < cmd_table_size; i++)
                if (streq(cmd_table[i].name, c->argv[0]) || startswith(cmd_table[i].name, c->argv[0])) {
                        cmd_print_help(&cmd_table[i], stdout);
                        return 0;
                }
        return cmd_fail(-EINVAL, "help: unknown command '%s'", c->argv[0]);
}

int cmd_version(struct cmd_context *c)
{
        printf("hull version %s\n", HULL_VERSION);
        return 0;
}

/* Find the command named by argv[0] (and argv[1] for a group such as "image prune"). */
static const struct cmd *find_cmd(int argc, char **argv, int *ret_words)
{
        for (int words = 2; words >= 1; words--) {
                char name[128];
                if (argc < words)
                        continue;
                if (words == 2)
                        snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
                else
                        snprintf(name, sizeof(name), "%s", argv[0]);
                for (size_t i = 0; i < cmd_table_size; i++) {
                        bool match = streq(cmd_table[i].name, name);
                        for (const char *const *a = cmd_table[i].aliases; !match && a && *a; a++)
                                match = streq(*a, name);
                        if (match) {
                                *ret_words = words;
                                return &cmd_table[i];
                        }
                }
        }
        return NULL;
}

/* Run the transfer command in hull-image (same table, all libraries), keeping our arguments. */
static int exec_image_helper(char **argv)
{
        _cleanup_free_ char *helper = NULL;
        int r = engine_find_binary(ENGINE_BIN_IMAGE, &helper);

        if (r < 0) {
                fprintf(stderr, "hull: %s\n", err_msg(r));
                return EXIT_ENGINE_ERROR;
        }
        execv(helper, argv);
        fprintf(stderr, "hull: cannot execute '%s': %s\n", helper, strerror(errno));
        return EXIT_ENGINE_ERROR;
}

static int parse_global(const char *name, const char *value, const char **root)
{
        if (streq(name, "root")) {
                *root = value;
                return 0;
        }
        if (streq(name, "log-level")) {
                static const char *const levels[] = { "error", "warning", "info", "debug" };
                for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                        if (streq(value, levels[i])) {
                                log_set_level((enum log_level)i);
                                return 0;
                        }
                fprintf(stderr, "hull: invalid --log-level '%s': expected error, warning, info or debug\n", value);
                return -EINVAL;
        }
        return -ENOENT;
}

static int parse_command_line(struct cmd_context *c, int argc, char **argv)
{
        struct option lopts[CMD_OPTIONS_MAX + 8] = {};
        char shorts[2 * CMD_OPTIONS_MAX + 8] = "+";
        const struct cmd_option *o = c->cmd->options;
        size_t n = 0, ns = 1;
        bool help_h;
        int k;

        for (int i = 0; o && o[i].name; i++, n++) {
                lopts[n] = (struct option){ o[i].name,
                                            o[i].kind == OPT_FLAG   ? no_argument
                                            : o[i].kind == OPT_BOOL ? optional_argument
                                                                    : required_argument,
                                            NULL, 1000 + i };
                if (o[i].short_name) {
                        shorts[ns++] = o[i].short_name;
                        if (o[i].kind == OPT_VALUE || o[i].kind == OPT_MULTI)
                                shorts[ns++] = ':';
                }
        }
        for (int i = 0; global_opts[i].name; i++, n++)
                lopts[n] = (struct option){ global_opts[i].name,
                                            global_opts[i].kind == OPT_FLAG ? no_argument : required_argument, NULL,
                                            2000 + i };
        /* -h is help unless the command gives it a meaning (run -h is --hostname, as in podman). */
        help_h = !strchr(shorts + 1, 'h');
        if (help_h)
                shorts[ns++] = 'h';
        shorts[ns] = 0;
        /*
         * Options may follow arguments ("hull rmi busybox -f"), as podman's parser allows; but
         * after run's IMAGE or exec's CONTAINER everything belongs to the container's command.
         */
        shorts[0] = c->cmd->flags & CMD_STOP_AT_ARGS ? '+' : '-';
        optind = 1;
        opterr = 0;
        while ((k = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
                int idx = -1;
                if (k == 1) {
                        c->argv[c->argc++] = optarg;
                        continue;
                }
                if (k == '?' || k == ':') {
                        const char *bad = argv[optind - 1];
                        if (optopt && optopt < 256)
                                fprintf(stderr, "hull %s: unknown or incomplete option '-%c'\n", c->cmd->name, optopt);
                        else
                                fprintf(stderr, "hull %s: unknown option '%s' (see 'hull %s --help')\n", c->cmd->name,
                                        bad, c->cmd->name);
                        return -EINVAL;
                }
                if ((k == 'h' && help_h) || k == 2000 + 2) {
                        cmd_print_help(c->cmd, stdout);
                        return 1;
                }
                if (k >= 2000) {
                        int r = parse_global(global_opts[k - 2000].name, optarg, &c->root);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k >= 1000)
                        idx = k - 1000;
                else
                        for (int i = 0; o && o[i].name; i++)
                                if (o[i].short_name == k)
                                        idx = i;
                if (idx < 0)
                        return -EINVAL;
                if (o[idx].kind == OPT_BOOL && optarg && !streq(optarg, "true") && !streq(optarg, "false")) {
                        fprintf(stderr, "hull %s: --%s takes true or false, not '%s'\n", c->cmd->name, o[idx].name,
                                optarg);
                        return -EINVAL;
                }
                c->set[idx] = true;
                c->values[idx] = optarg;
                if (o[idx].kind == OPT_MULTI && strv_extend(&c->multi[idx], optarg) < 0)
                        return -ENOMEM;
        }
        while (optind < argc)
                c->argv[c->argc++] = argv[optind++];
        return 0;
}

int main(int argc, char **argv)
{
        struct cmd_context c = { .root = getenv("HULL_ROOT") };
        const struct cmd *cmd;
        int i = 1, words = 0, r;

        log_set_program("hull");
        /* Global options before the command. */
        while (i < argc && argv[i][0] == '-') {
                const char *a = argv[i] + 2, *eq;
                char name[32];
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        print_main_help(stdout);
                        return 0;
                }
                if (streq(argv[i], "--version")) {
                        printf("hull version %s\n", HULL_VERSION);
                        return 0;
                }
                if (argv[i][1] != '-') {
                        fprintf(stderr, "hull: unknown option '%s' (see 'hull --help')\n", argv[i]);
                        return EXIT_ENGINE_ERROR;
                }
                eq = strchr(a, '=');
                snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
                if (!eq && i + 1 >= argc) {
                        fprintf(stderr, "hull: option '--%s' needs a value\n", name);
                        return EXIT_ENGINE_ERROR;
                }
                r = parse_global(name, eq ? eq + 1 : argv[i + 1], &c.root);
                if (r == -ENOENT) {
                        fprintf(stderr, "hull: unknown option '%s' (see 'hull --help')\n", argv[i]);
                        return EXIT_ENGINE_ERROR;
                }
                if (r < 0)
                        return EXIT_ENGINE_ERROR;
                i += eq ? 1 : 2;
        }
        if (i >= argc) {
                print_main_help(stderr);
                return EXIT_ENGINE_ERROR;
        }
        cmd = find_cmd(argc - i, argv + i, &words);
        if (!cmd) {
                fprintf(stderr, "hull: unknown command '%s' (see 'hull --help')\n", argv[i]);
                return EXIT_ENGINE_ERROR;
        }
        if (!cmd->run && (cmd->flags & CMD_TRANSFER))
                return exec_image_helper(argv);
#ifdef HULL_IMAGE_TRANSFER
        ctr_copy_stream = ctr_copy_stream_tar;
#else
        /* `cp` with a tar stream ("-") needs libarchive: hull-image serves it. */
        if (cmd->run == cmd_cp && strv_contains(argv + i + words, "-"))
                return exec_image_helper(argv);
#endif
        c.cmd = cmd;
        c.argv = calloc((size_t)argc + 1, sizeof(char *));
        if (!c.argv)
                return EXIT_ENGINE_ERROR;
        /* getopt wants argv[0] to be the program: let the last word of the command name play it. */
        r = parse_command_line(&c, argc - i - words + 1, argv + i + words - 1);
        if (r != 0) {
                free(c.argv);
                return r > 0 ? 0 : EXIT_ENGINE_ERROR;
        }
        if (c.argc < cmd->min_args || (cmd->max_args >= 0 && c.argc > cmd->max_args)) {
                fprintf(stderr, "hull %s: %s (usage: hull %s [OPTIONS] %s)\n", cmd->name,
                        c.argc < cmd->min_args ? "missing arguments" : "too many arguments", cmd->name, cmd->usage);
                r = -EINVAL;
                goto out;
        }
        if ((cmd->flags & CMD_NEEDS_ROOT) && geteuid() != 0) {
                fprintf(stderr, "hull %s: must be run as root\n", cmd->name);
                r = -EPERM;
                goto out;
        }
        if (!c.root || !*c.root)
                c.root = DEFAULT_ROOT;
        c.stdout_tty = isatty(STDOUT_FILENO);
        c.stderr_tty = isatty(STDERR_FILENO);
        if (cmd->flags & CMD_NEEDS_STORE) {
                r = image_store_open(c.root, &c.store);
                if (r < 0) {
                        cmd_fail(r, "opening the image store in '%s'", c.root);
                        goto out;
                }
        }
        if (cmd->flags & CMD_NEEDS_ENGINE) {
                r = engine_open(c.root, &c.engine);
                if (r < 0) {
                        cmd_fail(r, "opening the engine state in '%s'", c.root);
                        goto out;
                }
        }
        err_clear();
        r = cmd->run(&c);
out:
        engine_free(c.engine);
        image_store_close(c.store);
        for (size_t k = 0; k < CMD_OPTIONS_MAX; k++)
                strv_free(c.multi[k]);
        free(c.argv);
        return r < 0 ? EXIT_ENGINE_ERROR : c.exit_status;
}
