// Several targets per backup (local + S3 on the test bed), a failing target, rebuilding
// the catalog from S3 with only the key, prune, `target test`, and what the provider sees.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "common/build_paths.h"
#include "backup_support.h"
#include "base/temp_dir.h"
#include "s3_test_env.h"
#include "storage/s3/s3_target.h"

namespace stacksnap::it {
namespace {

namespace s3t = storage::s3::testing;
using Json = nlohmann::json;

std::unique_ptr<BackupBed> make_bed() {
  auto bed = BackupBed::create();
  EXPECT_TRUE(bed.ok()) << (bed.ok() ? "" : bed.error().message());
  return bed.ok() ? std::move(*bed) : nullptr;
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

// `target add s3 NAME` against the test bed; the secret is written to a 0600 file first.
// These tests look at the objects of the archive format (one blob and sidecar per backup,
// readable names): `--format archive` unless `extra` names a format.
CliRun add_s3(const BackupBed& bed, const s3t::S3TestBed& s3, const std::string& name, const std::string& prefix,
              const std::string& bucket = "", const std::string& secret = "", const std::string& extra = "") {
  std::string secret_file = bed.data_dir() + "/" + name + ".secret-src";
  write_file(secret_file, secret.empty() ? s3.secret_key : secret);
  return bed.run("target add s3 " + name + " --endpoint " + s3.endpoint + " --bucket " +
                 (bucket.empty() ? s3.bucket : bucket) + " --region " + s3.region + " --prefix " + prefix +
                 " --addressing path --access-key " + s3.access_key + " --secret-key-file " + secret_file +
                 (extra.find("--format") == std::string::npos ? " --format archive" : "") + extra);
}

// The object keys under `prefix` on the test bucket (keys relative to the prefix).
std::map<std::string, uint64_t> s3_objects(const s3t::S3TestBed& s3, const std::string& prefix) {
  std::map<std::string, uint64_t> out;
  auto t = storage::s3::S3Target::create(s3t::test_config(s3, prefix));
  EXPECT_TRUE(t.ok());
  if (!t.ok()) return out;
  auto st = (*t)->list("", [&](const storage::ObjectInfo& o) -> Status {
    out[o.key] = o.size;
    return {};
  });
  EXPECT_TRUE(st.ok()) << st.error().message();
  return out;
}

std::unique_ptr<storage::Target> s3_target(const s3t::S3TestBed& s3, const std::string& prefix) {
  auto t = storage::s3::S3Target::create(s3t::test_config(s3, prefix));
  EXPECT_TRUE(t.ok());
  return t.ok() ? std::move(*t) : nullptr;
}

std::string backup_id_of(const CliRun& r) { return r.summary.is_null() ? "" : r.summary.value("backup_id", ""); }

Json backups_json(const BackupBed& bed, const std::string& extra = "") {
  auto r = bed.run("backups --json " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  try {
    return Json::parse(r.out);
  } catch (...) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return Json::array();
  }
}

std::set<std::string> copy_targets(const Json& b) {
  std::set<std::string> out;
  for (const auto& c : b["copies"]) out.insert(c["target"].get<std::string>());
  return out;
}

TEST(StorageMulti, LocalAndS3CopiesRebuildFromS3WithOnlyTheKey) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  S3_TEST_BED(s3);
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string prefix = s3t::fresh_prefix("multi");
  auto r = add_s3(*bed, s3, "offsite", prefix);
  ASSERT_EQ(r.exit_code, 0) << r.out;

  const std::string shop = stack_project("shop");
  r = bed->backup(shop, "--target local --target offsite");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(r.summary.value("result", ""), "succeeded") << r.out;
  const std::string id = backup_id_of(r);
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(r.summary["failed_targets"].empty()) << r.out;

  // Both copies recorded; both intact by streaming them without the key.
  auto list = backups_json(*bed);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(copy_targets(list[0]), (std::set<std::string>{"local", "offsite"}));
  auto v = bed->run("verify " + id + " --shallow");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_TRUE(contains(v.out, "  local: ok\n")) << v.out;
  EXPECT_TRUE(contains(v.out, "  offsite: ok\n")) << v.out;

  // What the provider holds: the blob and its sidecar, names without the project, and
  // no plaintext anywhere (the s3rver files themselves are grepped).
  auto objs = s3_objects(s3, prefix);
  EXPECT_EQ(objs.size(), 2u);
  EXPECT_TRUE(objs.count("backups/" + id + ".stsnap"));
  EXPECT_TRUE(objs.count("backups/" + id + ".json"));
  for (const auto& [k, size] : objs) EXPECT_FALSE(contains(k, "shop")) << k;
  const std::string data_dir = "/tmp/stacksnap-s3/data/" + s3.bucket + "/" + prefix;
  for (const char* needle : {"shop", "hello from shop", "order line 1", "shop-secret-pw-4711"}) {
    auto g = run_script("grep -rl -a -F '" + std::string(needle) + "' " + data_dir + " | grep -v '_S3rver_metadata'");
    EXPECT_TRUE(g.output.empty()) << needle << " is readable on the provider: " << g.output;
  }
  auto names = run_script("find " + data_dir + " | grep -F shop");
  EXPECT_TRUE(names.output.empty()) << names.output;

  // A fresh data dir with only the key and the S3 target sees the backup.
  auto fresh = TempDir::create("/var/tmp", "stacksnap-it-fresh-");
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(::chmod(fresh->path().c_str(), 0700), 0);
  ASSERT_EQ(run_script("cp " + bed->data_dir() + "/key " + fresh->path() + "/key && chmod 600 " + fresh->path() +
                       "/key").exit_code,
            0);
  auto run_fresh = [&](const std::string& args) {
    return run_script(stacksnap::build_paths::binary() + " --data-dir " + fresh->path() + " " + args + " 2>&1");
  };
  std::string secret_file = fresh->path() + "/s3.secret-src";
  write_file(secret_file, s3.secret_key);
  auto a = run_fresh("target add s3 offsite --endpoint " + s3.endpoint + " --bucket " + s3.bucket + " --region " +
                     s3.region + " --prefix " + prefix + " --addressing path --access-key " + s3.access_key +
                     " --secret-key-file " + secret_file);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  // (No plain `backups` here: on an empty catalog it would rebuild from every target, which
  // `backups --target` below checks explicitly; the disaster tests cover the plain form.)

  // Plus two bad sidecars on the target: one whose public size was edited, one whose
  // sealed metadata was flipped. Reported, not fatal.
  auto t = s3_target(s3, prefix);
  ASSERT_TRUE(t);
  auto sidecar = storage::get_small(*t, "backups/" + id + ".json");
  ASSERT_TRUE(sidecar.ok());
  Json sc = Json::parse(*sidecar);
  {
    Json edited = sc;
    edited["size"] = sc["size"].get<uint64_t>() + 1;
    ASSERT_TRUE(storage::put_small(*t, "backups/" + id + ".json.bak.json", edited.dump()).ok());
    Json flipped = sc;
    std::string meta = sc["meta"].get<std::string>();
    meta[meta.size() / 2] = meta[meta.size() / 2] == 'A' ? 'B' : 'A';
    flipped["meta"] = meta;
    flipped["id"] = id + "x";
    flipped["blob"] = "backups/" + id + "x.stsnap";
    ASSERT_TRUE(storage::put_small(*t, "backups/" + id + "x.json", flipped.dump()).ok());
  }
  auto rb = run_fresh("backups --target offsite --json");
  ASSERT_EQ(rb.exit_code, 0) << rb.output;
  Json rj = Json::parse(rb.output.substr(rb.output.find('{')));
  EXPECT_EQ(rj["rebuild"]["added_backups"], Json::array({id})) << rj.dump(2);
  EXPECT_EQ(rj["rebuild"]["problems"].size(), 2u) << rj.dump(2);
  ASSERT_EQ(rj["backups"].size(), 1u) << rj.dump(2);
  EXPECT_EQ(rj["backups"][0]["id"], id);
  EXPECT_EQ(rj["backups"][0]["project"], shop);
  EXPECT_EQ(rj["backups"][0]["sha256"], list[0]["sha256"]);
  EXPECT_EQ(copy_targets(rj["backups"][0]), std::set<std::string>{"offsite"});
  // Idempotent, and the rebuilt record is good enough to check the stored copy.
  auto again = run_fresh("backups --target offsite");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "0 added")) << again.output;
  EXPECT_TRUE(contains(again.output, "SKIPPED")) << again.output;
  EXPECT_TRUE(contains(again.output, id + "  " + shop)) << again.output;
  auto fv = run_fresh("verify " + id + " --shallow");
  EXPECT_EQ(fv.exit_code, 0) << fv.output;
  auto fdeep = run_fresh("verify " + id);
  EXPECT_EQ(fdeep.exit_code, 0) << fdeep.output;
  // A drill from there: the archive comes from S3 into the spool, fetched and authenticated
  // in one pass (a local copy is read in place instead); the spool is empty afterwards.
  auto fdrill = run_fresh("drill " + id + " --json");
  EXPECT_EQ(fdrill.exit_code, 0) << fdrill.output;
  EXPECT_TRUE(contains(fdrill.output, "from target offsite")) << fdrill.output;
  EXPECT_FALSE(contains(fdrill.output, "read in place")) << fdrill.output;
  EXPECT_EQ(run_script("ls -A " + fresh->path() + "/spool").output, "");

