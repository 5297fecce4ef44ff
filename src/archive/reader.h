// ArchiveReader: walks a StackSnap archive as a stream, authenticating as it goes:
//   in → header + key check → AES-256-GCM STREAM → zstd → tar → entries
//
// Contract:
//  - open() reads the header, derives the key (Unauthenticated for a wrong key or
//    passphrase, before any payload is touched) and reads stacksnap/plan.json.
//  - next() returns the entries in archive order. Parts of a dump stream come back as
//    one entry (is_stream) whose content is the concatenation. The plan and the
//    manifest are not returned as entries (plan(), manifest()).
//  - Every byte handed out has been authenticated (it came from a segment whose tag
//    verified), but the archive as a whole is authentic only when next() has returned
//    nullptr: by then the final segment authenticated and every entry's metadata and
//    SHA-256 matched the manifest. Any failure is DataLoss naming the segment number
//    and byte offset, or the entry path; the reader is then unusable.
//  - Content not read by the caller is read (and hashed) by the next call to next().
//
// Memory is bounded: one seal segment, the zstd window, a few prefetch slots and the
// entry records kept zstd-compressed (~20 bytes per entry) until the manifest arrives.
// With options.prefetch two background threads run authentication and decompression
// (a three-stage pipeline with the caller's tar parsing and hashing; 8 MiB of slots).
//
// Thread-safety: none; one thread drives a reader.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "archive/entry.h"
#include "archive/manifest.h"
#include "archive/source.h"
#include "base/error.h"
#include "base/stream.h"
#include "seal/header.h"
#include "seal/key.h"

namespace stacksnap::archive {

struct ReadOptions {
  bool prefetch = true;             // authenticate and decompress on background threads
  Writer* manifest_copy = nullptr;  // receives the raw bytes of manifest.json as read
  // ReadStats::sealed_sha256. Off for a pass over an archive authenticated whole before
  // (a restore's apply passes): it saves hashing the file once more.
  bool hash_sealed = true;
};


struct ReadStats {
  uint64_t entries = 0;        // tar entries, plan and manifest included
  uint64_t files = 0;          // regular files
  uint64_t content_bytes = 0;  // logical bytes of regular files
  uint64_t segments = 0;
  uint64_t sealed_bytes = 0;
  std::string sealed_sha256;   // hex, set at the end
};

class ArchiveReader final : public EntrySource {
 public:
  // `in` and `keys` must outlive the reader.
  static Result<std::unique_ptr<ArchiveReader>> open(Reader& in, const seal::KeySource& keys,
                                                     ReadOptions options = {});
  ~ArchiveReader() override;
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  const seal::Header& header() const;
  const std::string& key_fingerprint() const;
  const nlohmann::json& plan() const override;
  const std::string& plan_text() const;

  // The next entry, or nullptr once the archive has been verified to the end.
  Result<const Entry*> next() override;
  // The current entry's logical content (holes read as zeros). Valid until next().
  Reader& content() override;
  // The current regular file's SHA-256 (hex), hashed as its content was read: what is
  // left of the content is read first. Not for streams. Saves callers a second hash.
  Result<std::string> file_sha256() override;
  // Sparse-aware alternative to content(): data runs with their offsets.
  Result<ContentBlock> read_block() override;

  // Valid after next() returned nullptr.
  const Manifest& manifest() const override;
  ReadStats stats() const;

 private:
  struct Impl;
  explicit ArchiveReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the rest of `reader` and writes every entry under `prefix` ("volumes/x") as a
// pax tar stream to `out`, paths relative to the prefix (the prefix directory itself
// becomes "."), for the Docker archive PUT endpoint. Entries elsewhere are read and
// verified but not written. The tar is complete only if the archive verified: callers
// that must not apply unverified data verify first (verify_archive), then call this.
Status write_subtree_as_tar(ArchiveReader& reader, std::string_view prefix, Writer& out);

}  // namespace stacksnap::archive
