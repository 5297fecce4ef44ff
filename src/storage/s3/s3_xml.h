// S3's XML bodies: what we parse (list results, errors, upload ids) and what we send
// (CompleteMultipartUpload). Malformed bodies are Unavailable (a proxy or a truncated
// answer; retrying may help), never a crash.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace stacksnap::storage::s3 {

struct ListedObject {
  std::string key;  // full key, prefix included
  uint64_t size = 0;
  SystemTime modified{};
};

struct ListObjectsPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;
};
Result<ListObjectsPage> parse_list_objects_v2(std::string_view xml);

struct MultipartUploadInfo {
  std::string key;
  std::string upload_id;
  SystemTime initiated{};
};

struct ListUploadsPage {
  std::vector<MultipartUploadInfo> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<ListUploadsPage> parse_list_multipart_uploads(std::string_view xml);

// <InitiateMultipartUploadResult><UploadId>…
Result<std::string> parse_initiate_multipart(std::string_view xml);

// <Error><Code>…</Code><Message>…</Message>…</Error>; nullopt when the body is not one
// (empty, HTML from a proxy, a result document).
struct S3ErrorBody {
  std::string code;
  std::string message;
  std::string bucket_name;  // NoSuchBucket
  std::string endpoint;     // PermanentRedirect
  std::string region;       // AuthorizationHeaderMalformed
};
std::optional<S3ErrorBody> parse_error_body(std::string_view xml);

// The body of CompleteMultipartUpload for parts 1..etags.size().
std::string build_complete_multipart(const std::vector<std::string>& etags);

// "2009-10-12T17:50:30.000Z" → time; InvalidArgument when malformed.
Result<SystemTime> parse_iso8601(std::string_view s);
// "Wed, 12 Oct 2009 17:50:00 GMT" → time; InvalidArgument when malformed.
Result<SystemTime> parse_http_date(const std::string& s);

}  // namespace stacksnap::storage::s3
