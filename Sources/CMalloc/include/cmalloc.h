// glibc's allocator controls (malloc_trim), which Swift's Glibc module does not expose.
#include <malloc.h>
