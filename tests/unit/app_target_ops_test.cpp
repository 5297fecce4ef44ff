// The target operations both front ends share (app/target_ops.h): the connection probe
// (`stacksnap target test`, POST /api/targets/test and /api/targets/{name}/test), its
// failure kinds, and the catalog rebuild (`stacksnap backups --target`, the "rebuild" job).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "app/key_store.h"
#include "app/state.h"
#include "app/target_ops.h"
#include "app/targets.h"
#include "base/temp_dir.h"
#include "job/events.h"
#include "repo/repo.h"
#include "seal/crypto.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::app {
namespace {

using Json = nlohmann::json;

// A target whose every call fails with one error (what an S3 server or curl said).
class FailingTarget final : public storage::Target {
 public:
  explicit FailingTarget(Error e) : e_(std::move(e)) {}
  std::string describe() const override { return "failing"; }
  Result<std::unique_ptr<storage::Upload>> put(const std::string&, uint64_t) override { return e_; }
  Result<std::unique_ptr<Reader>> get(const std::string&, storage::GetRange) override { return e_; }
  Result<storage::ObjectInfo> stat(const std::string&) override { return e_; }
  Status list(const std::string&, const std::function<Status(const storage::ObjectInfo&)>&) override { return e_; }
  Status remove(const std::string&) override { return e_; }
  Result<int> cleanup_stale(std::chrono::seconds) override { return 0; }

 private:
  Error e_;
};

// Lists nothing (a listing that misses the probe object: an eventually consistent store);
// the objects live in `inner`, which outlives it.
class BlindTarget final : public storage::Target {
 public:
  explicit BlindTarget(storage::MemoryTarget& m) : inner(m) {}
  std::string describe() const override { return "blind"; }
  Result<std::unique_ptr<storage::Upload>> put(const std::string& k, uint64_t n) override { return inner.put(k, n); }
  Result<std::unique_ptr<Reader>> get(const std::string& k, storage::GetRange r) override { return inner.get(k, r); }
  Result<storage::ObjectInfo> stat(const std::string& k) override { return inner.stat(k); }
  Status list(const std::string&, const std::function<Status(const storage::ObjectInfo&)>&) override { return {}; }
  Status remove(const std::string& k) override { return inner.remove(k); }
  Result<int> cleanup_stale(std::chrono::seconds) override { return 0; }
  storage::MemoryTarget& inner;
};

catalog::TargetRecord rec_named(const std::string& name) {
  return catalog::TargetRecord{.name = name, .kind = "local", .config = {{"path", "/nowhere"}}};
}

TEST(TargetProbe, WritesReadsListsDeletesAndLeavesNothing) {
  storage::MemoryTarget mem;
  TargetOpener open = [&](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
    return std::unique_ptr<storage::Target>(new storage::MemoryTarget());  // replaced below
  };
  std::vector<std::string> heard;
  // The opener hands out a view of `mem` so the test can look at it afterwards.
  struct View final : storage::Target {
    explicit View(storage::MemoryTarget& m) : m(m) {}
    std::string describe() const override { return "memory view"; }
    Result<std::unique_ptr<storage::Upload>> put(const std::string& k, uint64_t n) override { return m.put(k, n); }
    Result<std::unique_ptr<Reader>> get(const std::string& k, storage::GetRange r) override { return m.get(k, r); }
    Result<storage::ObjectInfo> stat(const std::string& k) override { return m.stat(k); }
    Status list(const std::string& p, const std::function<Status(const storage::ObjectInfo&)>& f) override {
      return m.list(p, f);
    }
    Status remove(const std::string& k) override { return m.remove(k); }
    Result<int> cleanup_stale(std::chrono::seconds) override { return 0; }
    storage::MemoryTarget& m;
  };
  open = [&](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
    return std::unique_ptr<storage::Target>(new View(mem));
  };
  auto r = probe_target(rec_named("t"), open, [&](const ProbeStep& s) { heard.push_back(s.step); });
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(heard, (std::vector<std::string>{"open", "write", "read", "list", "delete"}));
  EXPECT_EQ(r.describe, "memory view");
  EXPECT_EQ(mem.object_count(), 0u);
  Json j = r.to_json();
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["steps"].size(), 5u);
  EXPECT_FALSE(j.contains("kind"));
}

