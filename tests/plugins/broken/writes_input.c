/* writes_input.c - step zeroes its input port (bounds check: inputs are read-only). */
#define BRK_FAMILY "writes_input"
#define BRK_WRITES_INPUT
#include "base.h"
