/* checkpoint_rng.c - the checkpoint leaves out the noise stream (checkpoint check). */
#define BRK_FAMILY "checkpoint_rng"
#define BRK_CHECKPOINT_RNG
#include "base.h"