TEST(TargetProbe, AListingWithoutTheProbeFailsAtListAndCleansUp) {
  storage::MemoryTarget store;
  storage::MemoryTarget* inner = &store;
  TargetOpener open = [&](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
    return std::unique_ptr<storage::Target>(new BlindTarget(store));
  };
  auto r = probe_target(rec_named("t"), open);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_step, "list");
  EXPECT_EQ(r.code, "FailedPrecondition");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(inner->object_count(), 0u) << "the probe object is removed after a failed step";
}

struct KindCase {
  Error error;
  std::string kind;
};

TEST(TargetProbe, EachFailureKindGetsItsOwnMessage) {
  const std::vector<KindCase> cases = {
      {unavailable("s3 PUT b/stacksnap-probe/x: Could not resolve host: nowhere.invalid"), "dns"},
      {failed_precondition("s3 PUT b/x: SSL certificate problem: self-signed certificate (TLS verification failed: "
                           "is the CA file right?)"),
       "tls"},
      {Error(Code::kPermissionDenied, "s3 PUT b/x: AccessDenied: Access Denied"), "access_denied"},
      {Error(Code::kPermissionDenied, "s3 PUT b/x: SignatureDoesNotMatch: The request signature"), "access_denied"},
      {not_found("s3 PUT b/x: NoSuchBucket: bucket 'b' does not exist"), "bucket_missing"},
      {Error(Code::kPermissionDenied,
             "s3 PUT b/x: RequestTimeTooSkewed: The difference between the request time and the server's time is too large"),
       "clock_skew"},
      {unavailable("s3 PUT b/x: Failed to connect to 127.0.0.1 port 1: Couldn't connect to server"), "connect"},
      {internal_error("something odd"), "other"},
  };
  for (const auto& c : cases) {
    TargetOpener open = [&](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
      return std::unique_ptr<storage::Target>(new FailingTarget(c.error));
    };
    auto r = probe_target(rec_named("t"), open);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.failed_step, "write") << c.error.message();
    EXPECT_EQ(r.kind, c.kind) << c.error.message();
    EXPECT_EQ(r.hint.empty(), c.kind == "other") << c.error.message();
    EXPECT_EQ(r.code, std::string(code_name(c.error.code())));
    Json j = r.to_json();
    EXPECT_EQ(j["kind"], c.kind);
    EXPECT_EQ(j["step"], "write");
  }
}

TEST(TargetProbe, AnOpenFailureIsTheOpenStep) {
  TargetOpener open = [](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
    return invalid_argument("config.endpoint must be an http(s) URL");
  };
  auto r = probe_target(rec_named("t"), open);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_step, "open");
  EXPECT_EQ(r.kind, "config");
}

class TargetProbeConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-probe-");
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    data_ = tmp_->path() + "/data";
    ASSERT_TRUE(prepare_data_dir(data_, nullptr).ok());
  }
  size_t secret_files() const {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(secrets_dir(data_), ec)) n += e.is_regular_file();
    return n;
  }
  std::optional<TempDir> tmp_;
  std::string data_;
};

