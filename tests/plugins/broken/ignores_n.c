/* ignores_n.c - step(n) takes one step whatever n (one-step check). */
#define BRK_FAMILY "ignores_n"
#define BRK_IGNORES_N
#include "base.h"
