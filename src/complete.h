/*
 * complete.h - shell completion scripts generated from the command and
 * option tables: "sockt --completion bash|zsh".
 */
#ifndef SOCKT_COMPLETE_H
#define SOCKT_COMPLETE_H

#include <stdio.h>

int	 complete_print(const char *, FILE *);

#endif
