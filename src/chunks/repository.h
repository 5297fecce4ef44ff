// A repository of the format v2 on a storage target (docs/FORMAT.md §v2): content-defined
// chunks, deduplicated across every snapshot (and every host and project sharing the
// repository and its key), packed, indexed, sealed.
//
//   config                  "SSRC2" || repo id (16 bytes) || key kind and Argon2id parameters (32) ||
//                           sealed {version, chunker key, id key}
//   data/ab/<sha256>        packs (chunks/pack.h)
//   index/<sha256>          sealed indexes (chunks/index.h)
//   snapshots/<sha256>      sealed snapshots: JSON the caller defines (the backup's manifest)
//
// Keys: every key is HKDF-SHA-256(master key, salt = repo id, info = "stacksnap repo v2 " +
// purpose); the chunker and chunk-id keys are random per repository and live only inside
// the sealed config, so chunk ids and boundaries reveal nothing to the storage provider
// (it learns sizes and counts).
//
// Writing (SnapshotWriter): new chunks go into packs; a pack is uploaded when full; commit()
// uploads the last pack, then one index of the packs this writer uploaded, then the snapshot:
// the snapshot is the commit point. A crash anywhere leaves packs (and maybe an index) that
// no snapshot names: garbage for prune, never a snapshot that names a missing chunk.
//
// Thread-safety: a Repository's const methods may run concurrently; a SnapshotWriter is
// used from one thread.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "chunks/chunker.h"
#include "chunks/index.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::chunks {

inline constexpr int kRepoVersion = 2;

struct SnapshotInfo {
  std::string id;  // hex SHA-256 of the sealed object (its name under snapshots/)
  nlohmann::json doc;
};

class SnapshotWriter;
struct SealPipeline;
struct PackUploader;
struct SpoolPack;

struct WriteOptions {
  // Where packs are put together while they fill: unnamed files in this directory (on
  // disk: their pages are the page cache's, and a pack is gone from it, truncated, right
  // after its upload), uploaded from there (in the kernel, to a local target). Empty: in
  // memory (two buffers of 16 MiB).
  std::string spool_dir;
};

// HKDF-SHA-256(master key, salt = repository id, info = "stacksnap repo v2 " + purpose): the
// key scheme of FORMAT.md §v2.2 ("config", "data", "meta", "lock"), for the Repository
// itself and the objects beside it (locks; prune writing packs and indexes; the check).
// `repo_id_hex`: Repository::id().
Result<Key32> repository_key(const seal::MasterKey& key, std::string_view repo_id_hex, std::string_view purpose);

class Repository {
 public:
  // A new repository: AlreadyExists when `target` holds a config.
  static Result<std::unique_ptr<Repository>> init(storage::Target& target, const seal::MasterKey& key);
  // An existing one, its indexes loaded (damaged index files skipped: damaged_indexes()).
  // NotFound without a config; PermissionDenied when the key does not open it.
  static Result<std::unique_ptr<Repository>> open(storage::Target& target, const seal::MasterKey& key);
  // The same with the key a KeySource gives for the kind the config names (a bare
  // passphrase is stretched with the Argon2id parameters stored in clear in the config).
  static Result<std::unique_ptr<Repository>> open(storage::Target& target, const seal::KeySource& keys);
  // The master key `keys` gives for the repository at `target` (its config read, nothing
  // else): for the calls that take a MasterKey (locks, check, prune). NotFound without a
  // repository; Unauthenticated when the source cannot give that kind of key.
  static Result<seal::MasterKey> master_key(storage::Target& target, const seal::KeySource& keys);
  ~Repository();

  const std::string& id() const { return id_; }
  const Chunker& chunker() const { return *chunker_; }
  ChunkId id_of(Bytes data) const { return chunk_id(id_key_, data); }
  // The index as loaded (plus what writers of this object committed).
  size_t known_blobs() const;
  bool has(const ChunkId& id) const;
  // The heap memory of the loaded index (Index::memory_bytes(); for benchmarks and tests).
  size_t index_memory_bytes() const;

  // A blob's plaintext (ranged read of its pack). NotFound when no index names it;
  // DataLoss when it does not authenticate.
  Result<std::string> read(BlobType type, const ChunkId& id) const;

  Result<std::unique_ptr<SnapshotWriter>> write_snapshot(const WriteOptions& options = {});
  Result<std::vector<SnapshotInfo>> snapshots() const;
  // One snapshot by id (hex SHA-256 of its sealed object): NotFound when absent, DataLoss
  // when its bytes do not match its name or do not authenticate.
  Result<SnapshotInfo> snapshot(const std::string& id) const;

