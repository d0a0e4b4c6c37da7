/* good_v011.c - the good model as version 0.1.1 (a compatible patch release). */
#define BRK_FAMILY "good"
#define BRK_VERSION "0.1.1"
#include "base.h"
