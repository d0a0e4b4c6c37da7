/* nondeterministic.c - the stream depends on a process-wide counter (same-seed check). */
#define BRK_FAMILY "nondeterministic"
#define BRK_NONDETERMINISTIC
#include "base.h"
