/*
 * newer_minor.c - a plugin that needs ABI minor LAM_ABI_MINOR + 1, a
 * version this host does not provide yet: the host must refuse it and say
 * which version it needs.
 */
#define TINY_FAMILY "newer_minor"
#define TINY_ABI_MINOR (LAM_ABI_MINOR + 1)
/* Its entry point returns the descriptor anyway: the host, not the plugin,
 * must decide. */
#include "tiny.h"