  storage::Target& target() const { return target_; }
  // Index files open() skipped as damaged ("index/<name>: why"); empty when all were read.
  const std::vector<std::string>& damaged_indexes() const { return damaged_indexes_; }

 private:
  friend class SnapshotWriter;
  Repository(storage::Target& target) : target_(target) {}
  Status derive_keys(const seal::MasterKey& key);
  Status load_indexes();
  void learn(const Index& written);

  storage::Target& target_;
  std::string id_;  // hex of the 16-byte repository id
  Key32 data_key_{}, meta_key_{}, config_key_{}, id_key_{};
  std::optional<Chunker> chunker_;
  mutable std::mutex mu_;
  Index index_;
  std::vector<std::string> damaged_indexes_;
};

struct WriteStats {
  uint64_t chunks = 0, new_chunks = 0;
  uint64_t bytes = 0, new_bytes = 0;  // plaintext
  uint64_t uploaded_bytes = 0;        // packs, index, snapshot
  uint64_t packs = 0;
};

class SnapshotWriter {
 public:
  ~SnapshotWriter();
  // Stores one blob (deduplicated against the repository and this writer); returns its id.
  // New blobs are compressed and sealed on worker threads (one per core, at most 4), in
  // batches of a few MiB, while the caller goes on chunking; they enter packs in the
  // order they were added. A full pack goes to an uploader thread, which names it, uploads
  // it, reads it back and checks it (its header against what was written, every blob
  // authenticated and decoded to its length) while the next pack fills: one pack at a
  // time, so a writer holds at most two packs.
  Result<ChunkId> add(BlobType type, Bytes plaintext);
  // Waits until every blob added so far is sealed and in a pack; every pack closed so far
  // (one that a later blob did not fit into) is uploaded and checked (what a crash after
  // this point leaves on the target: tests, and a caller about to wait).
  Status settle();
  // Uploads every blob added so far (the last pack too, however small) and waits until
  // every pack this writer uploaded was read back and checked (the pack's SHA-256 against
  // its name is `repo check`'s: a blob that authenticates is the blob that was sealed).
  // The backup's verify of what it stored (the chunks it reused were checked when they
  // were written, and by `repo check`). DataLoss names the pack.
  Status verify_uploaded(const StopToken& stop = {});
  // Chunks a stream and stores its chunks; returns their ids in order.
  Result<std::vector<ChunkId>> add_stream(Reader& in);
  // Uploads what is pending, the index of this writer's packs, then the snapshot.
  Result<SnapshotInfo> commit(const nlohmann::json& snapshot);
  const WriteStats& stats() const { return stats_; }

 private:
  friend class Repository;
  SnapshotWriter(Repository& repo, std::unique_ptr<BlobCodec> codec, WriteOptions options);
  Status add_to_pack(BlobType type, const ChunkId& id, Bytes sealed, uint32_t raw_length);
  Status flush_pack();
  Status dispatch();                // the batch being gathered goes to the workers
  Status take_oldest();             // the oldest batch in flight, waited for, into packs
  Status drain();                   // every batch in flight, into packs; the pack uploading, done
  Status collect_upload();          // the pack the uploader has, waited for and recorded
  Status sticky(Status st);         // st, kept in failed_ when it is the first failure

  Repository& repo_;
  std::unique_ptr<BlobCodec> codec_;
  PackWriter pack_;
  Index written_;                                   // packs uploaded by this writer
  std::unordered_map<ChunkId, bool, ChunkIdHash> pending_;  // added, not yet in an uploaded pack
  std::unique_ptr<SealPipeline> seal_;
  std::unique_ptr<PackUploader> uploader_;
  WriteOptions options_;
  std::unique_ptr<SpoolPack> spool_;                     // the pack filling, when spooling
  std::vector<std::unique_ptr<SpoolPack>> spool_spare_;  // uploaded ones, emptied, for reuse
  // The first failure of sealing, packing, uploading or reading back: the writer has
  // dropped blobs it had accepted, so every later call returns it (never a commit).
  Status failed_;
  std::vector<std::byte> chunk_buffer_;  // ChunkReader's, kept from stream to stream
  WriteStats stats_;
  bool committed_ = false;
};

// Reads the chunks `ids` in order into `out` (a file's content).
Status read_stream(const Repository& repo, const std::vector<ChunkId>& ids, Writer& out);

}  // namespace stacksnap::chunks
