/* good.c - the base model with no defect: every check passes. */
#define BRK_FAMILY "good"
#include "base.h"
