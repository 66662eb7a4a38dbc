/* cmd_pending.c - placeholder: being written. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_pending(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	cmd_error("pending", "not implemented yet");
	return CMD_FAILED;
}