TEST_F(TargetProbeConfig, AnInvalidConfigIsRefusedBeforeAnythingIsProbed) {
  bool opened = false;
  TargetOpener open = [&](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
    opened = true;
    return std::unique_ptr<storage::Target>(new storage::MemoryTarget());
  };
  auto r = probe_target_config(data_, open, "s3", Json{{"bucket", "b"}, {"secret_key_file", "/etc/shadow"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_FALSE(opened);
}

TEST_F(TargetProbeConfig, InlineSecretsAreTemporaryAndAnEditKeepsTheSavedSecret) {
  // The saved target's secret, as `target add`/POST /api/targets stored it.
  Json saved_cfg{{"bucket", "b"}, {"access_key", "AK"}, {"secret_key", "saved-secret"}};
  ASSERT_TRUE(store_inline_secrets(data_, target_secret_stem("off"), saved_cfg).ok());
  catalog::TargetRecord saved{.name = "off", .kind = "s3", .config = saved_cfg};
  const size_t before = secret_files();

  Json seen;
  TargetOpener open = [&](const catalog::TargetRecord& r) -> Result<std::unique_ptr<storage::Target>> {
    seen = r.config;
    return std::unique_ptr<storage::Target>(new storage::MemoryTarget());
  };
  // An unsaved config with its secret and a CA bundle's text: files while probing, gone after.
  auto r = probe_target_config(data_, open, "s3",
                               Json{{"bucket", "b"}, {"access_key", "AK"}, {"secret_key", "new"},
                                    {"ca_pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->ok);
  EXPECT_FALSE(seen.contains("secret_key"));
  ASSERT_TRUE(seen.contains("secret_key_file"));
  ASSERT_TRUE(seen.contains("ca_file"));
  EXPECT_EQ(secret_files(), before) << "the probe's secret files are removed";

  // The edit of a saved target that names no secret is probed with the saved one.
  auto e = probe_target_config(data_, open, "s3", Json{{"bucket", "b2"}, {"access_key", "AK"}}, &saved);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(seen["bucket"], "b2");
  EXPECT_EQ(seen["secret_key_file"], saved.config["secret_key_file"]);
  EXPECT_EQ(secret_files(), before);
}

// ---- rebuild ----

class ProbeSink final : public job::EventSink {
 public:
  void emit(job::Event e) override { events.push_back(std::move(e)); }
  std::vector<job::Event> events;
};

TEST(TargetRebuild, AddsWhatTheTargetHoldsAndReportsSkippedObjectsAsWarnings) {
  auto d = TempDir::create("/tmp", "stacksnap-rebuild-");
  ASSERT_TRUE(d.ok());
  auto cat = catalog::Catalog::open(d->path() + "/state.db");
  ASSERT_TRUE(cat.ok());
  catalog::TargetRecord trec{.name = "mem", .kind = "local", .config = {{"path", "/nowhere"}}, .created_at = 1};
  ASSERT_TRUE((*cat)->add_target(trec).ok());
  auto key = seal::MasterKey::generate();
  ASSERT_TRUE(key.ok());

  auto* mem = new storage::MemoryTarget();
  std::unique_ptr<storage::Target> owned(mem);
  const std::string id = "20261125T201730Z-3fa2c1d0";
  std::string blob = "sealed bytes";
  catalog::BackupRecord b{.id = id, .project = "shop", .created_at = 1795000000, .stored_bytes = blob.size(),
                          .sha256 = seal::hex_encode(seal::Sha256::of(as_bytes(blob)))};
  catalog::CopyRecord copy{.target = "mem", .key = repo::blob_key(id), .size = blob.size(), .sha256 = b.sha256};
  auto sidecar = repo::make_sidecar(b, copy, *key);
  ASSERT_TRUE(sidecar.ok());
  mem->commit_object(copy.key, blob);
  mem->commit_object(repo::sidecar_key(id), *sidecar);
  mem->commit_object(repo::sidecar_key("20261125T201731Z-00000000"), "{not json");

  TargetOpener open = [&](const catalog::TargetRecord& r) -> Result<std::unique_ptr<storage::Target>> {
    EXPECT_EQ(r.name, "mem");
    return std::move(owned);
  };
  auto clone = key->clone();
  ASSERT_TRUE(clone.ok());
  auto keys = seal::KeySource::from_key(std::move(*clone));
  ProbeSink sink;
  job::Context ctx(sink, StopToken{});
  auto out = rebuild_catalog(**cat, "mem", open, keys, &ctx);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ((*out)["target"], "mem");
  EXPECT_EQ((*out)["sidecars"], 2);
  EXPECT_EQ((*out)["added_backups"], Json::array({id}));
  EXPECT_EQ((*out)["problems"].size(), 1u);
  EXPECT_TRUE((*cat)->get_backup(id).ok());
  bool step_started = false, step_ok = false, warned = false;
  for (const auto& e : sink.events) {
    Json j = e.to_json();
    if (e.type == "step_started" && j.value("step", "") == "rebuild") step_started = true;
    if (e.type == "step_finished" && j.value("step", "") == "rebuild") step_ok = j.value("ok", false);
    if (e.type == "log" && j.value("level", "") == "warn") warned = true;
  }
  EXPECT_TRUE(step_started);
  EXPECT_TRUE(step_ok);
  EXPECT_TRUE(warned);

  auto missing = rebuild_catalog(**cat, "nope", open, keys);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
}

TEST(TargetRebuild, AnUnreadableTargetFailsNamingIt) {
  auto d = TempDir::create("/tmp", "stacksnap-rebuild-");
  ASSERT_TRUE(d.ok());
  auto cat = catalog::Catalog::open(d->path() + "/state.db");
  ASSERT_TRUE(cat.ok());
  ASSERT_TRUE((*cat)->add_target({.name = "off", .kind = "local", .config = {{"path", "/nowhere"}}}).ok());
  auto key = seal::MasterKey::generate();
  ASSERT_TRUE(key.ok());
  auto keys = seal::KeySource::from_key(std::move(*key));
  TargetOpener open = [](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
    return std::unique_ptr<storage::Target>(new FailingTarget(Error(Code::kPermissionDenied, "AccessDenied")));
  };
  auto r = rebuild_catalog(**cat, "off", open, keys);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kPermissionDenied);
  EXPECT_NE(r.error().message().find("target off"), std::string::npos) << r.error().message();
}

// ---- removing a target: `stacksnap target remove [--force]` and DELETE /api/targets ----

TEST(TargetRemove, RefusesWhileBackupsAreKnownThereUnlessForcedAndDropsItsSecrets) {
  auto d = TempDir::create("/tmp", "stacksnap-rm-target-");
  ASSERT_TRUE(d.ok());
  auto cat = catalog::Catalog::open(d->path() + "/state.db");
  ASSERT_TRUE(cat.ok());
  ASSERT_TRUE((*cat)->add_target(rec_named("off site")).ok());
  ASSERT_TRUE((*cat)->add_target(rec_named("empty")).ok());
  catalog::BackupRecord b{.id = "20261125T201730Z-3fa2c1d0", .project = "shop", .created_at = 1795000000};
  b.copies.push_back({.target = "off site", .key = repo::blob_key(b.id), .size = 1, .sha256 = "00"});
  ASSERT_TRUE((*cat)->put_backup(b).ok());
  const std::string secrets = d->path() + "/secrets";
  std::filesystem::create_directories(secrets);
  const std::string secret = secrets + "/" + target_secret_stem("off site") + ".ca.pem";
  { std::ofstream(secret) << "s3cr3t"; }

  auto refused = remove_target(**cat, d->path(), "off site", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("holds 1 backup(s)"), std::string::npos) << refused.error().message();
  EXPECT_TRUE((*cat)->get_target("off site").ok());  // nothing changed
  EXPECT_TRUE(std::filesystem::exists(secret));

  auto forced = remove_target(**cat, d->path(), "off site", true);
  ASSERT_TRUE(forced.ok()) << forced.error().message();
  EXPECT_EQ(*forced, 1);
  EXPECT_FALSE((*cat)->get_target("off site").ok());
  EXPECT_FALSE(std::filesystem::exists(secret));
  EXPECT_FALSE((*cat)->get_backup(b.id).ok());  // its only copy was there

  auto empty = remove_target(**cat, d->path(), "empty", false);
  ASSERT_TRUE(empty.ok()) << empty.error().message();
  EXPECT_EQ(*empty, 0);
  auto unknown = remove_target(**cat, d->path(), "nope", true);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), Code::kNotFound);
}

// ---- the recovery key the dashboard's import and `stacksnap key import` read ----

TEST(RecoveryKey, FoundInTheRecoveryFileInGroupsOrBare) {
  const std::string hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
  auto bare = parse_recovery_key(hex);
  ASSERT_TRUE(bare.ok()) << bare.error().message();
  EXPECT_EQ(bare->hex, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  EXPECT_EQ(bare->fingerprint.size(), 16u);
  auto grouped = parse_recovery_key("00112233 44556677 8899aabb ccddeeff 00112233 44556677 8899aabb ccddeeff\n");
  ASSERT_TRUE(grouped.ok());
  EXPECT_EQ(grouped->fingerprint, bare->fingerprint);
  const std::string file = "StackSnap recovery key\n======================\n\nServer:      host:8080\nFingerprint: " +
                           bare->fingerprint + "\n\nKey (64 hex digits):\n" + hex + "\n\nEvery StackSnap backup…\n";
  auto from_file = parse_recovery_key(file);
  ASSERT_TRUE(from_file.ok()) << from_file.error().message();
  EXPECT_EQ(from_file->fingerprint, bare->fingerprint);
  for (const char* bad : {"", "not a key", "0011", "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}) {
    auto r = parse_recovery_key(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace stacksnap::app
