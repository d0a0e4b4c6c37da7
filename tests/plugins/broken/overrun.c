/* overrun.c - step writes one element past the end of port x (bounds check). */
#define BRK_FAMILY "overrun"
#define BRK_OVERRUN
#include "base.h"
