#include "repo/gc.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "chunks/repository.h"
#include "repo/snapshot.h"
#include "seal/crypto.h"

namespace stacksnap::repo {

namespace gc_detail {
namespace {

using chunks::BlobCodec;
using chunks::ChunkId;
using chunks::PackEntry;
using chunks::PackId;

constexpr size_t kMaxIndexFile = 1ull << 30;
constexpr size_t kMaxPackFile = 256u << 20;  // packs close at 16 MiB; one blob is at most 8 MiB
constexpr std::string_view kDataPrefix = "data/";
constexpr std::string_view kIndexPrefix = "index/";
constexpr size_t kMaxIndexEntries = 65536;  // per index file a collection writes (~3 MiB of plaintext)

// (Not check_cancel(): inlined, GCC 12 sees a false -Warray-bounds in its string concatenation.)
[[gnu::noinline]] Status prune_stop(const StopToken& stop) {
  if (stop.stop_requested()) return cancelled("prune cancelled (the repository stays whole; prune again to finish)");
  return {};
}

std::string sha256_of(std::string_view bytes) { return seal::hex_encode(seal::Sha256::of(as_bytes(bytes))); }

// "data/ab/ab12…" → its pack id; nullopt for anything else under data/.
std::optional<PackId> pack_id_of(const std::string& key) {
  if (key.size() != kDataPrefix.size() + 3 + 64 || !key.starts_with(kDataPrefix)) return std::nullopt;
  const std::string hex = key.substr(kDataPrefix.size() + 3);
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos || key.compare(kDataPrefix.size(), 2, hex, 0, 2) != 0 ||
      key[kDataPrefix.size() + 2] != '/') {
    return std::nullopt;
  }
  auto raw = seal::hex_decode(hex);
  if (!raw.ok()) return std::nullopt;
  PackId id{};
  std::memcpy(id.data(), raw->data(), id.size());
  return id;
}

struct IndexFiles {
  std::vector<std::string> names;
  chunks::Index merged;  // merged in name order, as Repository::open merges
};

Result<IndexFiles> read_index_files(storage::Target& target, BlobCodec& meta) {
  IndexFiles out;
  TRY_CTX(target.list(std::string(kIndexPrefix),
                      [&](const storage::ObjectInfo& o) -> Status {
                        out.names.push_back(o.key);
                        return {};
                      }),
          "list the indexes");
  for (const auto& name : out.names) {
    const std::string sealed = TRY_CTX(storage::get_small(target, name, kMaxIndexFile), "read " + name);
    if (name.substr(name.rfind('/') + 1) != sha256_of(sealed)) return data_loss(name + ": content does not match its name");
    out.merged.merge(TRY_CTX(chunks::Index::open(meta, as_bytes(sealed)), name));
  }
  return out;
}

// The blob ids the snapshots reference, sorted and unique. 32 bytes an id: 32 MB per
// million chunks (an unordered_set would need about three times that in nodes and
// buckets). for_each_blob reports a chunk once per reference, so the vector is compacted
// (sort + unique) whenever it has doubled since the last compaction.
class ReferencedBlobs {
 public:
  void add(const ChunkId& id) {
    ids_.push_back(id);
    if (ids_.size() >= 2 * std::max<size_t>(compacted_, 1u << 16)) compact();
  }
  void compact() {
    std::sort(ids_.begin(), ids_.end());
    ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
    ids_.shrink_to_fit();
    compacted_ = ids_.size();
  }
  bool contains(const ChunkId& id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }
  const std::vector<ChunkId>& ids() const { return ids_; }

