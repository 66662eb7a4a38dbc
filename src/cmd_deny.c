/* cmd_deny.c - placeholder: being written. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_deny(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	cmd_error("deny", "not implemented yet");
	return CMD_FAILED;
}
