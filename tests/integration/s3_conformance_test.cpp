// The shared storage conformance suite against S3Target on the loopback S3 test bed
// (every request signature-checked by the proxy), each test under a fresh prefix; plus
// multipart-specific behaviour the suite does not reach with its small objects.
#include <thread>

#include "common/target_conformance.h"
#include "s3_test_env.h"
#include "storage/s3/s3_target.h"
#include "storage/s3/s3_upload.h"

namespace stacksnap::storage::s3::testing {
namespace {

using storage::testing::TargetConformance;
using storage::testing::TargetFactory;

std::unique_ptr<Target> make_s3() {
  const auto& bed = s3_test_bed();
  if (!bed.ok()) {
    ADD_FAILURE() << "S3 test server unavailable: " << bed.error().message();
    return nullptr;
  }
  auto t = S3Target::create(test_config(*bed, fresh_prefix("conformance")));
  if (!t.ok()) {
    ADD_FAILURE() << t.error().message();
    return nullptr;
  }
  return std::move(*t);
}

INSTANTIATE_TEST_SUITE_P(S3, TargetConformance, ::testing::Values(TargetFactory(make_s3)));

std::string pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  fill_pattern(s, seed, 0);
  return s;
}

TEST(S3Target, MultipartRoundTripWithParallelParts) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("multipart")));
  ASSERT_TRUE(t.ok()) << t.error().message();
  auto before = stats();
  std::string data = pattern(23 * kMiB + 12345, 7);  // 5 parts of 5 MiB: 4 full + 1 partial
  auto up = (*t)->put("big/obj.bin", 0);
  ASSERT_TRUE(up.ok());
  for (size_t off = 0; off < data.size(); off += 777777) {
    ASSERT_TRUE((*up)->write(as_bytes(std::string_view(data).substr(off, 777777))).ok());
  }
  auto* s3up = dynamic_cast<S3Upload*>(up->get());
  ASSERT_NE(s3up, nullptr);
  EXPECT_LE(s3up->peak_buffers(), 4u);  // parallel_parts (3) + 1
  EXPECT_EQ((*t)->stat("big/obj.bin").error().code(), Code::kNotFound);  // invisible before commit
  Status st = (*up)->commit();
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto after = stats();
  EXPECT_EQ(after["uploads"]["completed"].get<int>() - before["uploads"]["completed"].get<int>(), 1);
  EXPECT_EQ(op_count(after, "PUT object?uploadId?partNumber") - op_count(before, "PUT object?uploadId?partNumber"), 5);
  auto back = get_small(**t, "big/obj.bin", 64 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(*back == data);
  // Ranges across part boundaries.
  auto r = (*t)->get("big/obj.bin", {.offset = 5 * kMiB - 10, .length = 5 * kMiB + 20});
  ASSERT_TRUE(r.ok());
  auto got = read_all(**r, 64 << 20);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data.substr(5 * kMiB - 10, 5 * kMiB + 20));
  // Reading at the very end gives nothing, not an error.
  auto at_end = (*t)->get("big/obj.bin", {.offset = data.size()});
  ASSERT_TRUE(at_end.ok()) << at_end.error().message();
  EXPECT_EQ(*read_all(**at_end, 10), "");
  EXPECT_TRUE((*t)->remove("big/obj.bin").ok());
}

