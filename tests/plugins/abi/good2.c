/*
 * good2.c - a valid plugin that calls itself "good", like good.c: whichever
 * of the two is loaded second must be refused as a duplicate plugin name.
 */
#define TINY_FAMILY "good"
#define TINY_VERSION "2.0.0"
#include "tiny.h"
