/* extreme_crash.c - create crashes (SIGFPE) at tau = its maximum (extreme-values check). */
#define BRK_FAMILY "extreme_crash"
#define BRK_EXTREME_CRASH
#include "base.h"
