#define _GNU_SOURCE
#include "cbytescan.h"
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline int stops(uint8_t byte) { return byte == '"' || byte == '\\' || byte < 0x20; }

size_t strates_json_string_stop(const void *start, size_t count) {
    const uint8_t *bytes = start;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1F);
    for (; i + 16 <= count; i += 16) {
        __m128i chunk = _mm_loadu_si128((const __m128i *)(bytes + i));
        // min(chunk, 0x1F) == chunk exactly where an (unsigned) byte is at most 0x1F.
        __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)),
                                    _mm_cmpeq_epi8(_mm_min_epu8(chunk, control), chunk));
        int mask = _mm_movemask_epi8(hits);
        if (mask != 0) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#else
    // Eight bytes at a time: a byte equal to c is a zero byte of word ^ c..c, and
    // (x - 0x01..01) & ~x & 0x80..80 is non-zero exactly when x has a zero byte.
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    for (; i + 8 <= count; i += 8) {
        uint64_t word;
        __builtin_memcpy(&word, bytes + i, 8);
        uint64_t quotes = word ^ (ones * 0x22), backslashes = word ^ (ones * 0x5C);
        uint64_t found = ((quotes - ones) & ~quotes & highs) | ((backslashes - ones) & ~backslashes & highs)
                       | ((word - ones * 0x20) & ~word & highs);
        if (found != 0) break;
    }
#endif
    for (; i < count; i++) {
        if (stops(bytes[i])) return i;
    }
    return count;
}

int strates_contains(const void *haystack, size_t count, const void *needle, size_t needle_count) {
    if (needle_count == 0) return 1;
    if (count < needle_count) return 0;
#if defined(__GLIBC__) || defined(__APPLE__)
    return memmem(haystack, count, needle, needle_count) != NULL;
#else
    const uint8_t *bytes = haystack, *word = needle;
    for (size_t at = 0; at + needle_count <= count; at++) {
        if (bytes[at] == word[0] && memcmp(bytes + at, word, needle_count) == 0) return 1;
    }
    return 0;
#endif
}
