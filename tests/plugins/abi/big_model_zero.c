/*
 * big_model_zero.c - model descriptors from a "future" header: every element
 * of the models array is a lam_model_def followed by one more field, and
 * lam_plugin_desc.model_size says so.  The extra field is zero, so the host reads each element with the plugin's stride and accepts it.
 * A second model after the first checks that the stride is honoured.
 */
#define TINY_FAMILY "big_model_zero"
#define TINY_FUTURE_MODEL_EXTRA 0
#include "tiny.h"
