/*
 * dup_model.c - a plugin that declares two models with the same name: an
 * invalid schema, so the host must refuse the whole plugin.
 */
#define TINY_FAMILY "dup_model"
#define TINY_MODELS TINY_MODEL(TINY_FAMILY), TINY_MODEL(TINY_FAMILY)
#include "tiny.h"
