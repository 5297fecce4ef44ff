// stacksnap/manifest.json, the last entry of every archive (docs/FORMAT.md §7), and the
// compact in-memory logs that keep its entry list bounded: one line of JSON per entry,
// zstd-compressed in chunks (~20 bytes per entry instead of ~1 KiB as a JSON DOM).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/entry.h"
#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::archive {

inline constexpr std::string_view kPlanPath = "stacksnap/plan.json";
inline constexpr std::string_view kManifestPath = "stacksnap/manifest.json";
inline constexpr int kManifestVersion = 1;
// Bounds a reader puts on the small JSON documents (the entry list streams).
inline constexpr size_t kMaxPlanSize = 16 << 20;

// One record of "entries": what the tar header said and the SHA-256 of the content.
struct ManifestEntry {
  std::string path;
  EntryType type = EntryType::kFile;
  uint64_t size = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  std::string sha256;  // lowercase hex, regular files only
  std::string link;    // symlink target / hardlink target
  bool operator==(const ManifestEntry&) const = default;
};
ManifestEntry manifest_entry_for(const EntryMeta& meta, std::string sha256_hex);
nlohmann::json to_json(const ManifestEntry& e);
Result<ManifestEntry> manifest_entry_from_json(const nlohmann::json& j);
// "size 10 != 12, sha256 ab12… != cd34…": the fields that differ, for error messages.
std::string describe_difference(const ManifestEntry& expected, const ManifestEntry& actual);

// A dump of unknown size stored as consecutive parts `<path>.part000001`, ... (§6.3).
struct StreamRecord {
  std::string path;
  uint32_t parts = 0;
  uint64_t size = 0;
  std::string sha256;  // of the whole logical stream
  bool operator==(const StreamRecord&) const = default;
};

// True for "dumps/.../<name>.partNNNNNN" (six digits, N >= 1): a part of a stream.
bool is_stream_part_name(std::string_view path, std::string* logical, uint32_t* index);

// Per-dump facts the backup pipeline knows; row counts where the engine tells them.
struct DumpInfo {
  std::string engine;   // "postgres", "mysql", "redis"
  std::string version;  // server version
  // database → table → rows
  std::map<std::string, std::map<std::string, int64_t>> row_counts;
  nlohmann::json extra = nlohmann::json::object();  // merged into the record as is
};
nlohmann::json to_json(const DumpInfo& d);

// Counted by the writer for every entry under volumes/<name>/ and binds/<name>/.
struct TreeStats {
  uint64_t files = 0;  // regular files (hardlinks not counted again)
  uint64_t bytes = 0;  // their logical sizes
  bool operator==(const TreeStats&) const = default;
};

// Everything in the manifest but the entry list, which is streamed.
struct Manifest {
  std::string created;  // RFC 3339 UTC
  uint64_t entry_count = 0;
  uint64_t file_count = 0;
  uint64_t total_bytes = 0;  // sum of regular file sizes
  std::vector<StreamRecord> streams;
  std::map<std::string, nlohmann::json> dumps;    // service → DumpInfo JSON
  std::map<std::string, nlohmann::json> volumes;  // volume → {"files","bytes", extra…}
  std::map<std::string, nlohmann::json> binds;    // bind index/name → {"files","bytes"}
  // The head document (all keys but "entries").
  nlohmann::json head_json() const;
  static Result<Manifest> from_head_json(const nlohmann::json& j);
};

// The manifest's facts a sink gathers as a backup's entries pass (ArchiveWriter and
// repo::SnapshotSink keep one each): the dumps' records, each volume's and bind's facts,
// and the regular files and bytes counted under volumes/<name>/ and binds/<name>/.
class ManifestFacts {
 public:
  // Counts `m` when it is a regular file inside a tree.
  void count(const EntryMeta& m);
  // InvalidArgument when the record does not serialise (not valid UTF-8, not an object).
  Status set_dump_info(const std::string& service, const DumpInfo& info);
  Status set_volume_info(const std::string& volume, const nlohmann::json& extra);
  Status set_bind_info(const std::string& bind, const nlohmann::json& extra);
  // m.dumps, m.volumes and m.binds: each tree's facts with its "files" and "bytes".
  void fill(Manifest& m) const;

 private:
  std::map<std::string, nlohmann::json> dumps_, volume_extra_, bind_extra_;
  std::map<std::string, TreeStats> volume_stats_, bind_stats_;
};

// Append-only list of lines kept zstd-compressed in memory.
class LineLog {
 public:
  LineLog();
  ~LineLog();
  LineLog(LineLog&&) noexcept;
  LineLog& operator=(LineLog&&) noexcept;
  void append(std::string_view line);  // line must not contain '\n'
  uint64_t count() const { return count_; }
  uint64_t raw_bytes() const { return raw_bytes_; }  // lines without separators
  size_t memory_bytes() const;

  class Cursor {
   public:
    explicit Cursor(const LineLog& log) : log_(log) {}
    // The next line (valid until the next call) or nullopt at the end.
    Result<std::optional<std::string_view>> next();

   private:
    const LineLog& log_;
    size_t chunk_ = 0;
    std::string buf_;
    size_t pos_ = 0;
    bool pending_done_ = false;
  };

 private:
  void seal_pending();
  std::vector<std::string> chunks_;  // each a zstd frame of '\n'-terminated lines
  std::string pending_;
  uint64_t count_ = 0, raw_bytes_ = 0;
};

// Serialises manifest.json: the head, then "entries" with one entry per line.
// Its exact byte size is known before writing (the tar header needs it).
class ManifestSerializer {
 public:
  ManifestSerializer(const Manifest& m, const LineLog& entries);
  uint64_t size() const { return size_; }
  Status write_to(Writer& out) const;

 private:
  std::string head_;  // up to and including `"entries":[`
  const LineLog& entries_;
  uint64_t size_ = 0;
};

// Streams manifest.json: calls on_entry for each element of "entries" (in order) without
// holding the list; returns the rest. DataLoss for malformed JSON or a missing field.
Result<Manifest> parse_manifest(Reader& in, const std::function<Status(const ManifestEntry&)>& on_entry);

}  // namespace stacksnap::archive