// put_file up to the multipart threshold: one PutObject streamed from the file, with the
// whole file's SHA-256 signed (the proxy checks it), no multipart upload, no part buffers.
TEST(S3Target, PutFileBelowThresholdIsOneSignedPutObject) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("putfile")));
  ASSERT_TRUE(t.ok()) << t.error().message();
  PatternFile f(13 * kMiB + 7, 21);  // more than two parts' worth
  auto before = stats();
  Status st = (*t)->put_file("backups/one.stsnap", f.fd(), f.size(), {.sha256 = f.sha256()});
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto after = stats();
  EXPECT_EQ(op_count(after, "PUT object") - op_count(before, "PUT object"), 1);
  EXPECT_EQ(op_count(after, "POST object?uploads"), op_count(before, "POST object?uploads"));
  EXPECT_EQ(after["uploads"]["initiated"], before["uploads"]["initiated"]);
  EXPECT_EQ(after["hash_mismatches"], before["hash_mismatches"]);
  auto back = get_small(**t, "backups/one.stsnap", 64 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message();
  std::string want(f.size(), '\0');
  fill_pattern(want, 21, 0);
  EXPECT_TRUE(*back == want);

  // A SHA-256 that is not the file's: the server refuses the body, nothing is stored and
  // the error (DataLoss) is not retried.
  std::string wrong = f.sha256();
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  before = stats();
  st = (*t)->put_file("backups/wrong.stsnap", f.fd(), f.size(), {.sha256 = wrong});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDataLoss) << st.error().message();
  EXPECT_NE(st.error().message().find("XAmzContentSHA256Mismatch"), std::string::npos) << st.error().message();
  after = stats();
  EXPECT_EQ(op_count(after, "PUT object") - op_count(before, "PUT object"), 1);
  EXPECT_EQ(after["hash_mismatches"].get<int>() - before["hash_mismatches"].get<int>(), 1);
  EXPECT_EQ((*t)->stat("backups/wrong.stsnap").error().code(), Code::kNotFound);
  EXPECT_TRUE((*t)->remove("backups/one.stsnap").ok());
}

// Above the threshold (and with threshold 0) put_file is a multipart upload.
TEST(S3Target, PutFileAboveThresholdIsMultipart) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("putfile-mp"));
  c.multipart_threshold = 8 * kMiB;
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok()) << t.error().message();
  PatternFile f(12 * kMiB + 3, 22);  // parts of 5 MiB: 3
  auto before = stats();
  Status st = (*t)->put_file("big.bin", f.fd(), f.size(), {.sha256 = f.sha256()});
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto after = stats();
  EXPECT_EQ(after["uploads"]["completed"].get<int>() - before["uploads"]["completed"].get<int>(), 1);
  EXPECT_EQ(op_count(after, "PUT object?uploadId?partNumber") - op_count(before, "PUT object?uploadId?partNumber"), 3);
  EXPECT_EQ(op_count(after, "PUT object"), op_count(before, "PUT object"));
  std::string want(f.size(), '\0');
  fill_pattern(want, 22, 0);
  EXPECT_TRUE(*get_small(**t, "big.bin", 64 << 20) == want);

  c.multipart_threshold = 0;
  auto always = S3Target::create(c);
  ASSERT_TRUE(always.ok());
  PatternFile small(6 * kMiB, 23);
  before = stats();
  ASSERT_TRUE((*always)->put_file("small.bin", small.fd(), small.size()).ok());
  after = stats();
  EXPECT_EQ(after["uploads"]["completed"].get<int>() - before["uploads"]["completed"].get<int>(), 1);
  EXPECT_EQ((*always)->stat("small.bin")->size, small.size());
  EXPECT_TRUE((*always)->remove("small.bin").ok());
  EXPECT_TRUE((*t)->remove("big.bin").ok());
}

TEST(S3Target, ExactPartSizeAndEmptyTail) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("exact")));
  ASSERT_TRUE(t.ok());
  std::string data = pattern(2 * kMinPartSize, 8);  // exactly two parts, nothing left for commit
  ASSERT_TRUE(put_small(**t, "two-parts", data).ok());
  EXPECT_TRUE(*get_small(**t, "two-parts", 64 << 20) == data);
  EXPECT_EQ((*t)->stat("two-parts")->size, data.size());
}

TEST(S3Target, DestroyedMultipartUploadIsAborted) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("abandon")));
  ASSERT_TRUE(t.ok());
  auto before = stats();
  {
    auto up = (*t)->put("half.bin", 0);
    ASSERT_TRUE(up.ok());
    std::string chunk = pattern(kMiB, 9);
    for (int i = 0; i < 12; ++i) ASSERT_TRUE((*up)->write(as_bytes(chunk)).ok());
  }
  auto after = stats();
  EXPECT_EQ(after["uploads"]["initiated"].get<int>() - before["uploads"]["initiated"].get<int>(), 1);
  EXPECT_EQ(after["uploads"]["aborted"].get<int>() - before["uploads"]["aborted"].get<int>(), 1);
  EXPECT_EQ(after["uploads"]["active"].get<int>(), before["uploads"]["active"].get<int>());
  EXPECT_EQ((*t)->stat("half.bin").error().code(), Code::kNotFound);
}

