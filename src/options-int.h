/*
 * options-int.h - what options.c and optable.c share: the table of every
 * option, its lookups, and which options a subcommand accepts.
 */
#ifndef SOCKT_OPTIONS_INT_H
#define SOCKT_OPTIONS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

struct opt_def {
	enum opt_id	 id;
	int		 letter;	/* short form, or 0 */
	const char	*name;		/* long form, or NULL */
	const char	*arg;		/* argument name, or NULL */
	const char	*help;
};

extern const struct opt_def opt_table[];
extern const size_t opt_table_len;

const struct opt_def *opt_lookup(enum opt_id);
const char	*opt_spelling(const struct opt_def *, char *, size_t);
bool		 cmd_accepts(const struct cmd_entry *, enum opt_id);

#endif
