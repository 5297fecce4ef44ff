// libFuzzer target: the archive header parser and the sealed reader on raw bytes.
// Arbitrary input must give an error (DataLoss, Unauthenticated, Unimplemented), never a
// crash, a hang or unbounded allocation.
#include <cstddef>
#include <cstdint>

#include "archive/reader.h"
#include "seal/header.h"
#include "seal/key.h"

using namespace stacksnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(reinterpret_cast<const std::byte*>(data), size);
  (void)seal::parse_header(in);
  static const seal::KeySource* keys = [] {
    std::array<std::byte, 32> raw{};
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = std::byte(i);
    return new seal::KeySource(seal::KeySource::from_key(std::move(seal::MasterKey::from_bytes(raw)).value()));
  }();
  MemoryReader r(std::string_view(reinterpret_cast<const char*>(data), size));
  auto reader = archive::ArchiveReader::open(r, *keys, {.prefetch = false});
  if (reader.ok()) {
    for (;;) {
      auto e = (*reader)->next();
      if (!e.ok() || *e == nullptr) break;
    }
  }
  return 0;
}
