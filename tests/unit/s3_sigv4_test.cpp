// SigV4 against the examples of AWS's S3 documentation ("Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk"), and URI encoding.
#include <gtest/gtest.h>

#include "storage/s3/sigv4.h"

namespace stacksnap::storage::s3 {
namespace {

const SigningCredentials kAwsExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr std::string_view kHost = "examplebucket.s3.amazonaws.com";
constexpr std::string_view kDate = "20130524T000000Z";

std::string signature_of(const std::string& auth) { return auth.substr(auth.find("Signature=") + 10); }

TEST(SigV4, AwsExampleGetObjectWithRange) {
  SignRequest r{.method = "GET", .canonical_uri = "/test.txt", .canonical_query = "",
                .headers = {{"Host", std::string(kHost)}, {"Range", "bytes=0-9"},
                            {"x-amz-content-sha256", std::string(kEmptySha256)}, {"x-amz-date", std::string(kDate)}},
                .payload_hash = kEmptySha256, .amz_date = kDate};
  EXPECT_EQ(canonical_request(r),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(string_to_sign(r, "us-east-1", "s3"),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  std::string auth = authorization_header(r, kAwsExample, "us-east-1");
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, AwsExamplePutObject) {
  std::string body = "Welcome to Amazon S3.";
  std::string hash = sha256_hex(as_bytes(body));
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  std::string uri = "/" + uri_encode("test$file.text", EncodeSlash::kNo);
  EXPECT_EQ(uri, "/test%24file.text");
  SignRequest r{.method = "PUT", .canonical_uri = uri, .canonical_query = "",
                .headers = {{"Host", std::string(kHost)}, {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                            {"x-amz-date", std::string(kDate)}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                            {"x-amz-content-sha256", hash}},
                .payload_hash = hash, .amz_date = kDate};
  EXPECT_EQ(signature_of(authorization_header(r, kAwsExample, "us-east-1")),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, AwsExampleGetBucketLifecycle) {
  std::string q = canonical_query({{"lifecycle", ""}});
  EXPECT_EQ(q, "lifecycle=");
  SignRequest r{.method = "GET", .canonical_uri = "/", .canonical_query = q,
                .headers = {{"host", std::string(kHost)}, {"x-amz-content-sha256", std::string(kEmptySha256)},
                            {"x-amz-date", std::string(kDate)}},
                .payload_hash = kEmptySha256, .amz_date = kDate};
  EXPECT_EQ(signature_of(authorization_header(r, kAwsExample, "us-east-1")),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, AwsExampleListObjects) {
  std::string q = canonical_query({{"prefix", "J"}, {"max-keys", "2"}});  // sorted when canonicalised
  EXPECT_EQ(q, "max-keys=2&prefix=J");
  SignRequest r{.method = "GET", .canonical_uri = "/", .canonical_query = q,
                .headers = {{"host", std::string(kHost)}, {"x-amz-content-sha256", std::string(kEmptySha256)},
                            {"x-amz-date", std::string(kDate)}},
                .payload_hash = kEmptySha256, .amz_date = kDate};
  EXPECT_EQ(signature_of(authorization_header(r, kAwsExample, "us-east-1")),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, HeaderValuesAreTrimmedAndCollapsed) {
  SignRequest r{.method = "GET", .canonical_uri = "/", .canonical_query = "",
                .headers = {{"X-Amz-Meta-Note", "  a   b  "}}, .payload_hash = kEmptySha256, .amz_date = kDate};
  EXPECT_NE(canonical_request(r).find("\nx-amz-meta-note:a b\n"), std::string::npos);
}

TEST(SigV4, UriEncoding) {
  EXPECT_EQ(uri_encode("a b+c=d", EncodeSlash::kNo), "a%20b%2Bc%3Dd");
  EXPECT_EQ(uri_encode("dir/sub/file.tar", EncodeSlash::kNo), "dir/sub/file.tar");
  EXPECT_EQ(uri_encode("dir/sub", EncodeSlash::kYes), "dir%2Fsub");
  EXPECT_EQ(uri_encode("AZaz09-._~", EncodeSlash::kYes), "AZaz09-._~");
  EXPECT_EQ(uri_encode("é", EncodeSlash::kYes), "%C3%A9");             // UTF-8 bytes, upper-case hex
  EXPECT_EQ(uri_encode("日本", EncodeSlash::kNo), "%E6%97%A5%E6%9C%AC");
  EXPECT_EQ(uri_encode("!*'()$&,;:@?#[]%", EncodeSlash::kNo), "%21%2A%27%28%29%24%26%2C%3B%3A%40%3F%23%5B%5D%25");
}

TEST(SigV4, CanonicalQuerySortsByEncodedName) {
  EXPECT_EQ(canonical_query({{"uploadId", "x/y"}, {"partNumber", "12"}}), "partNumber=12&uploadId=x%2Fy");
  EXPECT_EQ(canonical_query({{"prefix", "a b+c"}, {"list-type", "2"}, {"continuation-token", "1/2=="}}),
            "continuation-token=1%2F2%3D%3D&list-type=2&prefix=a%20b%2Bc");
  EXPECT_EQ(canonical_query({}), "");
}

TEST(SigV4, AmzDate) {
  EXPECT_EQ(amz_date(SystemTime(std::chrono::seconds(1369353600))), "20130524T000000Z");
}

}  // namespace
}  // namespace stacksnap::storage::s3