TEST(S3Target, KeysWithSpacesUnicodeAndReservedCharacters) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("keys")));
  ASSERT_TRUE(t.ok());
  std::vector<std::string> keys = {"with space/a b.txt", "plus+equals=x", "日本語/ファイル", "ü~tilde_(1)!",
                                   "q?uery&amp;#hash", "percent%20literal", "semi;colon,comma@at$dollar'"};
  for (const auto& k : keys) {
    Status st = put_small(**t, k, "content of " + k);
    ASSERT_TRUE(st.ok()) << k << ": " << st.error().message();
  }
  std::vector<std::string> listed;
  ASSERT_TRUE((*t)->list("", [&](const ObjectInfo& o) {
                     listed.push_back(o.key);
                     return Status{};
                   }).ok());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(listed, keys);
  for (const auto& k : keys) {
    auto v = get_small(**t, k);
    ASSERT_TRUE(v.ok()) << k << ": " << v.error().message();
    EXPECT_EQ(*v, "content of " + k);
    EXPECT_TRUE((*t)->remove(k).ok());
  }
}

TEST(S3Target, ConcurrentUseFromSeveralThreads) {
  S3_TEST_BED(bed);
  auto t = S3Target::create(test_config(bed, fresh_prefix("threads")));
  ASSERT_TRUE(t.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 10; ++j) {
        std::string key = "t" + std::to_string(i) + "/" + std::to_string(j);
        std::string content = pattern(1000 + static_cast<size_t>(i * 100 + j), static_cast<uint64_t>(i * 100 + j));
        if (!put_small(**t, key, content).ok()) ++failures;
        auto back = get_small(**t, key);
        if (!back.ok() || *back != content) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  int n = 0;
  ASSERT_TRUE((*t)->list("", [&](const ObjectInfo&) { ++n; return Status{}; }).ok());
  EXPECT_EQ(n, 60);
}

TEST(S3Target, VirtualHostedStyle) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("vhost"));
  c.endpoint = "http://localhost:" + bed.endpoint.substr(bed.endpoint.rfind(':') + 1);
  c.addressing = AddressingStyle::kVirtualHosted;  // Host: stacksnap-test.localhost:4569
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(put_small(**t, "v/obj", "virtual").ok());
  EXPECT_EQ(*get_small(**t, "v/obj"), "virtual");
  int n = 0;
  ASSERT_TRUE((*t)->list("v/", [&](const ObjectInfo&) { ++n; return Status{}; }).ok());
  EXPECT_EQ(n, 1);
}

TEST(S3Target, TlsWithCustomCaFile) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("tls"));
  c.endpoint = bed.tls_endpoint;
  c.ca_file = bed.ca_file;
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  Status st = put_small(**t, "secure", "over tls");
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(*get_small(**t, "secure"), "over tls");
  // Without the CA the system trust store rejects the test certificate: at once, no retry.
  c.ca_file.clear();
  auto untrusted = S3Target::create(c);
  ASSERT_TRUE(untrusted.ok());
  auto r = (*untrusted)->stat("secure");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition) << r.error().message();
}

TEST(S3Target, SessionToken) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("token"));
  c.access_key = "STACKSNAPTEMPKEY";
  c.secret_key = "stacksnap-temp-secret-key-9876543210";
  c.session_token = "stacksnap-session-token-xyz";
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  Status st = put_small(**t, "tok", "temporary credentials");
  ASSERT_TRUE(st.ok()) << st.error().message();
  c.session_token.clear();
  auto without = S3Target::create(c);
  ASSERT_TRUE(without.ok());
  auto r = (*without)->stat("tok");
  EXPECT_EQ(r.error().code(), Code::kPermissionDenied);
}

TEST(S3Target, MissingBucketIsNotFoundNamingIt) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("nobucket"));
  c.bucket = "no-such-bucket-here";
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  Status st = put_small(**t, "x", "y");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kNotFound);
  EXPECT_NE(st.error().message().find("no-such-bucket-here"), std::string::npos) << st.error().message();
}

}  // namespace
}  // namespace stacksnap::storage::s3::testing
