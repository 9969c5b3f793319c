/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd-vm.h - the handlers and option tables of `hull vm ...` and `hull disk ...`
 * (cmd-vm.c, cmd-vm-console.c, cmd-disk.c), for main.c's command table.
 */
#pragma once

#include "cmd.h"

extern const struct cmd_option vm_create_opts[], vm_run_opts[], vm_start_opts[], vm_stop_opts[],
        vm_kill_opts[], vm_rm_opts[], vm_ls_opts[], vm_monitor_opts[], vm_logs_opts[], vm_exec_opts[],
        disk_create_opts[], disk_convert_opts[], disk_inspect_opts[], disk_resize_opts[];

int cmd_vm_create(struct cmd_context *c);
int cmd_vm_run(struct cmd_context *c);
int cmd_vm_start(struct cmd_context *c);
int cmd_vm_stop(struct cmd_context *c);
int cmd_vm_kill(struct cmd_context *c);
int cmd_vm_rm(struct cmd_context *c);
int cmd_vm_pause(struct cmd_context *c);
int cmd_vm_unpause(struct cmd_context *c);
int cmd_vm_ls(struct cmd_context *c);
int cmd_vm_inspect(struct cmd_context *c);
int cmd_vm_monitor(struct cmd_context *c);
int cmd_vm_cleanup(struct cmd_context *c);
int cmd_vm_console(struct cmd_context *c);
int cmd_vm_logs(struct cmd_context *c);
int cmd_vm_exec(struct cmd_context *c);
int cmd_disk_create(struct cmd_context *c);
int cmd_disk_convert(struct cmd_context *c);
int cmd_disk_inspect(struct cmd_context *c);
int cmd_disk_resize(struct cmd_context *c);
