/*
 * big_tail_nonzero.c - a descriptor from a "future" header: lam_plugin_desc
 * followed by one more field, with struct_size the size of the bigger
 * struct.  The extra field is non-zero: the plugin relies on a field this host does not know, so the host must refuse it ("needs a newer host").
 */
#define TINY_FAMILY "big_tail_nonzero"
#define TINY_FUTURE_DESC_EXTRA 0x5eed
#include "tiny.h"
