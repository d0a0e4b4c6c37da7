/*
 * other_major.c - a plugin built for ABI major 2: incompatible with a
 * major-1 host whatever its minor, so it must be refused.
 */
#define TINY_FAMILY "other_major"
#define TINY_ABI_MAJOR 2
#define TINY_ABI_MINOR 0
#include "tiny.h"
