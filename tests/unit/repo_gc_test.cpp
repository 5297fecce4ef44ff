// Locks (chunks/lock.h) and garbage collection (repo/gc.h) of a v2 repository: forgotten
// snapshots free their packs, mostly-garbage packs are rewritten, packs of crashed backups
// go, a backup and a prune running at once never lose a chunk, a prune interrupted at any
// write leaves every snapshot readable, and locks exclude what they must.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "archive/reader.h"
#include "archive/writer.h"
#include "archive_testutil.h"
#include "chunks/lock.h"
#include "repo/gc.h"
#include "repo/snapshot.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::gc_test {
namespace {

using Json = nlohmann::json;
using Files = std::map<std::string, std::string>;  // archive path → content
using chunks::LockKind;
using chunks::LockOptions;
using namespace std::chrono_literals;

Result<std::string> make_archive(const seal::MasterKey& key, const Files& files) {
  StringWriter out;
  auto w = TRY(archive::ArchiveWriter::create(out, key, {.zstd_threads = -1}));
  TRY(w->add_plan({{"project", "shop"}}));
  for (const auto& [path, content] : files) {
    MemoryReader r(content);
    TRY(w->add_file(archive::EntryMeta{.path = path, .mode = 0644, .mtime_sec = 1765090000, .size = content.size()}, r));
  }
  TRY(w->finish());
  return out.take();
}

Result<Files> files_of(const std::string& sealed, const seal::MasterKey& key) {
  MemoryReader in(sealed);
  auto keys = seal::KeySource::from_key(TRY(key.clone()));
  auto r = TRY(archive::ArchiveReader::open(in, keys));
  Files out;
  for (;;) {
    const archive::Entry* e = TRY(r->next());
    if (!e) break;
    if (e->meta.type == archive::EntryType::kFile) out[e->meta.path] = TRY(read_all(r->content(), 1u << 30));
  }
  return out;
}

// One backup of `files` as a snapshot of `repo`.
Result<chunks::SnapshotInfo> store(chunks::Repository& repo, const seal::MasterKey& key, const Files& files) {
  const std::string sealed = TRY(make_archive(key, files));
  MemoryReader in(sealed);
  auto keys = seal::KeySource::from_key(TRY(key.clone()));
  auto r = TRY(archive::ArchiveReader::open(in, keys));
  return repo::ingest_archive(repo, *r, {{"backup_id", "20261207T080000Z-00000001"}, {"project", "shop"}}, StopToken{});
}

// The snapshot, read from a freshly opened repository, exports to an archive holding exactly `files`.
::testing::AssertionResult exports_exactly(storage::Target& target, const seal::MasterKey& key, const std::string& id,
                                           const Files& files) {
  auto repo = chunks::Repository::open(target, key);
  if (!repo.ok()) return ::testing::AssertionFailure() << "open: " << repo.error().to_string();
  auto snap = repo::load_snapshot(**repo, id);
  if (!snap.ok()) return ::testing::AssertionFailure() << "load " << id << ": " << snap.error().to_string();
  StringWriter out;
  auto st = repo::export_snapshot(**repo, *snap, key, out, StopToken{});
  if (!st.ok()) return ::testing::AssertionFailure() << "export " << id << ": " << st.error().to_string();
  auto got = files_of(out.str(), key);
  if (!got.ok()) return ::testing::AssertionFailure() << "read the export: " << got.error().to_string();
  if (*got != files) return ::testing::AssertionFailure() << "snapshot " << id << " exports other contents";
  return ::testing::AssertionSuccess();
}

std::vector<std::string> keys_under(storage::Target& t, const std::string& prefix) {
  std::vector<std::string> out;
  EXPECT_TRUE(t.list(prefix, [&](const storage::ObjectInfo& o) -> Status {
                 out.push_back(o.key);
                 return {};
               }).ok());
  return out;
}

std::unique_ptr<storage::MemoryTarget> clone(storage::MemoryTarget& from) {
  auto to = std::make_unique<storage::MemoryTarget>();
  for (const auto& k : keys_under(from, "")) {
    auto bytes = storage::get_small(from, k, 1u << 30);
    EXPECT_TRUE(bytes.ok());
    if (bytes.ok()) to->commit_object(k, std::move(bytes).value());
  }
  return to;
}

// Mutating operations (put, remove) fail once `budget` of them have been made: a process
// that crashed there. Reads pass.
class CrashingTarget final : public storage::Target {
 public:
  CrashingTarget(storage::Target& inner, int budget) : inner_(inner), budget_(budget) {}
  std::string describe() const override { return "crashing " + inner_.describe(); }
  Result<std::unique_ptr<storage::Upload>> put(const std::string& key, uint64_t size_hint) override {
    TRY(spend("put " + key));
    return inner_.put(key, size_hint);
  }
  Result<std::unique_ptr<Reader>> get(const std::string& key, storage::GetRange range) override {
    return inner_.get(key, range);
  }
  Result<storage::ObjectInfo> stat(const std::string& key) override { return inner_.stat(key); }
  Status list(const std::string& prefix, const std::function<Status(const storage::ObjectInfo&)>& fn) override {
    return inner_.list(prefix, fn);
  }
  Status remove(const std::string& key) override {
    TRY(spend("remove " + key));
    return inner_.remove(key);
  }
  Result<int> cleanup_stale(std::chrono::seconds s) override { return inner_.cleanup_stale(s); }
  int ops() const { return ops_; }

