// S3Target under faults injected by the test proxy: bad signatures, 500s, cut connections,
// slow answers, a server killed mid-upload; and cleanup of stale multipart uploads.
#include <algorithm>
#include <future>
#include <thread>

#include "s3_test_env.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_target.h"

namespace stacksnap::storage::s3::testing {
namespace {

using namespace std::chrono_literals;

std::string pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  fill_pattern(s, seed, 0);
  return s;
}

class S3Faults : public ::testing::Test {
 protected:
  void SetUp() override { (void)control("DELETE", "/__faults"); }
  void TearDown() override { (void)control("DELETE", "/__faults"); }
};

int requests(const nlohmann::json& s) { return s.value("requests", 0); }

TEST_F(S3Faults, WrongSecretFailsAtOnceWithoutRetryStorm) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("badkey"));
  c.secret_key = "not-the-secret";
  c.retry.max_attempts = 6;
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  auto before = stats();
  auto start = std::chrono::steady_clock::now();
  Status st = put_small(**t, "backups/x", "data");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kPermissionDenied);
  EXPECT_NE(st.error().message().find("s3 PUT " + c.prefix + "/backups/x: SignatureDoesNotMatch: "), std::string::npos)
      << st.error().message();
  EXPECT_EQ(st.error().message().find("not-the-secret"), std::string::npos);
  EXPECT_LT(elapsed, 2s);
  // A multipart upload stops at CreateMultipartUpload; reads fail the same way.
  auto up = (*t)->put("backups/big", 0);
  ASSERT_TRUE(up.ok());
  std::string chunk = pattern(kMiB, 1);
  Status w;
  for (int i = 0; i < 8 && w.ok(); ++i) w = (*up)->write(as_bytes(chunk));
  EXPECT_EQ(w.ok() ? (*up)->commit().error().code() : w.error().code(), Code::kPermissionDenied);
  EXPECT_EQ((*t)->stat("backups/x").error().code(), Code::kPermissionDenied);
  EXPECT_EQ((*t)->get("backups/x", {}).error().code(), Code::kPermissionDenied);
  EXPECT_EQ((*t)->list("", [](const ObjectInfo&) { return Status{}; }).error().code(), Code::kPermissionDenied);
  auto after = stats();
  // One request per operation: put, initiate, head, get, list.
  EXPECT_EQ(requests(after) - requests(before), 5);
  EXPECT_EQ(after["auth_failures"].get<int>() - before["auth_failures"].get<int>(), 5);
}

TEST_F(S3Faults, UnknownAccessKey) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("unknownkey"));
  c.access_key = "NOSUCHKEY";
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  Status st = put_small(**t, "x", "y");
  EXPECT_EQ(st.error().code(), Code::kPermissionDenied);
  EXPECT_NE(st.error().message().find("InvalidAccessKeyId"), std::string::npos) << st.error().message();
}

TEST_F(S3Faults, Injected500sAreRetried) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("five-hundred")));
  ASSERT_TRUE(t.ok());
  auto before = stats();
  inject({{"match", "^PUT .*partNumber=2&"}, {"fail_next", 2}, {"status", 500}});
  inject({{"match", "^POST .*uploadId="}, {"fail_next", 1}, {"status", 503}, {"code", "SlowDown"}});
  inject({{"match", "^GET "}, {"fail_next", 1}, {"status", 500}});
  std::string data = pattern(3 * kMinPartSize + 100, 2);
  Status st = put_small(**t, "retried.bin", data);
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto back = get_small(**t, "retried.bin", 64 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(*back == data);
  auto after = stats();
  EXPECT_EQ(after["faults_injected"].get<int>() - before["faults_injected"].get<int>(), 4);
  EXPECT_EQ(op_count(after, "PUT object?uploadId?partNumber") - op_count(before, "PUT object?uploadId?partNumber"),
            4 + 2);
}

TEST_F(S3Faults, PersistentFailureGivesUpAndAbortsTheUpload) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("give-up")));
  ASSERT_TRUE(t.ok());
  auto before = stats();
  inject({{"match", "^PUT .*partNumber=2&"}, {"fail_next", 100}, {"status", 500}});
  std::string data = pattern(3 * kMinPartSize, 3);
  Status st = put_small(**t, "never.bin", data);
  (void)control("DELETE", "/__faults");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kUnavailable);
  EXPECT_NE(st.error().message().find("gave up after 5 attempts"), std::string::npos) << st.error().message();
  auto after = stats();
  EXPECT_EQ(after["uploads"]["aborted"].get<int>() - before["uploads"]["aborted"].get<int>(), 1);
  EXPECT_EQ(after["uploads"]["active"].get<int>(), before["uploads"]["active"].get<int>());
  EXPECT_EQ((*t)->stat("never.bin").error().code(), Code::kNotFound);
}

