/* bad_schema.c - port x shaped by a parameter that does not exist (descriptor check). */
#define BRK_FAMILY "bad_schema"
#define BRK_BAD_SCHEMA
#include "base.h"