 private:
  Status spend(const std::string& what) {
    if (ops_.fetch_add(1) >= budget_) return unavailable("simulated crash before " + what);
    return {};
  }
  storage::Target& inner_;
  const int budget_;
  std::atomic<int> ops_{0};
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_s) : now_(unix_s) {}
  SystemTime now() const override { return std::chrono::system_clock::from_time_t(now_.load()); }
  void advance(std::chrono::seconds s) { now_ += s.count(); }

 private:
  std::atomic<int64_t> now_;
};

class RepoGc : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = chunks::Repository::init(target, key);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    repo = std::move(r).value();
  }
  std::string blob(size_t n, uint32_t seed) { return testutil::random_text(n, seed); }
  uint64_t pack_bytes() {
    uint64_t n = 0;
    EXPECT_TRUE(target.list("data/", [&](const storage::ObjectInfo& o) -> Status {
                      n += o.size;
                      return {};
                    }).ok());
    return n;
  }

  seal::MasterKey key = testutil::test_key();
  storage::MemoryTarget target;
  std::unique_ptr<chunks::Repository> repo;
};

TEST_F(RepoGc, ForgottenSnapshotFreesItsPacksAndTheOthersExportExactly) {
  const std::string shared = blob(300000, 1);
  const Files f1{{"volumes/v/a", blob(300000, 2)}, {"volumes/v/shared", shared}};
  const Files f2{{"volumes/v/b", blob(300000, 3)}, {"volumes/v/shared", shared}};
  const Files f3{{"volumes/v/c", blob(300000, 4)}, {"volumes/v/shared", shared}, {"volumes/v/empty", ""}};
  ASSERT_OK_AND_ASSIGN(s1, store(*repo, key, f1));
  ASSERT_OK_AND_ASSIGN(s2, store(*repo, key, f2));
  ASSERT_OK_AND_ASSIGN(s3, store(*repo, key, f3));
  const uint64_t before = pack_bytes();

  ASSERT_OK(repo::forget_snapshot(target, s2.id));
  ASSERT_OK(repo::forget_snapshot(target, s2.id));  // idempotent
  ASSERT_OK_AND_ASSIGN(report, repo::prune_repository(target, key, {}, StopToken{}));
  EXPECT_EQ(report.snapshots, 2u);
  EXPECT_EQ(report.packs_before, 3u);
  EXPECT_EQ(report.deleted_packs, 1u);
  EXPECT_EQ(report.repacked_packs, 0u);
  EXPECT_EQ(report.packs_after, 2u);
  EXPECT_GT(report.bytes_freed, 300000u);
  EXPECT_EQ(report.bytes_before - report.bytes_after, report.bytes_freed);
  EXPECT_EQ(pack_bytes(), before - report.bytes_freed);
  EXPECT_EQ(keys_under(target, "index/").size(), 1u);
  EXPECT_TRUE(keys_under(target, "locks/").empty());
  EXPECT_TRUE(exports_exactly(target, key, s1.id, f1));
  EXPECT_TRUE(exports_exactly(target, key, s3.id, f3));
  EXPECT_EQ(testutil::code_of(repo::load_snapshot(**chunks::Repository::open(target, key), s2.id)), Code::kNotFound);

  // Nothing left to do.
  ASSERT_OK_AND_ASSIGN(again, repo::prune_repository(target, key, {}, StopToken{}));
  EXPECT_EQ(again.deleted_packs, 0u);
  EXPECT_EQ(again.repacked_packs, 0u);
  EXPECT_EQ(again.bytes_freed, 0u);
  EXPECT_EQ(again.indexes_after, 1u);
  EXPECT_EQ(testutil::code_of(repo::forget_snapshot(target, "../config")), Code::kInvalidArgument);
}