TEST_F(S3Faults, CutConnectionsAreRetried) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("cut")));
  ASSERT_TRUE(t.ok());
  auto before = stats();
  inject({{"match", "^PUT .*partNumber=1&"}, {"fail_next", 1}, {"cut_after_request_bytes", 1 << 20}});
  inject({{"match", "^PUT .*partNumber=2&"}, {"fail_next", 1}, {"cut_connection", true}});
  inject({{"match", "^POST .*uploads"}, {"fail_next", 1}, {"cut_connection", true}});
  std::string data = pattern(2 * kMinPartSize + 5, 4);
  Status st = put_small(**t, "cut.bin", data);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(*get_small(**t, "cut.bin", 64 << 20) == data);
  EXPECT_EQ(stats()["faults_injected"].get<int>() - before["faults_injected"].get<int>(), 3);
}

// The single PutObject of put_file: every kind of failure restarts it from the file.
TEST_F(S3Faults, SinglePutRetriesReReadTheFile) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("single-retry")));
  ASSERT_TRUE(t.ok());
  PatternFile f(12 * kMiB + 1, 31);
  auto before = stats();
  inject({{"match", "^PUT .*/single\\.bin$"}, {"fail_next", 1}, {"cut_after_request_bytes", 4 << 20}});
  inject({{"match", "^PUT .*/single\\.bin$"}, {"fail_next", 1}, {"status", 500}});
  inject({{"match", "^PUT .*/single\\.bin$"}, {"fail_next", 1}, {"cut_connection", true}});
  std::vector<uint64_t> seen;
  Status st = (*t)->put_file("single.bin", f.fd(), f.size(), {.sha256 = f.sha256(), .progress = [&](uint64_t n) -> Status {
                                                               seen.push_back(n);
                                                               return {};
                                                             }});
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto after = stats();
  EXPECT_EQ(after["faults_injected"].get<int>() - before["faults_injected"].get<int>(), 3);
  EXPECT_EQ(op_count(after, "PUT object") - op_count(before, "PUT object"), 4);
  EXPECT_EQ(after["hash_mismatches"], before["hash_mismatches"]);  // every retry sent the whole file again
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));            // progress never goes back
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), f.size());
  std::string want(f.size(), '\0');
  fill_pattern(want, 31, 0);
  EXPECT_TRUE(*get_small(**t, "single.bin", 64 << 20) == want);
  EXPECT_TRUE((*t)->remove("single.bin").ok());
}

TEST_F(S3Faults, SinglePutPersistentFailureGivesUpAndStoresNothing) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("single-give-up")));
  ASSERT_TRUE(t.ok());
  PatternFile f(6 * kMiB, 32);
  auto before = stats();
  inject({{"match", "^PUT .*/never\\.bin$"}, {"fail_next", 2}, {"cut_after_request_bytes", 1 << 20}});
  inject({{"match", "^PUT .*/never\\.bin$"}, {"fail_next", 100}, {"status", 503}, {"code", "SlowDown"}});
  Status st = (*t)->put_file("never.bin", f.fd(), f.size(), {.sha256 = f.sha256()});
  (void)control("DELETE", "/__faults");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kUnavailable);
  EXPECT_NE(st.error().message().find("gave up after 5 attempts"), std::string::npos) << st.error().message();
  EXPECT_EQ(op_count(stats(), "PUT object") - op_count(before, "PUT object"), 5);
  // The two cut bodies left nothing behind either.
  EXPECT_EQ((*t)->stat("never.bin").error().code(), Code::kNotFound);
  int n = 0;
  ASSERT_TRUE((*t)->list("", [&](const ObjectInfo&) { ++n; return Status{}; }).ok());
  EXPECT_EQ(n, 0);
}