  // Another key: every sidecar is foreign, reported, nothing added, still exit 0.
  auto other = make_bed();
  ASSERT_TRUE(other);
  ASSERT_EQ(add_s3(*other, s3, "offsite", prefix).exit_code, 0);
  auto foreign = other->run("backups --target offsite --json");
  ASSERT_EQ(foreign.exit_code, 0) << foreign.out;
  Json fj = Json::parse(foreign.out.substr(foreign.out.find('{')));
  EXPECT_TRUE(fj["rebuild"]["added_backups"].empty()) << fj.dump(2);
  EXPECT_EQ(fj["rebuild"]["problems"].size(), 3u) << fj.dump(2);
  bool foreign_reported = false;
  for (const auto& p : fj["rebuild"]["problems"]) {
    if (p["key"] == "backups/" + id + ".json") {
      foreign_reported = contains(p["message"].get<std::string>(), "another key");
    }
  }
  EXPECT_TRUE(foreign_reported) << fj.dump(2);
  EXPECT_TRUE(fj["backups"].empty());
}

// --readable-names: the project becomes a directory of the object names (only there), and
// a fresh data dir rebuilds the catalog from that layout.
TEST(StorageMulti, ReadableNamesShowTheProjectAndRebuild) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  S3_TEST_BED(s3);
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string prefix = s3t::fresh_prefix("readable");
  auto a = add_s3(*bed, s3, "named", prefix, "", "", " --readable-names");
  ASSERT_EQ(a.exit_code, 0) << a.out;
  const std::string files = stack_project("files");
  auto r = bed->backup(files, "--target local --target named");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(r.summary.value("result", ""), "succeeded") << r.out;
  const std::string id = backup_id_of(r);
  ASSERT_FALSE(id.empty());
  auto objs = s3_objects(s3, prefix);
  EXPECT_EQ(objs.size(), 2u);
  EXPECT_TRUE(objs.count("backups/" + files + "/" + id + ".stsnap")) << Json(objs).dump();
  EXPECT_TRUE(objs.count("backups/" + files + "/" + id + ".json")) << Json(objs).dump();
  // The local target (no opt-in) keeps the opaque layout.
  struct stat st{};
  EXPECT_EQ(::stat(bed->blob_path(id).c_str(), &st), 0) << bed->blob_path(id);
  EXPECT_TRUE(bed->blob_path(id).ends_with("/backups/" + id + ".stsnap")) << bed->blob_path(id);
  auto list = backups_json(*bed);
  ASSERT_EQ(list.size(), 1u);
  for (const auto& c : list[0]["copies"]) {
    EXPECT_EQ(c["key"], c["target"] == "named" ? "backups/" + files + "/" + id + ".stsnap" : "backups/" + id + ".stsnap");
  }
  EXPECT_EQ(bed->run("verify " + id + " --shallow").exit_code, 0);

  // Only the key and the target: the catalog comes back from the readable layout.
  auto fresh = make_bed();
  ASSERT_TRUE(fresh);
  ASSERT_EQ(run_script("cp " + bed->data_dir() + "/key " + fresh->data_dir() + "/key").exit_code, 0);
  ASSERT_EQ(add_s3(*fresh, s3, "named", prefix, "", "", " --readable-names").exit_code, 0);
  auto rb = fresh->run("backups --target named --json");
  ASSERT_EQ(rb.exit_code, 0) << rb.out;
  Json rj = Json::parse(rb.out.substr(rb.out.find('{')));
  EXPECT_EQ(rj["rebuild"]["added_backups"], Json::array({id})) << rj.dump(2);
  EXPECT_TRUE(rj["rebuild"]["problems"].empty()) << rj.dump(2);
  ASSERT_EQ(rj["backups"].size(), 1u) << rj.dump(2);
  EXPECT_EQ(rj["backups"][0]["project"], files);
  EXPECT_EQ(fresh->run("verify " + id + " --shallow").exit_code, 0);
}