TEST_F(RepoGc, AHalfGarbagePackIsRepackedAndStillReads) {
  const std::string kept = blob(100000, 5);
  const Files f1{{"volumes/v/big", blob(450000, 6)}, {"volumes/v/kept", kept}};
  const Files f2{{"volumes/v/kept", kept}, {"volumes/v/other", blob(50000, 7)}};
  ASSERT_OK_AND_ASSIGN(s1, store(*repo, key, f1));
  ASSERT_OK_AND_ASSIGN(s2, store(*repo, key, f2));
  const auto packs_before = keys_under(target, "data/");
  ASSERT_EQ(packs_before.size(), 2u);
  ASSERT_OK(repo::forget_snapshot(target, s1.id));

  // A dry run reports and changes nothing.
  const auto objects_before = keys_under(target, "");
  ASSERT_OK_AND_ASSIGN(dry, repo::prune_repository(target, key, {.dry_run = true}, StopToken{}));
  EXPECT_TRUE(dry.dry_run);
  EXPECT_EQ(dry.repacked_packs, 1u);
  EXPECT_EQ(dry.new_packs, 1u);
  EXPECT_GT(dry.bytes_freed, 400000u);
  EXPECT_EQ(keys_under(target, ""), objects_before);

  // Not above a threshold of 0.95: kept as it is.
  ASSERT_OK_AND_ASSIGN(lax, repo::prune_repository(target, key, {.repack_threshold = 0.95}, StopToken{}));
  EXPECT_EQ(lax.repacked_packs, 0u);
  EXPECT_EQ(keys_under(target, "data/"), packs_before);

  ASSERT_OK_AND_ASSIGN(report, repo::prune_repository(target, key, {}, StopToken{}));
  EXPECT_EQ(report.repacked_packs, 1u);
  EXPECT_EQ(report.new_packs, 1u);
  EXPECT_EQ(report.deleted_packs, 1u);
  EXPECT_EQ(report.packs_after, 2u);
  EXPECT_GT(report.bytes_freed, 400000u);
  const auto packs_after = keys_under(target, "data/");
  EXPECT_EQ(packs_after.size(), 2u);
  int survivors = 0;
  for (const auto& p : packs_before) survivors += std::count(packs_after.begin(), packs_after.end(), p);
  EXPECT_EQ(survivors, 1) << "the mostly-garbage pack was replaced";
  EXPECT_TRUE(exports_exactly(target, key, s2.id, f2));

  // A backup after the prune deduplicates against the repacked chunk.
  ASSERT_OK_AND_ASSIGN(fresh, chunks::Repository::open(target, key));
  ASSERT_OK_AND_ASSIGN(s3, store(*fresh, key, Files{{"volumes/v/kept", kept}}));
  EXPECT_LT(s3.doc["stats"]["new_bytes"].get<uint64_t>(), kept.size()) << "at most its entry list is new";
  EXPECT_TRUE(exports_exactly(target, key, s3.id, Files{{"volumes/v/kept", kept}}));
}