// A target whose every retry waits the full 30 s.
S3Config slow_retry_config(const S3TestBed& bed, const std::string& prefix) {
  S3Config c = test_config(bed, fresh_prefix(prefix));
  c.retry = {.max_attempts = 6, .base_delay = std::chrono::seconds(30), .max_delay = std::chrono::seconds(30)};
  c.random = [] { return uint64_t{30'000}; };
  return c;
}

struct StoppedPut {
  Status status;
  double seconds = 0;
};

// put_file of `f` as `key`, with a stop requested after `delay` (from another thread).
StoppedPut put_then_stop(Target& t, const std::string& key, PatternFile& f, std::chrono::milliseconds delay) {
  std::stop_source stop;
  auto t0 = std::chrono::steady_clock::now();
  auto fut = std::async(std::launch::async, [&] {
    return t.put_file(key, f.fd(), f.size(), {.sha256 = f.sha256(), .stop = stop.get_token()});
  });
  std::this_thread::sleep_for(delay);
  stop.request_stop();
  StoppedPut r{fut.get()};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (void)control("DELETE", "/__faults");
  return r;
}

// A stop request while the upload waits 30 s before its next retry ends it at once:
// Cancelled, no further request, nothing stored.
TEST_F(S3Faults, SinglePutCancelledDuringARetryWaitEndsAtOnce) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(slow_retry_config(bed, "single-cancel"));
  ASSERT_TRUE(t.ok());
  PatternFile f(2 * kMiB, 34);
  auto before = stats();
  inject({{"match", "^PUT .*/stopped\\.bin$"}, {"fail_next", 100}, {"status", 503}, {"code", "SlowDown"}});
  auto r = put_then_stop(**t, "stopped.bin", f, std::chrono::milliseconds(700));  // the first attempt failed
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.error().code(), Code::kCancelled) << r.status.error().message();
  EXPECT_LT(r.seconds, 3.0) << "the 30 s wait was not cut short";
  EXPECT_EQ(op_count(stats(), "PUT object") - op_count(before, "PUT object"), 1);
  EXPECT_EQ((*t)->stat("stopped.bin").error().code(), Code::kNotFound);
}

// The same for a multipart upload: a part waiting 30 s before its next try; the stop ends
// the upload at once, Cancelled, and the multipart upload is aborted on the server.
TEST_F(S3Faults, MultipartCancelledDuringARetryWaitEndsAtOnceAndAborts) {
  S3_TEST_BED(bed);
  S3Config c = slow_retry_config(bed, "mp-cancel");
  c.multipart_threshold = 0;  // always multipart
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  PatternFile f(3 * kMinPartSize, 35);
  auto before = stats();
  inject({{"match", "^PUT .*partNumber=2&"}, {"fail_next", 100}, {"status", 503}, {"code", "SlowDown"}});
  auto r = put_then_stop(**t, "mp-stopped.bin", f, std::chrono::milliseconds(1500));  // part 2 failed, waits
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.error().code(), Code::kCancelled) << r.status.error().message();
  EXPECT_LT(r.seconds, 5.0) << "the 30 s wait was not cut short";
  auto after = stats();
  EXPECT_EQ(after["uploads"]["aborted"].get<int>() - before["uploads"]["aborted"].get<int>(), 1);
  EXPECT_EQ(after["uploads"]["active"].get<int>(), before["uploads"]["active"].get<int>());
  EXPECT_EQ((*t)->stat("mp-stopped.bin").error().code(), Code::kNotFound);
}

TEST_F(S3Faults, SinglePutWithWrongSecretFailsAtOnce) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("single-badkey"));
  c.secret_key = "not-the-secret";
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  PatternFile f(6 * kMiB, 33);
  auto before = stats();
  Status st = (*t)->put_file("x.bin", f.fd(), f.size(), {.sha256 = f.sha256()});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kPermissionDenied) << st.error().message();
  EXPECT_NE(st.error().message().find("SignatureDoesNotMatch"), std::string::npos) << st.error().message();
  EXPECT_EQ(requests(stats()) - requests(before), 1);
}

