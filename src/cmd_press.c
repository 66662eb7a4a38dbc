/* cmd_press.c - placeholder: being written. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_press(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	cmd_error("press", "not implemented yet");
	return CMD_FAILED;
}
