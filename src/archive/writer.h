// ArchiveWriter: builds one StackSnap archive (docs/FORMAT.md) as a stream:
//   entries → pax tar (libarchive) → zstd (multithreaded) → AES-256-GCM STREAM → out
//
// Order contract: add_plan() first; then any mix of add_* calls (dumps/, volumes/,
// binds/, config/); finish() last writes stacksnap/manifest.json, ends the tar, the
// zstd frame and the final sealed segment. Nothing is written in plaintext anywhere.
//
// Memory is bounded independently of the archive size: fixed copy buffers, the zstd
// window and jobs, one seal segment, one dump part (kDumpPart), and the entry list of
// the manifest kept zstd-compressed in memory (~20 bytes per entry).
//
// Errors: the first failure poisons the writer (every later call returns
// FailedPrecondition naming the first error). A writer destroyed without a successful
// finish() leaves output without a final segment, which never authenticates.
// InvalidArgument for bad paths or metadata, and for a path written before (two entries
// never share a path); FailedPrecondition when a content Reader
// ends early or runs long (the source changed); errors of `out` and of content Readers
// pass through.
//
// Thread-safety: none; one thread drives a writer. Internally zstd's workers compress,
// and one thread seals and writes to `out`: `out` is written by create() on the caller's
// thread, then only by that internal thread until finish() returns (never by two threads
// at once).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/entry.h"
#include "archive/manifest.h"
#include "archive/sink.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/stream.h"
#include "codec/zstd.h"
#include "seal/key.h"

namespace stacksnap::seal {
class SealWriter;
}

namespace stacksnap::archive {

class TarWriter;

// Dumps of unknown size are cut into tar entries of this many bytes (FORMAT.md §6.3).
inline constexpr uint64_t kDumpPart = 4u << 20;

struct WriterOptions {
  int zstd_level = codec::kDefaultZstdLevel;  // 1..19
  int zstd_threads = 0;                       // 0 = one per CPU, -1 = no worker threads
  uint32_t segment_size = 1u << 20;           // seal::kSealSegment
  uint64_t dump_part_size = kDumpPart;        // bytes per part of an unknown-size stream
  const Clock* clock = nullptr;               // manifest "created"; nullptr = system clock
  // SHA-256 of the archive file as written (WriteSummary::sealed_sha256). A caller that
  // reads the file back anyway (the backup pipeline's verify) turns it off and takes the
  // digest of what it read: one hash pass over the file instead of two.
  bool hash_sealed = true;
};

struct WriteSummary {
  uint64_t entries = 0;           // tar entries, plan and manifest included
  uint64_t files = 0;             // regular files (parts of streams counted one by one)
  uint64_t content_bytes = 0;     // logical bytes of regular files
  uint64_t tar_bytes = 0;         // the plaintext tar stream
  uint64_t compressed_bytes = 0;  // the zstd stream
  uint64_t sealed_bytes = 0;      // the archive file, header included
  uint64_t segments = 0;
  std::string sealed_sha256;      // hex SHA-256 of the whole archive file ("" without hash_sealed)
  std::string key_fingerprint;
};

class ArchiveWriter final : public EntrySink {
 public:
  // Writes the header to `out` at once. `key` must outlive the writer.
  static Result<std::unique_ptr<ArchiveWriter>> create(Writer& out, const seal::MasterKey& key,
                                                       WriterOptions options = {});
  ~ArchiveWriter() override;
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  // stacksnap/plan.json: project, time, what is expected. Must be the first call.
  Status add_plan(const nlohmann::json& plan) override;

  // A regular file of known size: exactly meta.size bytes of logical content are read
  // from `content` (holes of a sparse meta read as zeros), streamed and hashed.
  Status add_file(const EntryMeta& meta, Reader& content) override;
  // Directories, symlinks (meta.link = target), hardlinks (meta.link = archive path of
  // an earlier entry), fifos and devices: everything but regular files.
  Status add_entry(const EntryMeta& meta) override;

  // Re-emits a tar stream (Docker Engine archive endpoint: ustar/pax from Go's
  // archive/tar) entry by entry under `prefix` ("volumes/shop_data"), hashing file
  // contents on the way and rewriting hardlink targets; options.filter may drop or
  // replace regular files (a replaced file's stream bytes are read and discarded, not
  // hashed). InvalidArgument for ".." paths or sockets in the stream; DataLoss for a
  // malformed stream.
  Status add_tar_stream(std::string_view prefix, Reader& tar, TarStreamOptions options = {}) override;

  // A stream of unknown size (a database dump from a pipe), stored as parts
  // `<meta.path>.part000001`, ... of options.dump_part_size bytes, with a "streams"
  // record in the manifest; ArchiveReader gives it back as one entry. meta.size is
  // ignored. The path must lie under dumps/.
  Status add_stream(const EntryMeta& meta, Reader& data) override;

  // Facts recorded in the manifest (later calls for the same name replace earlier ones).
  Status set_dump_info(const std::string& service, const DumpInfo& info) override;
  // Extra facts for a volume; "files" and "bytes" are counted by the writer.
  Status set_volume_info(const std::string& volume, const nlohmann::json& extra) override;
  // The same for a bind mount (`bind` is its directory name below binds/, e.g. "0").
  Status set_bind_info(const std::string& bind, const nlohmann::json& extra) override;

  // Writes the manifest, ends tar, zstd and the seal. Does not close `out`.
  Result<WriteSummary> finish();

 private:
  struct Impl;
  explicit ArchiveWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stacksnap::archive
