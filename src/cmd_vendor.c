/* cmd_vendor.c - placeholder: being written. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_vendor(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	cmd_error("vendor", "not implemented yet");
	return CMD_FAILED;
}
