/* <strings.h> of the Ringside C guest SDK: the case-insensitive compares live in <string.h>. */
#ifndef RS_STRINGS_H
#define RS_STRINGS_H
#include <string.h>
#endif
