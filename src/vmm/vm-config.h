/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-config.h - parsing of hull-vmm's device option strings into struct vm_config:
 *   --disk PATH[,ro][,direct][,format=raw|qcow2|vhd]
 *   --net tap=NAME[,mac=MAC] | fd=N[,mac=MAC]
 *   --vsock cid=N,uds=PATH
 *   --fs socket=PATH,tag=TAG
 *   --serial stdio|file=PATH|none
 *   --snapshot-at-connect PORT,dir=DIR
 * Each parser fills its result only on success, and on failure records one line that
 * names the option and the offending part ("--disk: unknown option 'rw'").
 */
#pragma once

#include "vm.h"

int vm_config_parse_disk(const char *spec, struct vm_disk_config *ret);
int vm_config_parse_net(const char *spec, struct vm_net_config *ret);
int vm_config_parse_fs(const char *spec, struct vm_fs_config *ret);
int vm_config_parse_vsock(const char *spec, uint64_t *ret_cid, char **ret_uds, bool *ret_io_vcpu);
int vm_config_parse_serial(const char *spec, enum serial_mode *ret_mode, char **ret_path);
int vm_config_parse_snapshot(const char *spec, uint32_t *ret_port, char **ret_dir);
/*
 * --api-sock PATH, or fd=N: a listening Unix stream socket that the caller made and left open
 * across exec (hull-runtime's shim, so that it can connect before hull-vmm is up). *ret_fd is
 * N, or -EBADF for a path.
 */
int vm_config_parse_api_sock(const char *spec, int *ret_fd);
int vm_config_parse_mac(const char *s, uint8_t mac[6]);
/* Check the whole configuration (kernel given, sizes in range...). */
int vm_config_check(const struct vm_config *c);
void vm_disk_config_done(struct vm_disk_config *d);
void vm_net_config_done(struct vm_net_config *n);
void vm_fs_config_done(struct vm_fs_config *f);
