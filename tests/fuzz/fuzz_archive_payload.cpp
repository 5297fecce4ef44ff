// libFuzzer target: everything behind the seal. The input is taken as the plaintext tar
// (first byte 0), as the zstd stream (first byte 1) or as manifest JSON (first byte 2);
// the harness seals it with a fixed key so the reader gets past authentication and the
// tar parser, the zstd decoder, the entry/stream logic, the manifest parser and the
// extraction guard all see hostile input.
#include <cstddef>
#include <cstdint>

#include "archive/extract.h"
#include "archive/manifest.h"
#include "archive/reader.h"
#include "codec/zstd.h"
#include "seal/key.h"
#include "seal/stream.h"

using namespace stacksnap;

namespace {

const seal::MasterKey& fuzz_key() {
  static const seal::MasterKey* k = [] {
    std::array<std::byte, 32> raw{};
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = std::byte(i * 7);
    return new seal::MasterKey(std::move(seal::MasterKey::from_bytes(raw)).value());
  }();
  return *k;
}

void walk(const std::string& sealed) {
  static const seal::KeySource* keys = new seal::KeySource(seal::KeySource::from_key(std::move(fuzz_key().clone()).value()));
  MemoryReader r(sealed);
  auto reader = archive::ArchiveReader::open(r, *keys, {.prefetch = false});
  if (!reader.ok()) return;
  archive::ExtractGuard guard;
  std::array<std::byte, 4096> buf;
  for (int n = 0; n < 10000; ++n) {
    auto e = (*reader)->next();
    if (!e.ok() || *e == nullptr) break;
    (void)guard.check((*e)->meta);
    if (n % 2 == 0) {
      for (;;) {
        auto got = (*reader)->content().read(buf);
        if (!got.ok() || *got == 0) break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (1 << 20)) return 0;
  const uint8_t mode = data[0];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode % 3 == 2) {
    MemoryReader r(body);
    (void)archive::parse_manifest(r, [](const archive::ManifestEntry&) -> Status { return {}; });
    return 0;
  }
  StringWriter sealed;
  auto sw = seal::SealWriter::create(sealed, fuzz_key(), {.segment_size = seal::kMinSegment});
  if (!sw.ok()) return 0;
  if (mode % 3 == 0) {
    auto zw = codec::ZstdWriter::create(**sw, {.level = 1, .threads = -1});
    if (!zw.ok() || !(*zw)->write(as_bytes(body)).ok() || !(*zw)->close().ok()) return 0;
  } else if (!(*sw)->write(as_bytes(body)).ok()) {
    return 0;
  }
  if (!(*sw)->close().ok()) return 0;
  walk(sealed.str());
  return 0;
}
