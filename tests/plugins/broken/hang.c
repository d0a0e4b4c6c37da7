/* hang.c - step(0) never returns (the checker gives up after LAMINA_CHECK_TIMEOUT s). */
#define BRK_FAMILY "hang"
#define BRK_HANG
#include "base.h"
