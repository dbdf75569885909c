// glibc's allocator controls (malloc_trim), which Swift's Glibc module does not expose.
// Other C libraries have no <malloc.h>; MemoryTrimmer only calls it under Glibc.
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif
