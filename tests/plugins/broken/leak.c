/* leak.c - destroy does not free the instance (only --valgrind sees it). */
#define BRK_FAMILY "leak"
#define BRK_LEAK
#include "base.h"