 private:
  std::vector<ChunkId> ids_;
  size_t compacted_ = 0;
};

enum class PackAction { kKeep, kDelete, kRepack };

struct PackPlan {
  PackId id{};
  size_t at = 0;       // position in the merged index's packs()
  size_t entries = 0;  // how many it lists
  bool present = false;   // listed under data/
  uint64_t size = 0;      // as listed
  uint64_t live_bytes = 0;
  std::vector<size_t> live;  // entries that hold a referenced blob where readers find it
  PackAction action = PackAction::kKeep;
};

void append_u32_le(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// New packs from sealed blobs copied as they are (chunks/pack.h layout; the header sealed
// anew with the data key). Each pack is uploaded as soon as it is full.
class RepackWriter {
 public:
  RepackWriter(storage::Target& target, BlobCodec& data) : target_(target), data_(data) {}

  Status add(const PackEntry& e, std::string_view sealed) {
    PackEntry moved = e;
    moved.offset = bytes_.size();
    bytes_.append(sealed);
    entries_.push_back(moved);
    if (bytes_.size() >= chunks::kPackTarget) return flush();
    return {};
  }

  Status flush() {
    if (entries_.empty()) return {};
    std::string header;
    append_u32_le(header, static_cast<uint32_t>(entries_.size()));
    for (const auto& e : entries_) chunks::append_entry(header, e);
    const size_t sealed = TRY(data_.seal(chunks::BlobType::kPackHeader, ChunkId{}, as_bytes(header), bytes_));
    append_u32_le(bytes_, static_cast<uint32_t>(sealed));
    // The pack must read back as PackWriter's packs do before anything depends on it.
    const auto back = TRY_CTX(chunks::read_pack_header(data_, as_bytes(bytes_), bytes_.size()), "repack");
    if (back != entries_) return internal_error("repack: the new pack's header does not list what it holds");
    const PackId id = seal::Sha256::of(as_bytes(bytes_));
    const std::string name = chunks::pack_name(id);
    TRY_CTX(storage::put_small(target_, name, bytes_), "upload " + name);
    uploaded_bytes_ += bytes_.size();
    packs_.emplace_back(id, std::move(entries_));
    entries_.clear();
    bytes_.clear();
    return {};
  }

  const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs() const { return packs_; }
  uint64_t uploaded_bytes() const { return uploaded_bytes_; }

 private:
  storage::Target& target_;
  BlobCodec& data_;
  std::string bytes_;
  std::vector<PackEntry> entries_;
  std::vector<std::pair<PackId, std::vector<PackEntry>>> packs_;
  uint64_t uploaded_bytes_ = 0;
};

Result<std::unique_ptr<BlobCodec>> codec_for(const seal::MasterKey& key, const chunks::Repository& repo,
                                             std::string_view purpose) {
  return BlobCodec::create(TRY(chunks::repository_key(key, repo.id(), purpose)));
}

// Step 1: every blob any snapshot references (tree lists and data chunks).
Result<ReferencedBlobs> referenced_blobs(const chunks::Repository& repo, PruneReport& report, const StopToken& stop) {
  ReferencedBlobs refs;
  const auto snaps = TRY(repo.snapshots());
  for (const auto& snap : snaps) {
    TRY(prune_stop(stop));
    const std::string format = snap.doc.is_object() ? snap.doc.value("format", "") : "";
    if (format != kSnapshotFormat) {
      return failed_precondition("snapshot " + snap.id + " has the format \"" + format +
                                 "\" that this version cannot list the chunks of; nothing was deleted");
    }
    TRY_CTX(for_each_blob(repo, snap.doc,
                          [&](chunks::BlobType, const ChunkId& id) -> Status {
                            refs.add(id);
                            return {};
                          }),
            "snapshot " + snap.id);
  }
  refs.compact();
  report.snapshots = snaps.size();
  return refs;
}

// Step 2: what to do with every pack an index names.
Result<std::vector<PackPlan>> plan_packs(const chunks::Index& index, const ReferencedBlobs& refs,
                                         const std::map<std::string, uint64_t>& on_target, double threshold) {
  std::vector<PackPlan> plans;
  std::set<PackId> seen;
  for (size_t at = 0; at < index.pack_count(); ++at) {
    const PackId& pack = index.pack_id(at);
    if (!seen.insert(pack).second) continue;  // named by several index files
    const std::vector<PackEntry> entries = index.pack_entries(at);
    PackPlan p;
    p.id = pack;
    p.at = at;
    p.entries = entries.size();
    const std::string name = chunks::pack_name(pack);
    if (auto it = on_target.find(name); it != on_target.end()) {
      p.present = true;
      p.size = it->second;
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      if (!refs.contains(e.id)) continue;
      const chunks::FoundLocation found = index.find(e.id);  // where readers find it: the first entry
      if (!found || found->pack != pack || found->offset != e.offset) continue;
      p.live.push_back(i);
      p.live_bytes += e.length;
    }
    if (p.live.empty()) {
      p.action = PackAction::kDelete;
    } else if (!p.present) {
      return data_loss(name + " is named by an index and holds " + std::to_string(p.live.size()) +
                       " chunks that snapshots reference, but it is missing; nothing was deleted (run a check)");
    } else {
      const uint64_t garbage = p.size > p.live_bytes ? p.size - p.live_bytes : 0;
      if (static_cast<double>(garbage) > threshold * static_cast<double>(p.size)) p.action = PackAction::kRepack;
    }
    plans.push_back(std::move(p));
  }
  return plans;
}

// Step 3: the live blobs of the packs to repack, into new packs.
Status repack(storage::Target& target, const chunks::Index& index, const std::vector<PackPlan>& plans, RepackWriter& out,
              const StopToken& stop) {
  for (const auto& p : plans) {
    if (p.action != PackAction::kRepack) continue;
    TRY(prune_stop(stop));
    const std::string name = chunks::pack_name(p.id);
    const std::string bytes = TRY_CTX(storage::get_small(target, name, kMaxPackFile), "read " + name);
    if (seal::Sha256::of(as_bytes(bytes)) != p.id) return data_loss(name + ": content does not match its name");
    const std::vector<PackEntry> entries = index.pack_entries(p.at);
    for (size_t i : p.live) {
      const auto& e = entries[i];
      if (e.offset > bytes.size() || e.length > bytes.size() - e.offset) {
        return data_loss(name + ": chunk " + chunks::to_hex(e.id) + " lies outside the pack");
      }
      TRY(out.add(e, std::string_view(bytes).substr(e.offset, e.length)));
    }
  }
  return out.flush();
}

}  // namespace
}  // namespace gc_detail

nlohmann::json PruneReport::to_json() const {
  return {{"snapshots", snapshots},         {"indexes_before", indexes_before}, {"indexes_after", indexes_after},
          {"packs_before", packs_before},   {"packs_after", packs_after},       {"deleted_packs", deleted_packs},
          {"unindexed_packs", unindexed_packs}, {"repacked_packs", repacked_packs}, {"new_packs", new_packs},
          {"bytes_before", bytes_before},   {"bytes_after", bytes_after},       {"bytes_freed", bytes_freed},
          {"blobs_kept", blobs_kept},       {"blobs_deleted", blobs_deleted},   {"dry_run", dry_run}};
}

Result<PruneReport> prune_repository(storage::Target& target, const seal::MasterKey& key, PruneOptions options,
                                     const StopToken& stop) {
  using namespace gc_detail;
  if (!(options.repack_threshold >= 0.0 && options.repack_threshold <= 1.0)) {
    return invalid_argument("prune: the repack threshold must lie between 0 and 1");
  }
  if (options.lock.owner.empty()) options.lock.owner = "prune";
  auto lock = TRY_CTX(chunks::acquire_exclusive(target, key, options.lock, stop), "prune");
  // Opened under the lock: every index and snapshot a finished backup wrote is seen.
  auto repo = TRY(chunks::Repository::open(target, key));
  auto meta = TRY(codec_for(key, *repo, "meta"));
  auto data = TRY(codec_for(key, *repo, "data"));
  PruneReport report;
  report.dry_run = options.dry_run;

  // 1. Indexes and references.
  auto read = read_index_files(target, *meta);
  if (!read.ok() && read.error().code() == Code::kDataLoss) {
    return std::move(read).error().with_context(
        "garbage collection does not run past a damaged index (it could take packs that snapshots need for garbage)");
  }
  const IndexFiles indexes = TRY(std::move(read));
  report.indexes_before = indexes.names.size();
  const ReferencedBlobs refs = TRY(referenced_blobs(*repo, report, stop));
  size_t unindexed_refs = 0;
  for (const auto& id : refs.ids()) unindexed_refs += indexes.merged.contains(id) ? 0 : 1;
  if (unindexed_refs > 0) {
    return data_loss(std::to_string(unindexed_refs) +
                     " chunks that snapshots reference are in no index; nothing was deleted (run a check)");
  }

  // 2. Plan.
  std::map<std::string, uint64_t> on_target;  // every pack object: name → size
  TRY_CTX(target.list(std::string(kDataPrefix),
                      [&](const storage::ObjectInfo& o) -> Status {
                        if (pack_id_of(o.key)) on_target.emplace(o.key, o.size);
                        return {};
                      }),
          "list the packs");
  report.packs_before = on_target.size();
  for (const auto& [name, size] : on_target) report.bytes_before += size;
  const auto plans = TRY(plan_packs(indexes.merged, refs, on_target, options.repack_threshold));
  std::set<std::string> indexed;
  bool index_changes = false;
  uint64_t deleted_bytes = 0, repack_live_bytes = 0;
  for (const auto& p : plans) {
    indexed.insert(chunks::pack_name(p.id));
    if (p.action == PackAction::kKeep) {
      report.blobs_kept += p.entries;
      continue;
    }
    index_changes = true;
    if (p.present) {
      ++report.deleted_packs;
      deleted_bytes += p.size;
    }
    report.blobs_kept += p.live.size();
    report.blobs_deleted += p.entries - p.live.size();
    if (p.action == PackAction::kRepack) {
      ++report.repacked_packs;
      repack_live_bytes += p.live_bytes;
    }
  }
  std::vector<std::string> unindexed;
  for (const auto& [name, size] : on_target) {
    if (indexed.count(name)) continue;
    unindexed.push_back(name);
    ++report.unindexed_packs;
    ++report.deleted_packs;
    deleted_bytes += size;
  }
  // The index is rewritten when a pack it names goes, and also to merge the small index
  // files backups write (one each; readers load them all) into files of up to
  // kMaxIndexEntries entries: few objects, and one file's plaintext stays small to open
  // (opening holds a file sealed, decrypted and decompressed at once).
  const size_t live_files = (report.blobs_kept + kMaxIndexEntries - 1) / kMaxIndexEntries;
  const bool rewrite_index = index_changes || indexes.names.size() > std::max<size_t>(live_files, 1);
  if (options.dry_run) {  // the new packs estimated by their blobs alone
    report.new_packs = (repack_live_bytes + chunks::kPackTarget - 1) / chunks::kPackTarget;
    report.packs_after = report.packs_before - report.deleted_packs + report.new_packs;
    report.bytes_after = report.bytes_before - deleted_bytes + repack_live_bytes;
    report.bytes_freed = report.bytes_before - report.bytes_after;
    const bool any_live = report.new_packs > 0 || std::any_of(plans.begin(), plans.end(), [](const PackPlan& p) {
                            return p.action == PackAction::kKeep;
                          });
    report.indexes_after = rewrite_index ? (any_live ? std::max<size_t>(live_files, 1) : 0) : report.indexes_before;
    return report;
  }

  // 3. New packs (garbage until an index names them).
  TRY(lock->check());
  RepackWriter writer(target, *data);
  TRY(repack(target, indexes.merged, plans, writer, stop));
  report.new_packs = writer.packs().size();

  // 4. Index files of every pack kept and every new pack (each up to kMaxIndexEntries
  // entries); 5. then the old index files go.
  report.indexes_after = report.indexes_before;
  if (rewrite_index) {
    std::set<std::string> fresh_names;
    chunks::Index fresh;
    size_t fresh_entries = 0;
    auto upload_fresh = [&]() -> Status {
      if (fresh.packs().empty()) return {};
      const std::string sealed = TRY(fresh.seal(*meta));
      const std::string name = std::string(kIndexPrefix) + sha256_of(sealed);
      TRY(prune_stop(stop));
      TRY(lock->check());
      TRY_CTX(storage::put_small(target, name, sealed), "upload " + name);
      fresh_names.insert(name);
      fresh = chunks::Index();
      fresh_entries = 0;
      return {};
    };
    auto add = [&](const chunks::PackId& pack, const std::vector<chunks::PackEntry>& entries) -> Status {
      if (fresh_entries > 0 && fresh_entries + entries.size() > kMaxIndexEntries) TRY(upload_fresh());
      fresh.add_pack(pack, entries);
      fresh_entries += entries.size();
      return {};
    };
    for (const auto& p : plans) {
      if (p.action == PackAction::kKeep) TRY(add(p.id, indexes.merged.pack_entries(p.at)));
    }
    for (const auto& [pack, entries] : writer.packs()) TRY(add(pack, entries));
    TRY(upload_fresh());
    for (const auto& name : indexes.names) {
      if (fresh_names.count(name)) continue;
      TRY(prune_stop(stop));
      TRY_CTX(target.remove(name), "delete " + name);
    }
    report.indexes_after = fresh_names.size();
  }

  // 6. Packs no index names any more.
  TRY(lock->check());
  for (const auto& p : plans) {
    if (p.action == PackAction::kKeep) continue;
    TRY(prune_stop(stop));
    const std::string name = chunks::pack_name(p.id);
    TRY_CTX(target.remove(name), "delete " + name);
  }
  for (const auto& name : unindexed) {
    TRY(prune_stop(stop));
    TRY_CTX(target.remove(name), "delete " + name);
  }
  report.packs_after = report.packs_before - report.deleted_packs + report.new_packs;
  report.bytes_after = report.bytes_before - deleted_bytes + writer.uploaded_bytes();
  report.bytes_freed = report.bytes_before > report.bytes_after ? report.bytes_before - report.bytes_after : 0;
  (void)lock->release();  // a lock that cannot be removed goes stale; the work is done
  return report;
}

Status forget_snapshot(storage::Target& target, const std::string& snapshot_id) {
  if (snapshot_id.size() != 64 || snapshot_id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return invalid_argument("not a snapshot id: " + snapshot_id);
  }
  TRY_CTX(target.remove(snapshot_key(snapshot_id)), "forget snapshot " + snapshot_id);
  return {};
}

}  // namespace stacksnap::repo
