/* cmd_preauth.c - placeholder: being written. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_preauth(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	cmd_error("preauth", "not implemented yet");
	return CMD_FAILED;
}
