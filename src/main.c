/*
 * main.c - global options, dispatch to the subcommand, and the final
 * check that stdout really received everything.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "complete.h"
#include "log.h"
#include "options.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static void
usage_global(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sockt [-h | --help] [-V | --version]\n"
	    "       sockt --completion bash | zsh\n"
	    "       sockt help [COMMAND]\n"
	    "       sockt COMMAND [OPTIONS] ARGS...\n\ncommands:\n");
	for (i = 0; cmd_table[i] != NULL; i++)
		fprintf(f, "  %-12s %s\n", cmd_table[i]->name,
		    cmd_table[i]->summary);
	fprintf(f, "\n'sockt COMMAND --help' or 'sockt help COMMAND' shows a "
	    "command's options.\n");
}

/* Flush and close stdout; a failure there means data was lost. */
static int
stdout_close(void)
{
	if (fflush(stdout) == EOF || (close(STDOUT_FILENO) == -1 &&
	    errno != EBADF)) {
		log_error("stdout: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* NAME is no subcommand: say so, with the one it most looks like. */
static int
unknown_command(const char *name)
{
	const struct cmd_entry *near = cmd_suggest(name);

	if (near != NULL)
		log_error("unknown command '%s': did you mean '%s'? (see "
		    "'sockt --help')", name, near->name);
	else
		log_error("unknown command '%s' (see 'sockt --help')", name);
	return 2;
}

/*
 * The usage error ERR of CMD, and a hint line when the option the user
 * typed is a habit from nc, ncat or curl that sockt spells otherwise.
 */
static int
usage_error(const struct cmd_entry *cmd, const struct sockt_opts *o,
    const char *err)
{
	const char *hint = o->unknown[0] ? cmd_hint(cmd, o->unknown) : NULL;

	log_error("%s (see 'sockt %s --help')", err, cmd->name);
	if (hint != NULL)
		log_error("hint: %s", hint);
	return 2;
}

static int
run_help(int argc, char **argv)
{
	const struct cmd_entry *cmd;

	if (argc < 2) {
		usage_global(stdout);
		return stdout_close();
	}
	if ((cmd = cmd_find(argv[1])) == NULL)
		return unknown_command(argv[1]);
	opts_print_help(cmd, stdout);
	return stdout_close();
}

/*
 * Put /dev/null on any of fds 0-2 that is closed, so that no socket or
 * file sockt opens lands there and is taken for stdio.  Returns a bit per
 * fd that was closed.
 */
static unsigned
stdio_guard(void)
{
	unsigned closed = 0;
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		closed |= 1u << fd;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			abort();	/* fds below fd are open: cannot happen */
	}
	return closed;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *cmd;
	struct sockt_opts opts;
	char *err = NULL;
	unsigned closed = stdio_guard();
	int r, status;

	if (argc < 2) {
		usage_global(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return run_help(1, argv);
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("sockt %s\n", PACKAGE_VERSION);
		return stdout_close();
	}
	if (strcmp(argv[1], "--completion") == 0) {
		if (argc != 3 || complete_print(argv[2], stdout) == -1) {
			log_error("--completion takes bash or zsh (see 'sockt "
			    "--help')");
			return 2;
		}
		return stdout_close();
	}
	if (strcmp(argv[1], "help") == 0)
		return run_help(argc - 1, argv + 1);
	if ((cmd = cmd_find(argv[1])) == NULL) {
		if (argv[1][0] != '-')
			return unknown_command(argv[1]);
		log_error("unknown option %s (see 'sockt --help')", argv[1]);
		return 2;
	}
	opts_init(&opts, cmd);
	r = opts_parse(&opts, argc - 1, argv + 1, &err);
	if (r == 0)
		r = opts_validate(&opts, &err);
	if (r == 0 && opts.source != NULL && strstr(opts.source, "://")) {
		/* curl's -s (silent) is sockt's -s ADDR: never eat the URL */
		err = log_fmt("-s takes a source address, not '%s'; %s says "
		    "nothing unless asked (-v, -P) anyway", opts.source,
		    cmd->name);
		r = -1;
	}
	if (r == 0)
		r = cmd_check_args(&opts, &err);
	if (r == 1) {
		opts_free(&opts);
		opts_print_help(cmd, stdout);
		return stdout_close();
	}
	if (r == -1) {
		status = usage_error(cmd, &opts, err);
		free(err);
		opts_free(&opts);
		return status;
	}
	opts.stdin_closed = (closed & 1) != 0;
	opts.stdout_closed = (closed & 2) != 0;
	log_set_verbosity(opts.verbose);
	status = cmd->exec(&opts);
	opts_free(&opts);
	if (stdout_close() != 0 && status == 0)
		status = 1;
	return status;
}
