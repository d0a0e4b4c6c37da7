/* zero_step.c - step(0) still steps (zero-step check). */
#define BRK_FAMILY "zero_step"
#define BRK_ZERO_STEP
#include "base.h"
