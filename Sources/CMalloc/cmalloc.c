// Empty: the target exists for its header (see include/cmalloc.h).
#include "cmalloc.h"
