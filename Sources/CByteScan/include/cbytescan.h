// Byte scans for the JSON readers: the scanner's run over long strings (a coding agent's
// prompt is mostly one long string), sixteen bytes at a time where the CPU has SSE2, and a
// substring search for the transcript reader.
#ifndef CBYTESCAN_H
#define CBYTESCAN_H
#include <stddef.h>
#include <stdint.h>

// The offset, from `start`, of the first byte in [0, count) that is '"', '\' or below 0x20
// (what ends or interrupts a JSON string's plain run); `count` when there is none.
size_t strates_json_string_stop(const void *start, size_t count);

// Whether `needle` occurs in `haystack` (glibc's memmem where there is one; Swift's Glibc
// module leaves memmem out).
int strates_contains(const void *haystack, size_t count, const void *needle, size_t needle_count);

#endif
