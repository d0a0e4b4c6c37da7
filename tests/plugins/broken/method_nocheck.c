/* method_nocheck.c - scale uses its argument unchecked (methods check). */
#define BRK_FAMILY "method_nocheck"
#define BRK_METHOD_NOCHECK
#include "base.h"
