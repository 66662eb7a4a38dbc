/* cmd_admin.c - placeholder: being written. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_admin(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	cmd_error("admin", "not implemented yet");
	return CMD_FAILED;
}
