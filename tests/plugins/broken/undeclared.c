/* undeclared.c - draws noise without LAM_MODEL_STOCHASTIC (another-seed check, deterministic). */
#define BRK_FAMILY "undeclared"
#define BRK_UNDECLARED
#include "base.h"
