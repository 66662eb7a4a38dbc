/* cmd_approve.c - placeholder: being written. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_approve(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	cmd_error("approve", "not implemented yet");
	return CMD_FAILED;
}
