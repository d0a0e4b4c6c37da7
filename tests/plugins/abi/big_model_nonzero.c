/*
 * big_model_nonzero.c - model descriptors from a "future" header: every element
 * of the models array is a lam_model_def followed by one more field, and
 * lam_plugin_desc.model_size says so.  The extra field is non-zero, so the host must refuse the plugin ("needs a newer host").
 * A second model after the first checks that the stride is honoured.
 */
#define TINY_FAMILY "big_model_nonzero"
#define TINY_FUTURE_MODEL_EXTRA 7
#include "tiny.h"
