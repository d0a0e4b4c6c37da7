/*
 * no_init.c - a shared library with a complete descriptor but no
 * lamina_plugin_init: its entry point is exported under another name, so
 * the host must refuse it and name both the file and the missing symbol.
 */
#define TINY_FAMILY "no_init"
/* The wrong name (a typo a plugin author could make). */
#define TINY_INIT_NAME lamina_plugin_initialize
#include "tiny.h"
