// EntrySource: a backup read entry by entry, whatever holds it (the reading side of
// archive/sink.h): an ArchiveReader over a v1 archive, or repo::SnapshotSource over a
// repository snapshot, read in place. The restore applies, checks and replays dumps from
// a source, so a snapshot is restored without being exported first.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "archive/entry.h"
#include "archive/manifest.h"
#include "base/error.h"
#include "base/stream.h"
#include "seal/key.h"

namespace stacksnap::archive {

struct Entry {
  EntryMeta meta;          // for a stream: the logical path; meta.size is 0 (unknown)
  bool is_stream = false;  // a dump stored as parts (FORMAT.md §6.3)
};

// A run of the current entry's content at a logical offset (holes are skipped).
struct ContentBlock {
  Bytes data;  // empty: the content is exhausted
  uint64_t offset = 0;
};

class EntrySource {
 public:
  virtual ~EntrySource() = default;
  // stacksnap/plan.json.
  virtual const nlohmann::json& plan() const = 0;
  // The next entry, or nullptr at the end (once the whole source has been verified).
  virtual Result<const Entry*> next() = 0;
  // The current entry's logical content (holes read as zeros). Valid until next().
  virtual Reader& content() = 0;
  // The current regular file's SHA-256 (hex), checked: what is left of the content is read
  // first, and a content that does not match what the backup recorded is DataLoss.
  virtual Result<std::string> file_sha256() = 0;
  // Sparse-aware alternative to content(): data runs with their offsets.
  virtual Result<ContentBlock> read_block() = 0;
  // The manifest's head (dumps, volumes, binds, streams). Valid after next() gave nullptr.
  virtual const Manifest& manifest() const = 0;
};

// Opens a fresh source over the same backup (each pass of a restore opens its own).
using SourceOpener = std::function<Result<std::unique_ptr<EntrySource>>()>;

// A v1 archive file read from its start (authenticated as it is read). `keys` must outlive
// the source.
Result<std::unique_ptr<EntrySource>> open_archive_file(const std::string& path, const seal::KeySource& keys);

}  // namespace stacksnap::archive
