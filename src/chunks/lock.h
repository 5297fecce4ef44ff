// Locks of a repository of the format v2 (docs/FORMAT.md §v2.8): who works on it now.
//
//   locks/<32 random hex>   a sealed blob (§v2.4 layout: nonce || AES-256-GCM || tag) of
//                           {"kind": "shared"|"exclusive", "host", "pid", "owner" (free text:
//                            "backup shop", "prune"), "created", "refreshed" (unix seconds)}
//   sealed with the lock key = HKDF-SHA-256(master key, salt = repository id, info =
//   "stacksnap repo v2 lock") as BlobType::kConfig with a zero id (nothing else is sealed with
//   that key, so a lock cannot pass for any other object, nor another object for a lock).
//
// Backups take a shared lock (many at once), prune an exclusive one (alone). A lock whose
// `refreshed` is older than the expiry (30 min) is stale: ignored by everyone and removed by
// exclusive acquirers. A RepoLock refreshes its object from a background thread, so a long
// backup never goes stale while its process lives.
//
// Protocol (no compare-and-swap needed): write the own lock, then list locks/; on a
// conflict remove the own lock and fail (or retry until the wait is over). Of two acquirers
// that conflict, the one that lists second sees the other's lock: both may fail, never both
// succeed (needs a target whose list shows every object committed before it began: local,
// S3 since 2020, memory).
//
// Take the lock BEFORE Repository::open: a backup must deduplicate against an index read
// while it holds its lock, else a prune between open and lock may delete chunks it reuses.
// Before committing, a long operation calls RepoLock::check(): a lock that could not be
// refreshed (or that somebody removed as stale) no longer protects anything.
//
// A lock that does not authenticate (another key; damage) conflicts with every acquirer
// until the target's modification time of the object is older than the expiry.
//
// Thread-safety: the functions are thread-safe; a RepoLock's methods may be called from any
// one thread while its refresh thread runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/cancel.h"
#include "base/clock.h"
#include "base/error.h"
#include "chunks/blob.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::chunks {

enum class LockKind { kShared, kExclusive };
std::string_view lock_kind_name(LockKind k);  // "shared" | "exclusive"

inline constexpr std::chrono::seconds kLockExpiry{30 * 60};
inline constexpr std::chrono::milliseconds kLockRefresh{5 * 60 * 1000};

struct LockOptions {
  std::string owner;                                 // what holds it: "backup shop", "prune"
  std::chrono::seconds expiry = kLockExpiry;         // not refreshed for this long: stale
  std::chrono::milliseconds refresh_every = kLockRefresh;  // the refresh thread's period; 0: no thread
  std::chrono::milliseconds wait{0};                 // on a conflict, retry for this long
  std::chrono::milliseconds retry_every{2000};       // between retries (plus up to 50 % jitter)
  const Clock* clock = nullptr;                      // the system clock when null (tests: a fake)
  std::string host;                                  // gethostname() when empty
  int64_t pid = 0;                                   // getpid() when 0
};

// What a lock object says (readable = false: it does not authenticate; only key and
// modified are known).
struct LockInfo {
  std::string key;  // "locks/<hex>"
  bool readable = true;
  LockKind kind = LockKind::kExclusive;
  std::string host, owner;
  std::string scope;  // boot id and PID namespace of the holder ("" from older locks)
  int64_t pid = 0, created = 0, refreshed = 0;
  SystemTime modified{};  // as the target reports it (may be the epoch: unknown)
  // "prune (exclusive) on host-a, pid 42, since 2026-12-07T08:00:00Z"
  std::string describe() const;
};

// A held lock: removed on destruction (best effort), refreshed every
// LockOptions::refresh_every until then.
class RepoLock {
 public:
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  LockKind kind() const { return kind_; }
  const std::string& key() const { return key_; }
  // Rewrites the lock with refreshed = now. FailedPrecondition (and the lock is lost for
  // good) when the object is gone: somebody removed it as stale.
  Status refresh();
  // OK while the lock protects its holder: not lost, and the last successful refresh is
  // younger than the expiry. FailedPrecondition otherwise.
  Status check() const;
  // Stops refreshing and removes the lock; idempotent.
  Status release();

 private:
  friend struct LockAccess;  // lock.cpp: acquisition
  RepoLock() = default;
  void refresh_loop(std::stop_token stop);
  Result<std::string> sealed_object(int64_t refreshed);

  storage::Target* target_ = nullptr;
  std::unique_ptr<BlobCodec> codec_;
  LockOptions options_;
  LockKind kind_ = LockKind::kShared;
  std::string key_;
  int64_t created_ = 0;
  std::mutex mu_;  // one refresh or release at a time (codec_ is one thread's)
  std::atomic<int64_t> refreshed_{0};
  std::atomic<bool> lost_{false};
  bool released_ = false;
  std::mutex wake_mu_;
  std::condition_variable_any wake_;
  std::jthread refresher_;
};

// Shared: fails (Unavailable "repository locked by prune (exclusive) on host-a, pid 42,
// since …") while a live exclusive lock exists. Exclusive: fails while any other live lock
// exists; removes stale ones. NotFound without a repository at `target`.
Result<std::unique_ptr<RepoLock>> acquire_shared(storage::Target& target, const seal::MasterKey& key,
                                                 LockOptions options, const StopToken& stop = {});
Result<std::unique_ptr<RepoLock>> acquire_exclusive(storage::Target& target, const seal::MasterKey& key,
                                                    LockOptions options, const StopToken& stop = {});

// Every lock object on the target (stale ones included), for status pages and tests.
Result<std::vector<LockInfo>> list_locks(storage::Target& target, const seal::MasterKey& key);

}  // namespace stacksnap::chunks
