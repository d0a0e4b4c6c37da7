/* seed_ignored.c - the stream ignores ctx->seed (another-seed check, stochastic). */
#define BRK_FAMILY "seed_ignored"
#define BRK_SEED_IGNORED
#include "base.h"
