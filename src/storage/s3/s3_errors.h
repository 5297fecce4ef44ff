// S3 answers and transport failures → StackSnap errors, in one table.
//
//  403 AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, … → PermissionDenied (never retried)
//  404 NoSuchKey → NotFound; NoSuchBucket → NotFound naming the bucket; NoSuchUpload → NotFound
//  5xx, 429, SlowDown, RequestTimeout, 409 OperationAborted → Unavailable (retried)
//  timeouts, refused / reset connections, DNS failures → Unavailable (retried)
//  BadDigest, XAmzContentSHA256Mismatch → DataLoss
//  EntityTooSmall, InvalidPart, MalformedXML, other 4xx → InvalidArgument / FailedPrecondition
//  507, QuotaExceeded, XMinioStorageFull → ResourceExhausted; 501 NotImplemented → Unimplemented
//  TLS verification failures → FailedPrecondition
// Messages read "s3 PUT backups/x: AccessDenied: Access Denied".
#pragma once

#include <string_view>

#include "base/error.h"

namespace stacksnap::storage::s3 {

// `what` names the object ("backups/x") or the bucket ("bucket b"); `body` is the error
// body (S3 XML, or anything a proxy sent; may be empty, as for HEAD).
Error map_http_error(std::string_view method, std::string_view what, long status, std::string_view body,
                     std::string_view bucket);

// `curl_code` is a CURLcode; `detail` curl's error buffer (may be empty).
Error map_curl_error(std::string_view method, std::string_view what, int curl_code, std::string_view detail);

}  // namespace stacksnap::storage::s3