TEST(StorageMulti, FailingTargetsAreReportedAndLeaveNoHalfObject) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  S3_TEST_BED(s3);
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  (void)s3t::control("DELETE", "/__faults");
  const std::string prefix = s3t::fresh_prefix("faulty");
  ASSERT_EQ(add_s3(*bed, s3, "faulty", prefix).exit_code, 0);
  ASSERT_EQ(add_s3(*bed, s3, "nobucket", s3t::fresh_prefix("nobucket"), "stacksnap-no-such-bucket").exit_code, 0);
  // The sidecar PUT on the faulty target is refused: the blob already uploaded must go.
  s3t::inject({{"match", "^PUT .*" + prefix + "/backups/[^?]*\\.json"}, {"fail_next", 1}, {"status", 403},
               {"code", "AccessDenied"}});
  auto r = bed->backup(stack_project("files"), "--target local --target faulty --target nobucket");
  (void)s3t::control("DELETE", "/__faults");
  ASSERT_EQ(r.exit_code, 6) << "partial: stored, but not on every target\n" << r.out;
  ASSERT_EQ(r.summary.value("result", ""), "partial") << r.out;
  EXPECT_TRUE(contains(r.err, "stacksnap: partial: failed on faulty: ")) << r.err;
  std::map<std::string, std::string> failed;
  for (const auto& f : r.summary["failed_targets"]) failed[f["target"]] = f["message"];
  ASSERT_EQ(failed.size(), 2u) << r.out;
  EXPECT_TRUE(contains(failed["faulty"], "AccessDenied")) << failed["faulty"];
  EXPECT_TRUE(contains(failed["nobucket"], "NoSuchBucket")) << failed["nobucket"];
  EXPECT_TRUE(s3_objects(s3, prefix).empty()) << "the faulty target keeps no blob without a sidecar";
  auto list = backups_json(*bed);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(copy_targets(list[0]), std::set<std::string>{"local"});
  EXPECT_EQ(bed->run("verify " + backup_id_of(r) + " --shallow").exit_code, 0);
}

