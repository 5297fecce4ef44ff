// Pure logic of the S3 target: part sizes, XML, error mapping, backoff, URLs, credentials.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "base/fd.h"
#include "base/temp_dir.h"
#include "storage/s3/credentials.h"
#include "storage/s3/part_size.h"
#include "storage/s3/retry.h"
#include "storage/s3/s3_errors.h"
#include "storage/s3/s3_target.h"
#include "storage/s3/s3_url.h"
#include "storage/s3/s3_xml.h"

namespace stacksnap::storage::s3 {
namespace {

constexpr uint64_t kTB = 1'000'000'000'000ULL;
constexpr uint64_t kTiB = uint64_t{1} << 40;

// ---- part sizes ----------------------------------------------------------------------------

TEST(S3PartSize, SmallHintsKeepTheConfiguredSize) {
  EXPECT_EQ(part_size_for(kDefaultPartSize, 0, 1), 16 * kMiB);
  EXPECT_EQ(part_size_for(kDefaultPartSize, 100 * kMiB, 1), 16 * kMiB);
  EXPECT_EQ(part_size_for(kDefaultPartSize, 100 * kGiB, 9000), 16 * kMiB);  // 100 GiB / 9000 < 16 MiB
  EXPECT_EQ(part_size_for(1, 0, 1), kMinPartSize);                          // clamped to S3's minimum
  EXPECT_EQ(part_size_for(7 * kMiB + 1, 0, 1), 8 * kMiB);                    // rounded up to 1 MiB
}

TEST(S3PartSize, KnownSizesFitInHintedParts) {
  for (uint64_t size : {kTB, kTiB, 5 * kTB, 5 * kTiB}) {
    uint64_t part = part_size_for(kDefaultPartSize, size, 1);
    EXPECT_EQ(part % kMiB, 0u);
    EXPECT_LE(part, kMaxPartSize);
    uint64_t parts = (size + part - 1) / part;
    EXPECT_LE(parts, kHintedParts) << size;
    EXPECT_GE(capacity_of(kDefaultPartSize, size, kHintedParts), size);
  }
  EXPECT_EQ(part_size_for(kDefaultPartSize, kTB, 1), 106 * kMiB);  // ceil(1e12 / 9000) = 105.96 MiB
}

TEST(S3PartSize, UnknownSizeGrowsSoThatFiveTiBFit) {
  EXPECT_EQ(part_size_for(kDefaultPartSize, 0, 1000), 16 * kMiB);
  EXPECT_EQ(part_size_for(kDefaultPartSize, 0, 1001), 32 * kMiB);
  EXPECT_EQ(part_size_for(kDefaultPartSize, 0, 2001), 64 * kMiB);
  EXPECT_GE(capacity_of(kDefaultPartSize, 0, 6000), kTB);
  EXPECT_GE(capacity_of(kDefaultPartSize, 0, kMaxParts), 5 * kTiB);
  for (uint32_t n = 1; n <= kMaxParts; n += 97) EXPECT_LE(part_size_for(kDefaultPartSize, 0, n), kMaxPartSize);
  // Also from S3's minimum part size.
  EXPECT_GE(capacity_of(kMinPartSize, 0, kMaxParts), 1 * kTiB);
}

TEST(S3PartSize, AnUnderestimatedHintStillFitsMore) {
  uint64_t hint = 100 * kGiB;
  EXPECT_EQ(part_size_for(kDefaultPartSize, hint, kHintedParts + 1), 32 * kMiB);
  EXPECT_GT(capacity_of(kDefaultPartSize, hint, kMaxParts), 2 * hint);
}

// ---- XML -------------------------------------------------------------------------------------

TEST(S3Xml, ListObjectsV2) {
  auto page = parse_list_objects_v2(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>p/a b&amp;c</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/日本.tar</Key><LastModified>2026-11-25T20:17:30Z</LastModified><Size>0</Size></Contents>
</ListBucketResult>)");
  ASSERT_TRUE(page.ok()) << page.error().message();
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a b&c");
  EXPECT_EQ(page->objects[0].size, 434234u);
  EXPECT_EQ(page->objects[0].modified, SystemTime(std::chrono::seconds(1255369830)));
  EXPECT_EQ(page->objects[1].key, "p/日本.tar");
  EXPECT_EQ(page->objects[1].size, 0u);
}

TEST(S3Xml, ListObjectsV2Malformed) {
  EXPECT_EQ(parse_list_objects_v2("<ListBucketResult><Contents>").error().code(), Code::kUnavailable);
  EXPECT_EQ(parse_list_objects_v2("<html>proxy error</html>").error().code(), Code::kUnavailable);
  EXPECT_FALSE(parse_list_objects_v2("<ListBucketResult><Contents><Key>k</Key><Size>x</Size>"
                                     "<LastModified>2009-10-12T17:50:30.000Z</LastModified></Contents>"
                                     "</ListBucketResult>").ok());
  EXPECT_FALSE(parse_list_objects_v2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
  auto empty = parse_list_objects_v2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
}

TEST(S3Xml, ListMultipartUploads) {
  auto page = parse_list_multipart_uploads(R"(<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>p/my-movie.m2ts</NextKeyMarker><NextUploadIdMarker>YW55IGlkZWEgd2h5</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>p/my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator><ID>x</ID></Initiator><StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
  <Upload><Key>p/my-movie.m2ts</Key><UploadId>YW55IGlkZWEgd2h5</UploadId><Initiated>2010-11-10T20:49:33.000Z</Initiated></Upload>
</ListMultipartUploadsResult>)");
  ASSERT_TRUE(page.ok()) << page.error().message();
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_key_marker, "p/my-movie.m2ts");
  EXPECT_EQ(page->next_upload_id_marker, "YW55IGlkZWEgd2h5");
  ASSERT_EQ(page->uploads.size(), 2u);
  EXPECT_EQ(page->uploads[0].upload_id, "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw");
  EXPECT_EQ(page->uploads[1].initiated, SystemTime(std::chrono::seconds(1289422173)));
}

TEST(S3Xml, ErrorBodies) {
  auto e = parse_error_body(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>
<BucketName>nope</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchBucket");
  EXPECT_EQ(e->message, "The specified bucket does not exist");
  EXPECT_EQ(e->bucket_name, "nope");
  EXPECT_FALSE(parse_error_body("").has_value());
  EXPECT_FALSE(parse_error_body("<html><body>502 Bad Gateway</body></html>").has_value());
  EXPECT_FALSE(parse_error_body("<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>"));
  EXPECT_FALSE(parse_error_body("<Error><Code>Inter").has_value());
}

TEST(S3Xml, InitiateAndComplete) {
  auto id = parse_initiate_multipart(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "VXBsb2FkIElE");
  EXPECT_FALSE(parse_initiate_multipart("<InitiateMultipartUploadResult/>").ok());
  EXPECT_EQ(build_complete_multipart({"\"a1\"", "\"b2\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;b2&quot;</ETag></Part></CompleteMultipartUpload>");
}

TEST(S3Xml, Dates) {
  EXPECT_EQ(*parse_iso8601("1970-01-01T00:00:01Z"), SystemTime(std::chrono::seconds(1)));
  EXPECT_EQ(*parse_iso8601("2009-10-12T17:50:30.250Z"),
            SystemTime(std::chrono::seconds(1255369830)) + std::chrono::milliseconds(250));
  EXPECT_FALSE(parse_iso8601("2009-10-12 17:50").ok());
  EXPECT_FALSE(parse_iso8601("2009-10-12T17:50:30+02:00").ok());
  EXPECT_EQ(*parse_http_date("Wed, 12 Oct 2009 17:50:00 GMT"), SystemTime(std::chrono::seconds(1255369800)));
  EXPECT_FALSE(parse_http_date("yesterday-ish").ok());
}

// ---- error mapping ----------------------------------------------------------------------------

std::string err_xml(std::string_view code, std::string_view message) {
  return "<Error><Code>" + std::string(code) + "</Code><Message>" + std::string(message) + "</Message></Error>";
}

TEST(S3Errors, AuthFailuresArePermissionDeniedWithS3sWords) {
  Error e = map_http_error("PUT", "backups/x", 403, err_xml("AccessDenied", "Access Denied"), "b");
  EXPECT_EQ(e.code(), Code::kPermissionDenied);
  EXPECT_EQ(e.message(), "s3 PUT backups/x: AccessDenied: Access Denied");
  for (auto code : {"SignatureDoesNotMatch", "InvalidAccessKeyId", "RequestTimeTooSkewed", "ExpiredToken"}) {
    Error x = map_http_error("GET", "k", 403, err_xml(code, "m"), "b");
    EXPECT_EQ(x.code(), Code::kPermissionDenied) << code;
    EXPECT_FALSE(is_retryable(x));
  }
  EXPECT_EQ(map_http_error("HEAD", "k", 403, "", "b").code(), Code::kPermissionDenied);
}

TEST(S3Errors, NotFoundKinds) {
  Error k = map_http_error("GET", "k", 404, err_xml("NoSuchKey", "The specified key does not exist."), "b");
  EXPECT_EQ(k.code(), Code::kNotFound);
  Error b = map_http_error("GET", "k", 404, err_xml("NoSuchBucket", "The specified bucket does not exist"), "mybucket");
  EXPECT_EQ(b.code(), Code::kNotFound);
  EXPECT_NE(b.message().find("bucket 'mybucket' does not exist"), std::string::npos) << b.message();
  Error h = map_http_error("HEAD", "k", 404, "", "b");
  EXPECT_EQ(h.code(), Code::kNotFound);
  EXPECT_EQ(h.message(), "s3 HEAD k: NoSuchKey: no such object (HTTP 404)");
}

TEST(S3Errors, TransientAndPermanent) {
  EXPECT_EQ(map_http_error("PUT", "k", 500, err_xml("InternalError", "x"), "b").code(), Code::kUnavailable);
  EXPECT_EQ(map_http_error("PUT", "k", 503, err_xml("SlowDown", "x"), "b").code(), Code::kUnavailable);
  EXPECT_EQ(map_http_error("PUT", "k", 502, "<html>Bad Gateway</html>", "b").code(), Code::kUnavailable);
  EXPECT_EQ(map_http_error("PUT", "k", 400, err_xml("RequestTimeout", "x"), "b").code(), Code::kUnavailable);
  EXPECT_EQ(map_http_error("PUT", "k", 429, "", "b").code(), Code::kUnavailable);
  EXPECT_EQ(map_http_error("POST", "k", 400, err_xml("EntityTooSmall", "x"), "b").code(), Code::kInvalidArgument);
  EXPECT_EQ(map_http_error("POST", "k", 400, err_xml("InvalidPart", "x"), "b").code(), Code::kInvalidArgument);
  EXPECT_EQ(map_http_error("PUT", "k", 400, err_xml("XAmzContentSHA256Mismatch", "x"), "b").code(), Code::kDataLoss);
  EXPECT_EQ(map_http_error("PUT", "k", 400, err_xml("BadDigest", "x"), "b").code(), Code::kDataLoss);
  EXPECT_EQ(map_http_error("PUT", "k", 507, err_xml("XMinioStorageFull", "x"), "b").code(), Code::kResourceExhausted);
  EXPECT_EQ(map_http_error("GET", "bucket b", 501, err_xml("NotImplemented", "x"), "b").code(), Code::kUnimplemented);
  Error redirect = map_http_error("GET", "k", 301,
                                  "<Error><Code>PermanentRedirect</Code><Message>Use the endpoint.</Message>"
                                  "<Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint></Error>", "b");
  EXPECT_EQ(redirect.code(), Code::kFailedPrecondition);
  EXPECT_NE(redirect.message().find("b.s3.eu-west-1.amazonaws.com"), std::string::npos);
}

TEST(S3Errors, Transport) {
  EXPECT_EQ(map_curl_error("PUT", "k", CURLE_COULDNT_CONNECT, "Connection refused").code(), Code::kUnavailable);
  EXPECT_EQ(map_curl_error("PUT", "k", CURLE_OPERATION_TIMEDOUT, "").code(), Code::kUnavailable);
  EXPECT_EQ(map_curl_error("PUT", "k", CURLE_RECV_ERROR, "Connection reset by peer").code(), Code::kUnavailable);
  EXPECT_EQ(map_curl_error("PUT", "k", CURLE_SEND_ERROR, "").code(), Code::kUnavailable);
  EXPECT_EQ(map_curl_error("GET", "k", CURLE_PARTIAL_FILE, "").code(), Code::kUnavailable);
  EXPECT_EQ(map_curl_error("GET", "k", CURLE_GOT_NOTHING, "").code(), Code::kUnavailable);
  EXPECT_EQ(map_curl_error("GET", "k", CURLE_PEER_FAILED_VERIFICATION, "").code(), Code::kFailedPrecondition);
  EXPECT_EQ(map_curl_error("GET", "k", CURLE_ABORTED_BY_CALLBACK, "").code(), Code::kCancelled);
  EXPECT_EQ(map_curl_error("PUT", "backups/x", CURLE_COULDNT_CONNECT, "Connection refused").message(),
            "s3 PUT backups/x: Connection refused");
}

// ---- retries ------------------------------------------------------------------------------------

TEST(S3Retry, BackoffCapsDoubleUpToTheMaximum) {
  RetryPolicy p{.max_attempts = 10, .base_delay = std::chrono::milliseconds(100),
                .max_delay = std::chrono::milliseconds(1000)};
  std::vector<int64_t> caps;
  for (int f = 1; f <= 6; ++f) caps.push_back(backoff_cap(p, f).count());
  EXPECT_EQ(caps, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
  EXPECT_EQ(backoff_delay(p, 3, 0).count(), 0);
  EXPECT_EQ(backoff_delay(p, 3, 400).count(), 400);  // full jitter: [0, cap]
  EXPECT_EQ(backoff_delay(p, 3, 401).count(), 0);
  for (uint64_t r = 0; r < 5000; r += 7) EXPECT_LE(backoff_delay(p, 40, r).count(), 1000);
}

TEST(S3Retry, RetriesOnlyUnavailableWithInjectedSleep) {
  std::vector<int64_t> slept;
  RetryPolicy p{.max_attempts = 4, .base_delay = std::chrono::milliseconds(100),
                .max_delay = std::chrono::milliseconds(250)};
  Retrier r(p, [&](std::chrono::milliseconds d) { slept.push_back(d.count()); },
            [] { return uint64_t{1'000'000'000}; });  // the cap itself (1e9 % (cap+1) == cap for these)
  int calls = 0;
  Result<int> out = r.run([&](int) -> Result<int> {
    ++calls;
    return unavailable("s3 PUT k: InternalError");
  });
  EXPECT_EQ(calls, 4);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), Code::kUnavailable);
  EXPECT_EQ(out.error().message(), "gave up after 4 attempts: s3 PUT k: InternalError");
  ASSERT_EQ(slept.size(), 3u);
  for (size_t i = 0; i < slept.size(); ++i) EXPECT_LE(slept[i], backoff_cap(p, static_cast<int>(i) + 1).count());

  slept.clear();
  calls = 0;
  Status denied = r.run([&](int) -> Status {
    ++calls;
    return permission_denied("s3 PUT k: AccessDenied");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(slept.empty());
  EXPECT_EQ(denied.error().code(), Code::kPermissionDenied);

  calls = 0;
  Result<int> later = r.run([&](int attempt) -> Result<int> {
    ++calls;
    if (attempt < 3) return unavailable("reset");
    return 42;
  });
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, 42);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(slept.size(), 2u);
}

TEST(S3Retry, CancelStopsTheWait) {
  std::atomic<bool> cancel{true};
  Retrier r(RetryPolicy{.max_attempts = 5, .base_delay = std::chrono::milliseconds(60'000)}, {},
            [] { return uint64_t{59'000}; }, &cancel);
  auto start = std::chrono::steady_clock::now();
  Status st = r.run([&](int) -> Status { return unavailable("down"); });
  EXPECT_EQ(st.error().code(), Code::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// ---- endpoints and URLs ---------------------------------------------------------------------

TEST(S3Url, ParseEndpoint) {
  auto ep = parse_endpoint("http://127.0.0.1:4569", "us-east-1");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->scheme, "http");
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 4569);
  EXPECT_FALSE(ep->aws);
  EXPECT_EQ(ep->to_string(), "http://127.0.0.1:4569");
  auto aws = parse_endpoint("", "eu-central-1");
  ASSERT_TRUE(aws.ok());
  EXPECT_EQ(aws->to_string(), "https://s3.eu-central-1.amazonaws.com");
  EXPECT_TRUE(aws->aws);
  EXPECT_EQ(parse_endpoint("HTTPS://Minio.Example.org:443/", "x")->to_string(), "https://minio.example.org");
  EXPECT_EQ(parse_endpoint("http://[::1]:9000", "x")->host, "[::1]");
  for (auto bad : {"ftp://x", "127.0.0.1:9000", "http://", "http://h:0", "http://h:99999", "http://h/path",
                   "http://user:pw@h", "http://h:12ab"}) {
    EXPECT_EQ(parse_endpoint(bad, "x").error().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(S3Url, PathStyleAndVirtualHosted) {
  Endpoint local = *parse_endpoint("http://127.0.0.1:4569", "us-east-1");
  EXPECT_EQ(resolve_addressing(AddressingStyle::kAuto, local, "b"), AddressingStyle::kPath);
  auto t = build_target(local, AddressingStyle::kPath, "bucket", "dir/a b+c=d.tar", {});
  EXPECT_EQ(t.url, "http://127.0.0.1:4569/bucket/dir/a%20b%2Bc%3Dd.tar");
  EXPECT_EQ(t.host_header, "127.0.0.1:4569");
  EXPECT_EQ(t.canonical_uri, "/bucket/dir/a%20b%2Bc%3Dd.tar");
  auto list = build_target(local, AddressingStyle::kPath, "bucket", "", {{"prefix", "p/"}, {"list-type", "2"}});
  EXPECT_EQ(list.url, "http://127.0.0.1:4569/bucket?list-type=2&prefix=p%2F");
  EXPECT_EQ(list.canonical_uri, "/bucket");

  Endpoint aws = *parse_endpoint("", "eu-west-1");
  EXPECT_EQ(resolve_addressing(AddressingStyle::kAuto, aws, "bucket"), AddressingStyle::kVirtualHosted);
  EXPECT_EQ(resolve_addressing(AddressingStyle::kAuto, aws, "my.bucket"), AddressingStyle::kPath);
  auto v = build_target(aws, AddressingStyle::kVirtualHosted, "bucket", "日本/ü", {{"uploads", ""}});
  EXPECT_EQ(v.url, "https://bucket.s3.eu-west-1.amazonaws.com/%E6%97%A5%E6%9C%AC/%C3%BC?uploads=");
  EXPECT_EQ(v.host_header, "bucket.s3.eu-west-1.amazonaws.com");
  auto vb = build_target(aws, AddressingStyle::kVirtualHosted, "bucket", "", {});
  EXPECT_EQ(vb.canonical_uri, "/");
}

TEST(S3Url, BucketNames) {
  EXPECT_TRUE(validate_bucket_name("stacksnap-test").ok());
  EXPECT_TRUE(validate_bucket_name("my.bucket.01").ok());
  for (auto bad : {"ab", "UPPER", "-dash", "dash-", "has space", "a/b"}) {
    EXPECT_FALSE(validate_bucket_name(bad).ok()) << bad;
  }
}

TEST(S3Target, CreateValidatesAndDescribesWithoutSecrets) {
  S3Config c{.endpoint = "http://127.0.0.1:4569", .bucket = "bucket", .prefix = "/team/host1",
             .access_key = "AKID", .secret_key = "very-secret-value"};
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ((*t)->describe(), "s3 http://127.0.0.1:4569/bucket/team/host1");
  EXPECT_EQ((*t)->client().full_key("a/b"), "team/host1/a/b");
  EXPECT_EQ((*t)->describe().find("very-secret"), std::string::npos);

  auto no_key = c;
  no_key.secret_key.clear();
  auto e = S3Target::create(no_key);
  EXPECT_EQ(e.error().code(), Code::kUnauthenticated);
  auto small = c;
  small.part_size = kMiB;
  EXPECT_EQ(S3Target::create(small).error().code(), Code::kInvalidArgument);
  auto zero = c;
  zero.parallel_parts = 0;
  EXPECT_EQ(S3Target::create(zero).error().code(), Code::kInvalidArgument);
  auto bad_bucket = c;
  bad_bucket.bucket = "Bad_Bucket";
  EXPECT_EQ(S3Target::create(bad_bucket).error().code(), Code::kInvalidArgument);
  // A single PUT takes at most 5 GiB; 0 means always multipart.
  EXPECT_EQ(c.multipart_threshold, kDefaultMultipartThreshold);
  auto huge = c;
  huge.multipart_threshold = kMaxSinglePut + 1;
  auto he = S3Target::create(huge);
  ASSERT_FALSE(he.ok());
  EXPECT_EQ(he.error().code(), Code::kInvalidArgument);
  EXPECT_NE(he.error().message().find("multipart threshold"), std::string::npos) << he.error().message();
  for (uint64_t ok : {uint64_t{0}, kMaxSinglePut}) {
    auto fine = c;
    fine.multipart_threshold = ok;
    EXPECT_TRUE(S3Target::create(fine).ok()) << ok;
  }
}

// ---- credentials ---------------------------------------------------------------------------------

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(S3Credentials, FlagsBeatFilesBeatEnvironment) {
  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  std::string secret_file = dir->path() + "/secret";
  ASSERT_TRUE(store_secret_file(secret_file, "file-secret\n").ok());
  struct stat st{};
  ASSERT_EQ(::stat(secret_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto env = env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                     {"AWS_SESSION_TOKEN", "env-token"}, {"AWS_DEFAULT_REGION", "eu-west-1"}});
  auto from_env = resolve_credentials({}, env);
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->access_key, "ENVKEY");
  EXPECT_EQ(from_env->secret_key, "env-secret");
  EXPECT_EQ(from_env->session_token, "env-token");
  EXPECT_EQ(from_env->region, "eu-west-1");
  EXPECT_EQ(from_env->describe().find("env-secret"), std::string::npos);

  auto from_file = resolve_credentials({.secret_key_file = secret_file}, env);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file->secret_key, "file-secret");
  EXPECT_EQ(from_file->secret_key_source, "file " + secret_file);

  auto from_flags = resolve_credentials({.access_key = "FLAGKEY", .secret_key = "flag-secret",
                                         .secret_key_file = secret_file, .region = "ap-south-1"},
                                        env_of({{"AWS_REGION", "us-west-2"}, {"AWS_DEFAULT_REGION", "eu-west-1"}}));
  ASSERT_TRUE(from_flags.ok());
  EXPECT_EQ(from_flags->access_key, "FLAGKEY");
  EXPECT_EQ(from_flags->secret_key, "flag-secret");
  EXPECT_EQ(from_flags->region, "ap-south-1");
  EXPECT_EQ(resolve_credentials({.access_key = "K", .secret_key = "S"},
                                env_of({{"AWS_REGION", "us-west-2"}, {"AWS_DEFAULT_REGION", "eu-west-1"}}))->region,
            "us-west-2");
  EXPECT_EQ(resolve_credentials({.access_key = "K", .secret_key = "S"}, env_of({}))->region, "us-east-1");
}

TEST(S3Credentials, MissingAndUnsafe) {
  auto none = resolve_credentials({}, env_of({}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Code::kUnauthenticated);
  EXPECT_NE(none.error().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_EQ(resolve_credentials({.access_key = "K"}, env_of({})).error().code(), Code::kUnauthenticated);

  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  std::string open_file = dir->path() + "/open";
  ASSERT_TRUE(write_file_atomic(open_file, "s3cr3t", 0644).ok());
  auto r = resolve_credentials({.access_key = "K", .secret_key_file = open_file}, env_of({}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(r.error().message().find("s3cr3t"), std::string::npos);
  EXPECT_EQ(resolve_credentials({.access_key = "K", .secret_key_file = dir->path() + "/missing"}, env_of({}))
                .error().code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace stacksnap::storage::s3
