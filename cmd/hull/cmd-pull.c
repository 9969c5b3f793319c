/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"
int cmd_pull(struct cmd_context *c)
{
        return -ENOSYS;
}
int cmd_push(struct cmd_context *c)
{
        return -ENOSYS;
}
int cmd_image_sign(struct cmd_context *c)
{
        return -ENOSYS;
}