// The server killed in the middle of a single PUT (from the progress callback, so the
// transfer is surely in flight) and restarted: the PUT is retried from the file and
// succeeds, or fails cleanly with nothing stored.
TEST_F(S3Faults, SinglePutServerKilledMidUploadAndRestarted) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("single-killed"));
  c.retry = RetryPolicy{.max_attempts = 12, .base_delay = 200ms, .max_delay = 2s};
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  PatternFile f(64 * kMiB, 34);
  bool killed = false;
  std::future<int> restart;
  Status st = (*t)->put_file("victim.bin", f.fd(), f.size(), {.sha256 = f.sha256(), .progress = [&](uint64_t n) -> Status {
                                                               if (!killed && n >= 8 * kMiB) {
                                                                 killed = true;
                                                                 EXPECT_EQ(run_shell(bed.fixture_dir + "/stop.sh 2>&1"), 0);
                                                                 restart = std::async(std::launch::async, [&] {
                                                                   std::this_thread::sleep_for(300ms);
                                                                   return run_shell(bed.fixture_dir + "/start.sh 2>&1");
                                                                 });
                                                               }
                                                               return {};
                                                             }});
  ASSERT_TRUE(killed);
  ASSERT_EQ(restart.get(), 0);
  if (st.ok()) {
    auto r = (*t)->get("victim.bin", {});
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::string buf(kMiB, '\0'), want(kMiB, '\0');
    for (uint64_t off = 0; off < f.size(); off += kMiB) {
      ASSERT_TRUE(read_exact(**r, {reinterpret_cast<std::byte*>(buf.data()), buf.size()}).ok());
      fill_pattern(want, 34, off);
      ASSERT_TRUE(buf == want) << "mismatch at " << off;
    }
    std::cout << "[ note ] single PUT survived the restart\n";
  } else {
    EXPECT_EQ(st.error().code(), Code::kUnavailable) << st.error().message();
    EXPECT_EQ((*t)->stat("victim.bin").error().code(), Code::kNotFound);
    std::cout << "[ note ] single PUT failed cleanly: " << st.error().message() << "\n";
  }
  EXPECT_TRUE((*t)->remove("victim.bin").ok());
}

TEST_F(S3Faults, DownloadCutMidBodyResumesWithRange) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("resume")));
  ASSERT_TRUE(t.ok());
  std::string data = pattern(4 * kMiB + 3, 5);
  ASSERT_TRUE(put_small(**t, "r.bin", data).ok());
  auto before = stats();
  inject({{"match", "^GET .*r\\.bin"}, {"fail_next", 2}, {"cut_after_response_bytes", 1'500'000}});
  auto r = (*t)->get("r.bin", {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto got = read_all(**r, 64 << 20);
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_TRUE(*got == data);
  auto after = stats();
  EXPECT_EQ(after["by_method"]["GET"].get<int>() - before["by_method"]["GET"].get<int>(), 3);
}

TEST_F(S3Faults, ObjectReplacedDuringResumedReadIsAborted) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("replaced")));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(put_small(**t, "x.bin", pattern(24 * kMiB, 6)).ok());
  // The cut comes after more bytes than the reader buffers and the sockets hold, so it is
  // met while reading, after the object was replaced.
  inject({{"match", "^GET .*x\\.bin"}, {"fail_next", 1}, {"cut_after_response_bytes", 16 * kMiB}});
  auto r = (*t)->get("x.bin", {});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(put_small(**t, "x.bin", pattern(24 * kMiB, 7)).ok());  // new content, new ETag
  auto got = read_all(**r, 64 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kAborted) << got.error().message();
}

TEST_F(S3Faults, SlowAnswersHitTheStallTimeoutAndAreRetried) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("slow"));
  c.timeouts.stall = 1s;
  c.timeouts.small_request = 1s;
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  auto before = stats();
  inject({{"match", "^PUT "}, {"fail_next", 1}, {"delay_ms", 2500}});
  inject({{"match", "^HEAD "}, {"fail_next", 1}, {"delay_ms", 2500}});
  auto start = std::chrono::steady_clock::now();
  Status st = put_small(**t, "slow", "patience");
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto info = (*t)->stat("slow");
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->size, 8u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 2s);  // two timeouts of 1 s
  EXPECT_EQ(stats()["faults_injected"].get<int>() - before["faults_injected"].get<int>(), 2);
}

