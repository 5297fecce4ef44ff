// AWS Signature Version 4 for S3 (header authentication), on OpenSSL's HMAC/SHA-256.
//
// We sign ourselves rather than through CURLOPT_AWS_SIGV4 because curl 7.88 (Debian 12)
// neither canonicalises query strings (sorting, encoding) nor lets us choose the payload
// hash of streamed bodies. Every request's body hash is signed (x-amz-content-sha256 is
// the SHA-256 of the bytes sent), parts included: S3 then rejects a part corrupted in
// transit (XAmzContentSHA256Mismatch) also over plain HTTP, at a cost of one SHA-256 pass
// (about 2 GB/s with SHA-NI) in the part workers.
//
// The test proxy (tests/fixtures/s3/proxy.js) recomputes every signature with AWS's own
// signer; tests/unit/s3_sigv4_test.cpp checks the examples of AWS's S3 documentation.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/stream.h"

namespace stacksnap::storage::s3 {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// SigV4 URI encoding: A-Z a-z 0-9 - . _ ~ stay, everything else is %XX (upper-case hex,
// UTF-8 bytes); '/' stays when encode_slash is kEncodeSlash::kNo (object key paths).
enum class EncodeSlash { kNo, kYes };
std::string uri_encode(std::string_view s, EncodeSlash slash);

// "a=1&b=&c=x%2Fy": names and values encoded, sorted by encoded name then value.
// The same string is sent and signed, so the two cannot disagree.
std::string canonical_query(const KeyValues& query);

std::string sha256_hex(Bytes data);
// "20130524T000000Z"
std::string amz_date(SystemTime t);

struct SigningCredentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
};

struct SignRequest {
  std::string_view method;           // "GET"
  std::string_view canonical_uri;    // encoded path as sent: "/bucket/my%20key"
  std::string_view canonical_query;  // from canonical_query()
  KeyValues headers;                 // every header to sign, host and x-amz-* included
  std::string_view payload_hash;     // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
  std::string_view amz_date;         // the x-amz-date header's value
};

// The pieces, exposed for tests and for debugging a SignatureDoesNotMatch.
std::string canonical_request(const SignRequest& r);
std::string string_to_sign(const SignRequest& r, std::string_view region, std::string_view service);

// The Authorization header's value:
// "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=…, Signature=…"
std::string authorization_header(const SignRequest& r, const SigningCredentials& c, std::string_view region,
                                 std::string_view service = "s3");

}  // namespace stacksnap::storage::s3
