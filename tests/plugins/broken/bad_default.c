/* bad_default.c - tau's default outside its range (defaults check). */
#define BRK_FAMILY "bad_default"
#define BRK_BAD_DEFAULT
#include "base.h"
