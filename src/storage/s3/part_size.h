// Part sizes of multipart uploads, so that any object up to S3's 5 TiB limit fits in
// S3's 10,000 parts while small archives keep small parts (and little memory).
#pragma once

#include <cstdint>

namespace stacksnap::storage::s3 {

// Parts planned for an object of known size; the rest of the 10,000 absorb a wrong hint.
inline constexpr uint32_t kHintedParts = 9000;
// With an unknown size the part size doubles every kGrowEvery parts: 16 MiB parts reach
// 1 TB by part 6,000 and more than 5 TiB by part 9,000.
inline constexpr uint32_t kGrowEvery = 1000;
// Past kHintedParts (the hint was too small) the size doubles every kOverrunGrowEvery parts.
inline constexpr uint32_t kOverrunGrowEvery = 250;

// Size of part `part_number` (1-based) for an upload configured with `configured` bytes per
// part and announced as `size_hint` bytes (0 = unknown). Always a multiple of 1 MiB, at
// least kMinPartSize, at most kMaxPartSize.
uint64_t part_size_for(uint64_t configured, uint64_t size_hint, uint32_t part_number);

// Total bytes that parts 1..parts can hold (for tests and error messages).
uint64_t capacity_of(uint64_t configured, uint64_t size_hint, uint32_t parts);

}  // namespace stacksnap::storage::s3
