/*
 * bad_default.c - a parameter whose default (25) lies outside its own
 * range [-10, 10]: an invalid schema; the refusal must name the parameter.
 */
#define TINY_FAMILY "bad_default"
#define TINY_GAIN_DEFAULT 25 /* outside [-10, 10] */
#include "tiny.h"