TEST_F(RepoGc, PacksOfACrashedBackupAreDeleted) {
  const Files f1{{"volumes/v/a", blob(200000, 8)}};
  ASSERT_OK_AND_ASSIGN(s1, store(*repo, key, f1));
  {
    // A backup that fills a pack (uploaded) and dies before its index and snapshot.
    ASSERT_OK_AND_ASSIGN(writer, repo->write_snapshot());
    // 6 + 6 MiB in the first pack; the third would take it past 16 MiB, so it closes.
    ASSERT_OK(writer->add(chunks::BlobType::kData, as_bytes(blob(6u << 20, 9))));
    ASSERT_OK(writer->add(chunks::BlobType::kData, as_bytes(blob(6u << 20, 10))));
    ASSERT_OK(writer->add(chunks::BlobType::kData, as_bytes(blob(6u << 20, 12))));
    ASSERT_OK(writer->settle());  // sealed by the workers: the full pack is up
    EXPECT_EQ(writer->stats().packs, 1u);
  }
  ASSERT_EQ(keys_under(target, "data/").size(), 2u);
  ASSERT_OK_AND_ASSIGN(report, repo::prune_repository(target, key, {}, StopToken{}));
  EXPECT_EQ(report.unindexed_packs, 1u);
  EXPECT_EQ(report.deleted_packs, 1u);
  EXPECT_GT(report.bytes_freed, 12u << 20);
  EXPECT_EQ(report.indexes_after, report.indexes_before) << "no indexed pack changed: the indexes stay";
  EXPECT_EQ(keys_under(target, "data/").size(), 1u);
  EXPECT_TRUE(exports_exactly(target, key, s1.id, f1));
}

TEST_F(RepoGc, PruneWaitsForNoBackupAndRefusesSnapshotsItCannotList) {
  const Files f1{{"volumes/v/a", blob(1000, 11)}};
  ASSERT_OK_AND_ASSIGN(s1, store(*repo, key, f1));
  ASSERT_OK(repo::forget_snapshot(target, s1.id));
  {
    ASSERT_OK_AND_ASSIGN(backup, chunks::acquire_shared(target, key, {.owner = "backup shop"}));
    auto r = repo::prune_repository(target, key, {}, StopToken{});
    ASSERT_EQ(testutil::code_of(r), Code::kUnavailable);
    EXPECT_NE(r.error().message().find("backup shop (shared)"), std::string::npos) << r.error().message();
    EXPECT_EQ(keys_under(target, "data/").size(), 1u);
  }
  // A snapshot of a format prune does not know: nothing may be deleted.
  ASSERT_OK_AND_ASSIGN(w, repo->write_snapshot());
  ASSERT_OK(w->commit(Json{{"format", "somebody.else/v9"}}));
  EXPECT_EQ(testutil::code_of(repo::prune_repository(target, key, {}, StopToken{})), Code::kFailedPrecondition);
  EXPECT_EQ(keys_under(target, "data/").size(), 1u);
  EXPECT_TRUE(keys_under(target, "locks/").empty());
}

