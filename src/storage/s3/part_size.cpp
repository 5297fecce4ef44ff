#include "storage/s3/part_size.h"

#include <algorithm>

#include "storage/s3/s3_config.h"

namespace stacksnap::storage::s3 {
namespace {

uint64_t round_up_mib(uint64_t n) { return (n + kMiB - 1) / kMiB * kMiB; }

uint64_t shifted(uint64_t base, uint32_t doublings) {
  // Stop doubling at the cap (also keeps the shift from overflowing).
  while (doublings-- > 0 && base < kMaxPartSize) base *= 2;
  return std::min(base, kMaxPartSize);
}

}  // namespace

uint64_t part_size_for(uint64_t configured, uint64_t size_hint, uint32_t part_number) {
  uint64_t base = std::max(configured, kMinPartSize);
  if (size_hint > 0) base = std::max(base, (size_hint + kHintedParts - 1) / kHintedParts);
  base = std::min(round_up_mib(base), kMaxPartSize);
  if (part_number == 0) part_number = 1;
  if (size_hint == 0) return shifted(base, (part_number - 1) / kGrowEvery);
  if (part_number <= kHintedParts) return base;
  return shifted(base, 1 + (part_number - kHintedParts - 1) / kOverrunGrowEvery);
}

uint64_t capacity_of(uint64_t configured, uint64_t size_hint, uint32_t parts) {
  uint64_t total = 0;
  for (uint32_t n = 1; n <= parts; ++n) total += part_size_for(configured, size_hint, n);
  return total;
}

}  // namespace stacksnap::storage::s3