TEST_F(S3Faults, ServerKilledMidUploadAndRestarted) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("killed"));
  c.parallel_parts = 2;
  c.retry = RetryPolicy{.max_attempts = 12, .base_delay = 200ms, .max_delay = 2s};
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  const size_t total = 24 * kMinPartSize;  // 120 MiB in 24 parts
  auto before = stats();
  std::atomic<uint64_t> written{0};
  auto job = std::async(std::launch::async, [&]() -> Status {
    auto up = TRY((*t)->put("victim.bin", total));
    std::string chunk(kMiB, '\0');
    for (uint64_t off = 0; off < total; off += kMiB) {
      fill_pattern(chunk, 11, off);
      TRY(up->write(as_bytes(chunk)));
      written = off + kMiB;
    }
    return up->commit();
  });
  // Kill both processes once a few parts went through, then bring them back.
  for (int i = 0; i < 600; ++i) {
    auto s = control("GET", "/__stats");
    if (s.ok() && op_count(*s, "PUT object?uploadId?partNumber") - op_count(before, "PUT object?uploadId?partNumber") >= 3) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(run_shell(bed.fixture_dir + "/stop.sh 2>&1"), 0);
  std::this_thread::sleep_for(1500ms);
  std::string out;
  ASSERT_EQ(run_shell(bed.fixture_dir + "/start.sh 2>&1", &out), 0) << out;
  Status st = job.get();
  if (st.ok()) {
    auto r = (*t)->get("victim.bin", {});
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::string buf(kMiB, '\0'), want(kMiB, '\0');
    for (uint64_t off = 0; off < total; off += kMiB) {
      ASSERT_TRUE(read_exact(**r, {reinterpret_cast<std::byte*>(buf.data()), buf.size()}).ok());
      fill_pattern(want, 11, off);
      ASSERT_TRUE(buf == want) << "mismatch at " << off;
    }
    std::cout << "[ note ] upload survived the restart and completed\n";
  } else {
    // A clean failure: retryable error, nothing visible, the upload aborted.
    EXPECT_EQ(st.error().code(), Code::kUnavailable) << st.error().message();
    EXPECT_EQ((*t)->stat("victim.bin").error().code(), Code::kNotFound);
    auto n = (*t)->cleanup_stale(0s);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0) << "the failed upload was not aborted";
    std::cout << "[ note ] upload failed cleanly: " << st.error().message() << "\n";
  }
  // Either way no multipart upload of ours is left open.
  auto uploads = control("GET", "/__uploads");
  ASSERT_TRUE(uploads.ok());
  for (const auto& [id, u] : uploads->items()) {
    if (u["key"].get<std::string>().rfind(c.prefix, 0) == 0) {
      EXPECT_NE(u["state"], "active") << id;
    }
  }
  EXPECT_TRUE((*t)->remove("victim.bin").ok());
}

TEST_F(S3Faults, CleanupStaleAbortsAbandonedUploadsUnderOurPrefixOnly) {
  S3_TEST_BED(bed);
  std::string prefix = fresh_prefix("stale");
  auto t = S3Target::create(test_config(bed, prefix));
  ASSERT_TRUE(t.ok());
  auto other = S3Client::create(test_config(bed, fresh_prefix("not-ours")));
  ASSERT_TRUE(other.ok());
  // What a killed process leaves behind: an initiated upload with a part, never completed.
  auto raw = S3Client::create(test_config(bed, prefix));  // same prefix as the target
  ASSERT_TRUE(raw.ok());
  const std::string key = (*raw)->full_key("backups/abandoned.stsnap");
  auto mine = (*raw)->create_multipart(key);
  ASSERT_TRUE(mine.ok()) << mine.error().message();
  std::string part = pattern(kMinPartSize, 12);
  ASSERT_TRUE((*raw)->upload_part(key, *mine, 1, as_bytes(part), sha256_hex(as_bytes(part)), nullptr).ok());
  auto theirs = (*other)->create_multipart((*other)->full_key("x"));
  ASSERT_TRUE(theirs.ok());

  auto young = (*t)->cleanup_stale(3600s);
  ASSERT_TRUE(young.ok()) << young.error().message();
  EXPECT_EQ(*young, 0);  // too recent
  auto n = (*t)->cleanup_stale(0s);
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(*n, 1);
  auto uploads = control("GET", "/__uploads");
  ASSERT_TRUE(uploads.ok());
  EXPECT_EQ((*uploads)[*mine]["state"], "aborted");
  EXPECT_EQ((*uploads)[*theirs]["state"], "active");
  EXPECT_TRUE((*other)->abort_multipart((*other)->full_key("x"), *theirs).ok());
  EXPECT_EQ(*(*t)->cleanup_stale(0s), 0);
}

}  // namespace
}  // namespace stacksnap::storage::s3::testing
