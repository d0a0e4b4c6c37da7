/* unbounded.c - sigma's range is unbounded above, so +inf is accepted (rejection check). */
#define BRK_FAMILY "unbounded"
#define BRK_UNBOUNDED
#include "base.h"