TEST(StorageMulti, PruneDryRunThenReal) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  S3_TEST_BED(s3);
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string prefix = s3t::fresh_prefix("prune");
  const std::string files = stack_project("files");
  ASSERT_EQ(add_s3(*bed, s3, "offsite", prefix).exit_code, 0);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = bed->backup(files);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ids.push_back(backup_id_of(r));
    if (i < 2) ::sleep(1);  // distinct creation seconds
  }
  ASSERT_EQ(s3_objects(s3, prefix).size(), 6u);

  // No policy at all: nothing happens.
  auto none = bed->run("prune --project " + files);
  EXPECT_EQ(none.exit_code, 0) << none.out;
  EXPECT_TRUE(contains(none.out, "no retention policy")) << none.out;

  auto dry = bed->run("prune --project " + files + " --keep-last 1 --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_TRUE(contains(dry.out, "keep    " + ids[2])) << dry.out;
  EXPECT_TRUE(contains(dry.out, "last 1/1")) << dry.out;
  EXPECT_TRUE(contains(dry.out, "delete  " + ids[0])) << dry.out;
  EXPECT_TRUE(contains(dry.out, "not selected by last 1")) << dry.out;
  EXPECT_TRUE(contains(dry.out, "2 would be deleted")) << dry.out;
  EXPECT_EQ(backups_json(*bed).size(), 3u);
  EXPECT_EQ(s3_objects(s3, prefix).size(), 6u);

  // A stored policy, applied for real: keep-last 2.
  ASSERT_EQ(bed->run("retention set " + files + " --keep-last 2").exit_code, 0);
  auto real = bed->run("prune --project " + files + " --json");
  ASSERT_EQ(real.exit_code, 0) << real.out;
  Json pj = Json::parse(real.out);
  ASSERT_EQ(pj["groups"].size(), 1u) << pj.dump(2);
  EXPECT_EQ(pj["groups"][0]["source"], "stored");
  EXPECT_EQ(pj["result"]["deleted"].size(), 1u) << pj.dump(2);
  EXPECT_EQ(pj["result"]["deleted"][0]["id"], ids[0]);
  auto list = backups_json(*bed);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], ids[2]);
  EXPECT_EQ(list[1]["id"], ids[1]);
  auto objs = s3_objects(s3, prefix);
  EXPECT_EQ(objs.size(), 4u);
  EXPECT_FALSE(objs.count("backups/" + ids[0] + ".json"));
  EXPECT_FALSE(objs.count("backups/" + ids[0] + ".stsnap"));
  EXPECT_NE(::access(bed->blob_path(ids[0]).c_str(), F_OK), 0);
  EXPECT_EQ(::access(bed->blob_path(ids[1]).c_str(), F_OK), 0);

  // Only on one target: keep-last 1 on offsite removes ids[1] there, local keeps it.
  auto one = bed->run("prune --project " + files + " --target offsite --keep-last 1");
  ASSERT_EQ(one.exit_code, 0) << one.out;
  list = backups_json(*bed);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(copy_targets(list[1]), std::set<std::string>{"local"});
  EXPECT_EQ(copy_targets(list[0]), (std::set<std::string>{"local", "offsite"}));
  EXPECT_EQ(s3_objects(s3, prefix).size(), 2u);
}

TEST(StorageMulti, TargetTestReportsTheExactProblem) {
  S3_TEST_BED(s3);
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  ASSERT_EQ(add_s3(*bed, s3, "good", s3t::fresh_prefix("probe-good")).exit_code, 0);
  ASSERT_EQ(add_s3(*bed, s3, "badsecret", s3t::fresh_prefix("probe-bad"), "", "wrong-secret-0000").exit_code, 0);
  auto good = bed->run("target test good");
  EXPECT_EQ(good.exit_code, 0) << good.out;
  for (const char* step : {"write: ok", "read: ok", "list: ok", "delete: ok", "target good works"}) {
    EXPECT_TRUE(contains(good.out, step)) << good.out;
  }
  // (run_script appends 2>&1, so stderr lands in `out`.)
  auto bad = bed->run("target test badsecret");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.out, "write: FAILED")) << bad.out;
  EXPECT_TRUE(contains(bad.out, "stacksnap: target badsecret: write: s3 PUT ")) << bad.out;
  EXPECT_TRUE(contains(bad.out, "SignatureDoesNotMatch")) << bad.out;
  EXPECT_FALSE(contains(bad.out, "wrong-secret-0000")) << "the secret is never printed";
}

}  // namespace
}  // namespace stacksnap::it
