// The S3 REST operations StackSnap uses, signed (SigV4) and retried, over libcurl.
//
// Thread-safety: an S3Client is shared by a target, its uploads and readers; every method
// may be called from several threads at once (curl easy handles come from a locked pool
// and are used by one thread at a time, keeping their connections alive between requests).
// Keys here are full keys, the target's prefix included.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/stream.h"
#include "storage/s3/curl_handle.h"
#include "storage/s3/retry.h"
#include "storage/s3/s3_config.h"
#include "storage/s3/s3_url.h"
#include "storage/s3/s3_xml.h"
#include "storage/s3/sigv4.h"

namespace stacksnap::storage::s3 {

// Largest response body kept in memory (list pages, error bodies, upload ids).
inline constexpr size_t kMaxSmallBody = 8 << 20;
// curl's per-handle transfer buffers. A file body is read into the upload buffer with one
// pread() per fill; 2 MiB (curl's maximum) keeps those calls and the send loop's
// iterations few.
inline constexpr long kUploadBufferSize = 512 * 1024;
inline constexpr long kFileUploadBufferSize = 2 * 1024 * 1024;
inline constexpr long kDownloadBufferSize = 256 * 1024;

struct S3Request {
  std::string method;  // GET PUT POST HEAD DELETE
  std::string key;     // full key; empty for bucket operations
  KeyValues query;
  KeyValues headers;   // further headers, sent and signed (range, content-type, if-match)
  Bytes body;          // request body, sent with a Content-Length
  // Or the body is the first body_size bytes of the file open as body_fd, read with
  // pread() from offset 0 on every attempt (payload_hash is then required).
  int body_fd = -1;
  uint64_t body_size = 0;
  std::string payload_hash;  // hex SHA-256 of body; empty: computed when signing
  bool data_transfer = false;  // a body or response of unbounded size: stall timeout, no total timeout
  // Called during the transfer with the body bytes sent so far by this attempt; returning
  // false stops it (Cancelled).
  std::function<bool(uint64_t)> on_upload_progress;
};

struct S3Response {
  long status = 0;
  KeyValues headers;  // names in lower case
  std::string body;   // at most kMaxSmallBody bytes
  std::string header(std::string_view name) const;
};

struct HeadResult {
  uint64_t size = 0;
  SystemTime modified{};
  std::string etag;
};

class S3Client {
 public:
  // Validates the configuration (endpoint, bucket, part settings, credentials present).
  static Result<std::shared_ptr<S3Client>> create(S3Config config);

  const S3Config& config() const { return config_; }
  const Endpoint& endpoint() const { return endpoint_; }
  // prefix + key
  std::string full_key(const std::string& key) const { return prefix_ + key; }
  const std::string& prefix() const { return prefix_; }
  // "s3 http://127.0.0.1:4569/bucket/prefix" (no secrets)
  std::string describe() const;
  Retrier retrier(const std::atomic<bool>* cancel = nullptr) const {
    return Retrier(config_.retry, config_.sleep, config_.random, cancel);
  }

  // One attempt; HTTP errors come back as responses (status ≥ 300), transport errors as errors.
  Result<S3Response> call_once(const S3Request& req, const std::atomic<bool>* cancel = nullptr);
  // With retries; a status ≥ 300 becomes the mapped error.
  Result<S3Response> call(const S3Request& req, const std::atomic<bool>* cancel = nullptr);

  // Returns the ETag.
  Result<std::string> put_object(const std::string& key, Bytes body, const std::string& sha256_hex,
                                 const std::atomic<bool>* cancel = nullptr);
  // One PutObject whose body is streamed from a file: `size` bytes of `fd` from offset 0,
  // re-read on every retry; `sha256_hex` is the SHA-256 of those bytes (signed, so the
  // server refuses a body that differs: DataLoss). `progress` as in S3Request.
  Result<std::string> put_object_from_file(const std::string& key, int fd, uint64_t size,
                                           const std::string& sha256_hex,
                                           std::function<bool(uint64_t)> progress = {},
                                           const std::atomic<bool>* cancel = nullptr);
  Result<std::string> create_multipart(const std::string& key);
  Result<std::string> upload_part(const std::string& key, const std::string& upload_id, uint32_t part, Bytes body,
                                  const std::string& sha256_hex, const std::atomic<bool>* cancel);
  Status complete_multipart(const std::string& key, const std::string& upload_id,
                            const std::vector<std::string>& etags);
  Status abort_multipart(const std::string& key, const std::string& upload_id);
  Result<HeadResult> head_object(const std::string& key);
  Status delete_object(const std::string& key);
  Result<ListObjectsPage> list_objects(const std::string& prefix, const std::string& continuation_token);
  Result<ListUploadsPage> list_uploads(const std::string& prefix, const std::string& key_marker,
                                       const std::string& upload_id_marker);

  // For streaming readers: a handle from the pool, set up for `req` (URL, signed headers,
  // timeouts, TLS). `headers` must outlive the transfer.
  Result<CurlHandle> acquire_handle();
  void release_handle(CurlHandle h);
  Status prepare(CURL* h, const S3Request& req, CurlSlist& headers) const;
  std::string what(const S3Request& req) const;  // "backups/x" or "bucket b"

 private:
  S3Client(S3Config config, Endpoint ep, AddressingStyle style, std::string prefix)
      : config_(std::move(config)), endpoint_(std::move(ep)), style_(style), prefix_(std::move(prefix)) {}

  S3Config config_;
  Endpoint endpoint_;
  AddressingStyle style_;
  std::string prefix_;
  std::mutex pool_mu_;
  std::vector<CurlHandle> pool_;
};

}  // namespace stacksnap::storage::s3
