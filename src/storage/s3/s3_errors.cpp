#include "storage/s3/s3_errors.h"

#include <curl/curl.h>

#include <string>

#include "storage/s3/s3_xml.h"

namespace stacksnap::storage::s3 {
namespace {

bool one_of(std::string_view code, std::initializer_list<std::string_view> codes) {
  for (auto c : codes) {
    if (code == c) return true;
  }
  return false;
}

Code code_for(long status, std::string_view s3code) {
  if (one_of(s3code, {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken",
                      "TokenRefreshRequired", "RequestTimeTooSkewed", "AccountProblem", "AllAccessDisabled",
                      "InvalidSecurity", "InvalidObjectState"})) {
    return Code::kPermissionDenied;
  }
  if (one_of(s3code, {"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NoSuchVersion"})) return Code::kNotFound;
  if (one_of(s3code, {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "OperationAborted",
                      "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServerBusy"})) {
    return Code::kUnavailable;
  }
  if (one_of(s3code, {"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest", "IncompleteBody"})) {
    return Code::kDataLoss;
  }
  if (one_of(s3code, {"QuotaExceeded", "XMinioStorageFull", "StorageFull", "StorageCapExceeded", "TooManyBuckets"})) {
    return Code::kResourceExhausted;
  }
  if (one_of(s3code, {"NotImplemented"})) return Code::kUnimplemented;
  if (one_of(s3code, {"PermanentRedirect", "TemporaryRedirect", "AuthorizationHeaderMalformed",
                      "IllegalLocationConstraintException", "InvalidBucketState"})) {
    return Code::kFailedPrecondition;
  }
  if (one_of(s3code, {"PreconditionFailed"})) return Code::kAborted;
  if (status >= 500) return status == 501 ? Code::kUnimplemented : status == 507 ? Code::kResourceExhausted
                                                                                  : Code::kUnavailable;
  switch (status) {
    case 401:
    case 403: return Code::kPermissionDenied;
    case 404: return Code::kNotFound;
    case 408:
    case 429: return Code::kUnavailable;
    case 409: return Code::kAborted;
    case 412: return Code::kAborted;
    default: break;
  }
  if (status >= 400) return Code::kInvalidArgument;
  return Code::kFailedPrecondition;  // 3xx without a Location we follow: a wrong endpoint or region
}

std::string default_code(long status) {
  switch (status) {
    case 301: return "PermanentRedirect";
    case 400: return "BadRequest";
    case 403: return "AccessDenied";
    case 404: return "NotFound";
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    case 500: return "InternalError";
    case 501: return "NotImplemented";
    case 503: return "ServiceUnavailable";
    default: return "HTTP " + std::to_string(status);
  }
}

}  // namespace

Error map_http_error(std::string_view method, std::string_view what, long status, std::string_view body,
                     std::string_view bucket) {
  auto parsed = parse_error_body(body);
  std::string s3code = parsed ? parsed->code : default_code(status);
  std::string message = parsed ? parsed->message : std::string();
  if (!parsed && status == 404 && method == "HEAD") s3code = "NoSuchKey";  // HEAD answers carry no body
  if (s3code == "NoSuchBucket") {
    message = "bucket '" + std::string(parsed && !parsed->bucket_name.empty() ? parsed->bucket_name : bucket) +
              "' does not exist";
  } else if (s3code == "PermanentRedirect" && parsed && !parsed->endpoint.empty()) {
    message += " (the bucket is served by " + parsed->endpoint + "; set the endpoint or region)";
  } else if (s3code == "AuthorizationHeaderMalformed" && parsed && !parsed->region.empty()) {
    message += " (the bucket's region is " + parsed->region + ")";
  } else if (message.empty() && s3code == "NoSuchKey") {
    message = "no such object";
  } else if (message.empty() && !parsed && !body.empty() && body.size() < 200) {
    message = std::string(body);  // a proxy's plain-text answer
  }
  std::string text = "s3 " + std::string(method) + " " + std::string(what) + ": " + s3code;
  if (!message.empty()) text += ": " + message;
  if (!parsed && status >= 300) text += " (HTTP " + std::to_string(status) + ")";
  return Error(code_for(status, s3code), std::move(text));
}

Error map_curl_error(std::string_view method, std::string_view what, int curl_code, std::string_view detail) {
  auto c = static_cast<CURLcode>(curl_code);
  std::string text = "s3 " + std::string(method) + " " + std::string(what) + ": ";
  text += detail.empty() ? curl_easy_strerror(c) : std::string(detail);
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_READ_ERROR:
    case CURLE_AGAIN:
      return unavailable(std::move(text));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return failed_precondition(std::move(text) + " (TLS verification failed: is the CA file right?)");
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_WRITE_ERROR:
      return cancelled(std::move(text));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return invalid_argument(std::move(text));
    case CURLE_OUT_OF_MEMORY:
      return resource_exhausted(std::move(text));
    default:
      return internal_error(std::move(text) + " (curl error " + std::to_string(curl_code) + ")");
  }
}

}  // namespace stacksnap::storage::s3
