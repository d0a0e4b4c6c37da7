/* good_v020.c - the good model as version 0.2.0 (a 0.x minor: incompatible). */
#define BRK_FAMILY "good"
#define BRK_VERSION "0.2.0"
#include "base.h"