// A backup loop and a forget+prune loop on one target: every snapshot not forgotten exports.
TEST_F(RepoGc, ConcurrentBackupAndPruneNeverLoseAChunk) {
  std::vector<std::string> pool;
  for (uint32_t i = 0; i < 5; ++i) pool.push_back(blob(120000, 100 + i));
  std::mutex mu;
  std::vector<std::pair<std::string, Files>> live;  // committed, not forgotten
  std::atomic<bool> backups_done{false};
  std::atomic<int> backups_ok{0}, backups_busy{0}, prunes_ok{0}, prunes_busy{0}, forgotten{0};
  const LockOptions waiting{.wait = 3s, .retry_every = 2ms};

  std::thread backup([&] {
    for (uint32_t i = 0; i < 24; ++i) {
      LockOptions o = waiting;
      o.owner = "backup shop";
      auto lock = chunks::acquire_shared(target, key, o);
      if (!lock.ok()) {
        EXPECT_EQ(lock.error().code(), Code::kUnavailable) << lock.error().to_string();
        ++backups_busy;
        continue;
      }
      auto r = chunks::Repository::open(target, key);  // under the lock: the index it dedups against is current
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      const Files files{{"volumes/v/p1", pool[i % pool.size()]},
                        {"volumes/v/p2", pool[(i * 3 + 1) % pool.size()]},
                        {"volumes/v/own", blob(30000, 1000 + i)}};
      auto snap = store(**r, key, files);
      ASSERT_TRUE(snap.ok()) << snap.error().to_string();
      EXPECT_TRUE((*lock)->check().ok());
      {
        std::lock_guard lk(mu);
        live.emplace_back(snap->id, files);
      }
      ++backups_ok;
      lock->reset();
      std::this_thread::sleep_for(1ms);
    }
    backups_done = true;
  });
  std::thread prune([&] {
    int round = 0;
    while (!backups_done) {
      {
        std::lock_guard lk(mu);
        while (live.size() > 2) {
          ASSERT_TRUE(repo::forget_snapshot(target, live.front().first).ok());
          live.erase(live.begin());
          ++forgotten;
        }
      }
      repo::PruneOptions o{.repack_threshold = 0.3, .lock = waiting};
      if (round++ % 2) o.lock.wait = 5ms;  // gives up now and then while a backup runs
      auto r = repo::prune_repository(target, key, o, StopToken{});
      if (r.ok()) {
        ++prunes_ok;
      } else {
        EXPECT_EQ(r.error().code(), Code::kUnavailable) << r.error().to_string();
        ++prunes_busy;
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  backup.join();
  prune.join();
  EXPECT_GT(backups_ok.load(), 12);
  EXPECT_GT(prunes_ok.load(), 0);
  EXPECT_GT(forgotten.load(), 0);
  for (const auto& [id, files] : live) EXPECT_TRUE(exports_exactly(target, key, id, files));
  ASSERT_OK(repo::prune_repository(target, key, {}, StopToken{}));
  for (const auto& [id, files] : live) EXPECT_TRUE(exports_exactly(target, key, id, files));
  EXPECT_TRUE(keys_under(target, "locks/").empty());
  std::printf("[          ] %d backups (%d busy), %d prunes (%d busy), %d forgotten\n", backups_ok.load(),
              backups_busy.load(), prunes_ok.load(), prunes_busy.load(), forgotten.load());
}

// A prune that dies at its N-th write, for every N: the repository stays whole, and the
// next prune (once the dead one's lock is stale) finishes the work.
TEST_F(RepoGc, APruneCrashedAtAnyWriteLeavesEverySnapshotReadable) {
  const std::string shared = blob(100000, 20);
  const Files f1{{"volumes/v/a", blob(400000, 21)}, {"volumes/v/shared", shared}};
  const Files f2{{"volumes/v/b", blob(100000, 22)}, {"volumes/v/shared", shared}};
  const Files f3{{"volumes/v/c", blob(100000, 23)}};
  const Files f4{{"volumes/v/d", blob(100000, 24)}};
  ASSERT_OK_AND_ASSIGN(s1, store(*repo, key, f1));
  ASSERT_OK_AND_ASSIGN(s2, store(*repo, key, f2));
  ASSERT_OK_AND_ASSIGN(s3, store(*repo, key, f3));
  ASSERT_OK_AND_ASSIGN(s4, store(*repo, key, f4));
  // Two crashed backups: one before its index (an unindexed pack), one before its snapshot.
  for (int budget : {1, 2}) {
    CrashingTarget crashing(target, budget);
    ASSERT_OK_AND_ASSIGN(r, chunks::Repository::open(crashing, key));
    ASSERT_OK_AND_ASSIGN(w, r->write_snapshot());
    ASSERT_OK(w->add(chunks::BlobType::kData, as_bytes(blob(80000, 30 + budget))));
    EXPECT_FALSE(w->commit(Json{{"format", repo::kSnapshotFormat}, {"entries", Json::array()}}).ok());
  }
  ASSERT_OK(repo::forget_snapshot(target, s1.id));  // its pack: mostly garbage, "shared" lives on
  ASSERT_OK(repo::forget_snapshot(target, s4.id));  // its pack: all garbage
  ASSERT_EQ(keys_under(target, "data/").size(), 6u);
  ASSERT_EQ(keys_under(target, "index/").size(), 5u);
  const std::vector<std::pair<std::string, Files>> kept{{s2.id, f2}, {s3.id, f3}};

  FakeClock later(unix_seconds(std::chrono::system_clock::now()) + 3600);
  int completed_at = -1;
  for (int budget = 0; budget < 64 && completed_at < 0; ++budget) {
    SCOPED_TRACE("crash after " + std::to_string(budget) + " writes");
    auto copy = clone(target);
    CrashingTarget crashing(*copy, budget);
    auto r = repo::prune_repository(crashing, key, {}, StopToken{});
    if (r.ok()) {
      completed_at = budget;
      EXPECT_EQ(r->deleted_packs, 4u);
      EXPECT_EQ(r->repacked_packs, 1u);
      EXPECT_EQ(r->unindexed_packs, 1u);
    }
    for (const auto& [id, files] : kept) EXPECT_TRUE(exports_exactly(*copy, key, id, files));
    // The crashed prune's lock is left behind: stale an hour later.
    repo::PruneOptions o;
    o.lock.clock = &later;
    ASSERT_OK(repo::prune_repository(*copy, key, o, StopToken{}));
    for (const auto& [id, files] : kept) EXPECT_TRUE(exports_exactly(*copy, key, id, files));
    ASSERT_OK_AND_ASSIGN(settled, repo::prune_repository(*copy, key, o, StopToken{}));
    EXPECT_EQ(settled.deleted_packs, 0u);
    EXPECT_EQ(settled.repacked_packs, 0u);
    EXPECT_EQ(keys_under(*copy, "data/").size(), 3u) << "s2, s3 and the repacked pack";
    EXPECT_EQ(keys_under(*copy, "index/").size(), 1u);
    EXPECT_TRUE(keys_under(*copy, "locks/").empty());
  }
  // lock, new pack, index, 5 old indexes, 4 packs (the last write, the lock's removal, may fail unseen).
  EXPECT_GE(completed_at, 12);
}

// ---- locks ----------------------------------------------------------------------------------

class RepoLock : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(chunks::Repository::init(target, key).ok()); }
  size_t lock_count() {
    auto l = chunks::list_locks(target, key);
    EXPECT_TRUE(l.ok());
    return l.ok() ? l->size() : 0;
  }
  seal::MasterKey key = testutil::test_key();
  storage::MemoryTarget target;
};

TEST_F(RepoLock, SharedLocksCoexistAndExcludeAnExclusiveOne) {
  ASSERT_OK_AND_ASSIGN(a, chunks::acquire_shared(target, key, {.owner = "backup shop", .host = "host-a", .pid = 41}));
  ASSERT_OK_AND_ASSIGN(b, chunks::acquire_shared(target, key, {.owner = "backup blog"}));
  EXPECT_EQ(a->kind(), LockKind::kShared);
  auto ex = chunks::acquire_exclusive(target, key, {.owner = "prune"});
  ASSERT_EQ(testutil::code_of(ex), Code::kUnavailable);
  EXPECT_NE(ex.error().message().find("locked by backup"), std::string::npos) << ex.error().message();
  EXPECT_EQ(lock_count(), 2u) << "a failed acquirer removes its own lock";
  ASSERT_OK_AND_ASSIGN(listed, chunks::list_locks(target, key));
  bool found = false;
  for (const auto& l : listed) {
    if (l.key != a->key()) continue;
    found = true;
    EXPECT_TRUE(l.readable);
    EXPECT_EQ(l.owner, "backup shop");
    EXPECT_EQ(l.host, "host-a");
    EXPECT_EQ(l.pid, 41);
    EXPECT_EQ(l.kind, LockKind::kShared);
    EXPECT_NE(l.describe().find("backup shop (shared) on host-a, pid 41, since "), std::string::npos) << l.describe();
  }
  EXPECT_TRUE(found);
  a.reset();
  EXPECT_EQ(testutil::code_of(chunks::acquire_exclusive(target, key, {.owner = "prune"})), Code::kUnavailable);
  ASSERT_OK(b->release());
  ASSERT_OK(b->release());  // idempotent
  EXPECT_EQ(lock_count(), 0u);

  ASSERT_OK_AND_ASSIGN(p, chunks::acquire_exclusive(target, key, {.owner = "prune", .host = "host-p", .pid = 7}));
  auto s = chunks::acquire_shared(target, key, {.owner = "backup shop"});
  ASSERT_EQ(testutil::code_of(s), Code::kUnavailable);
  EXPECT_NE(s.error().message().find("locked by prune (exclusive) on host-p, pid 7, since"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(testutil::code_of(chunks::acquire_exclusive(target, key, {.owner = "prune 2"})), Code::kUnavailable);
  EXPECT_EQ(lock_count(), 1u);
  p.reset();
  EXPECT_EQ(lock_count(), 0u);
  storage::MemoryTarget empty;
  EXPECT_EQ(testutil::code_of(chunks::acquire_shared(empty, key, {})), Code::kNotFound);
}

TEST_F(RepoLock, WaitRetriesUntilTheHolderLeaves) {
  auto held = chunks::acquire_shared(target, key, {.owner = "backup shop"});
  ASSERT_TRUE(held.ok());
  std::thread leaver([&] {
    std::this_thread::sleep_for(100ms);
    held->reset();
  });
  const double t0 = monotonic_seconds();
  auto ex = chunks::acquire_exclusive(target, key, {.owner = "prune", .wait = 5s, .retry_every = 10ms});
  leaver.join();
  ASSERT_TRUE(ex.ok()) << ex.error().to_string();
  EXPECT_GE(monotonic_seconds() - t0, 0.09);
  // A stop request ends the wait.
  StopSource stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  auto s = chunks::acquire_shared(target, key, {.owner = "backup", .wait = 30s, .retry_every = 10ms}, stop.get_token());
  stopper.join();
  EXPECT_EQ(testutil::code_of(s), Code::kCancelled);
  EXPECT_EQ(lock_count(), 1u);
}

TEST_F(RepoLock, AStaleLockIsIgnoredAndRemovedByAnExclusiveAcquirer) {
  FakeClock clock(1765090000);
  ASSERT_OK_AND_ASSIGN(dead, chunks::acquire_exclusive(target, key, {.owner = "prune", .refresh_every = 0ms, .clock = &clock}));
  EXPECT_EQ(testutil::code_of(chunks::acquire_shared(target, key, {.owner = "backup", .clock = &clock})), Code::kUnavailable);
  clock.advance(31min);
  EXPECT_EQ(testutil::code_of(dead->check()), Code::kFailedPrecondition);
  {
    ASSERT_OK_AND_ASSIGN(s, chunks::acquire_shared(target, key, {.owner = "backup", .clock = &clock}));
    EXPECT_EQ(lock_count(), 2u) << "a shared acquirer ignores a stale lock but leaves it";
  }
  ASSERT_OK_AND_ASSIGN(ex, chunks::acquire_exclusive(target, key, {.owner = "prune 2", .clock = &clock}));
  ASSERT_OK_AND_ASSIGN(listed, chunks::list_locks(target, key));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, ex->key());
  // The dead holder finds out.
  EXPECT_EQ(testutil::code_of(dead->refresh()), Code::kFailedPrecondition);
  EXPECT_EQ(testutil::code_of(dead->check()), Code::kFailedPrecondition);
  dead.reset();  // does not remove anybody else's lock
  EXPECT_EQ(lock_count(), 1u);
}

TEST_F(RepoLock, TheRefreshThreadKeepsALongHolderAlive) {
  FakeClock clock(1765090000);
  ASSERT_OK_AND_ASSIGN(held, chunks::acquire_shared(target, key, {.owner = "long backup", .refresh_every = 5ms, .clock = &clock}));
  clock.advance(40min);
  const int64_t now = unix_seconds(clock.now());
  bool refreshed = false;
  for (int i = 0; i < 2500 && !refreshed; ++i) {
    std::this_thread::sleep_for(2ms);
    auto l = chunks::list_locks(target, key);
    refreshed = l.ok() && l->size() == 1 && (*l)[0].refreshed == now;
  }
  ASSERT_TRUE(refreshed);
  EXPECT_TRUE(held->check().ok());
  EXPECT_EQ(testutil::code_of(chunks::acquire_exclusive(target, key, {.owner = "prune", .clock = &clock})), Code::kUnavailable);
  held.reset();
  EXPECT_EQ(lock_count(), 0u);
}

TEST_F(RepoLock, ALockOfAnotherKeyConflictsWithEveryone) {
  const seal::MasterKey other = testutil::test_key(100);
  ASSERT_OK_AND_ASSIGN(foreign, chunks::acquire_shared(target, other, {.owner = "intruder"}));
  auto s = chunks::acquire_shared(target, key, {.owner = "backup"});
  ASSERT_EQ(testutil::code_of(s), Code::kUnavailable);
  EXPECT_NE(s.error().message().find("does not open with this key"), std::string::npos) << s.error().message();
  ASSERT_OK_AND_ASSIGN(listed, chunks::list_locks(target, key));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].readable);
}

// Many acquirers at once (retrying): an exclusive holder is always alone.
TEST_F(RepoLock, RacingAcquirersNeverShareAnExclusiveLock) {
  std::atomic<int> shared_holders{0}, exclusive_holders{0}, violations{0}, exclusive_wins{0}, shared_wins{0}, busy{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const bool exclusive = t % 2 == 0;
      for (int i = 0; i < 12; ++i) {
        const LockOptions o{.owner = exclusive ? "x" : "s", .wait = 50ms, .retry_every = 1ms};
        auto l = exclusive ? chunks::acquire_exclusive(target, key, o) : chunks::acquire_shared(target, key, o);
        if (!l.ok()) {
          if (l.error().code() != Code::kUnavailable) ++violations;
          ++busy;
          continue;
        }
        if (exclusive) {
          ++exclusive_wins;
          if (exclusive_holders.fetch_add(1) != 0 || shared_holders.load() != 0) ++violations;
          std::this_thread::sleep_for(300us);
          --exclusive_holders;
        } else {
          ++shared_wins;
          ++shared_holders;
          if (exclusive_holders.load() != 0) ++violations;
          std::this_thread::sleep_for(300us);
          --shared_holders;
        }
        l->reset();
        std::this_thread::sleep_for(500us);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(shared_wins.load(), 0);
  EXPECT_GT(exclusive_wins.load(), 0);
  EXPECT_EQ(lock_count(), 0u);
  std::printf("[          ] %d exclusive and %d shared acquisitions, %d gave up\n", exclusive_wins.load(),
              shared_wins.load(), busy.load());
}

}  // namespace
}  // namespace stacksnap::gc_test
