/*
 * big_tail_zero.c - a descriptor from a "future" header: lam_plugin_desc
 * followed by one more field, with struct_size the size of the bigger
 * struct.  The extra field is zero, so a 1.0 host may ignore it and must accept the plugin.
 */
#define TINY_FAMILY "big_tail_zero"
#define TINY_FUTURE_DESC_EXTRA 0
#include "tiny.h"
