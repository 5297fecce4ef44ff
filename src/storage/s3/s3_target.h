// An S3-compatible bucket (optionally under a key prefix) as a storage target.
//
//  put     PutObject below one part, else a streamed multipart upload (s3_upload.h);
//          nothing is visible before commit(); destruction before commit aborts.
//  put_file  files up to multipart_threshold: one PutObject streamed from the file (no part
//          buffers; the whole file's SHA-256 signed, so the server checks it end to end;
//          a retry re-reads the file); larger files: put()'s multipart upload.
//  get     GET with Range, streamed with flat memory and resumed after breaks (s3_reader.h)
//  stat    HEAD; list: ListObjectsV2 across pages (keys relative to the prefix);
//  remove  DeleteObject; cleanup_stale: ListMultipartUploads + AbortMultipartUpload of the
//          uploads under our prefix older than the limit (0 when the server cannot list).
// Errors and retries: s3_errors.h, retry.h. Thread-safe (see target.h).
#pragma once

#include <memory>
#include <string>

#include "storage/s3/s3_client.h"
#include "storage/s3/s3_config.h"
#include "storage/target.h"

namespace stacksnap::storage::s3 {

class S3Target final : public Target {
 public:
  // Validates the configuration; makes no request (the first operation reports an
  // unreachable server or a wrong key). InvalidArgument for a bad endpoint, bucket or part
  // settings; Unauthenticated without credentials.
  static Result<std::unique_ptr<S3Target>> create(S3Config config);

  std::string describe() const override { return client_->describe(); }
  Result<std::unique_ptr<Upload>> put(const std::string& key, uint64_t size_hint) override;
  Status put_file(const std::string& key, int fd, uint64_t size, const PutFileOptions& opts = {}) override;
  Result<std::unique_ptr<Reader>> get(const std::string& key, GetRange range) override;
  Result<ObjectInfo> stat(const std::string& key) override;
  Status list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status remove(const std::string& key) override;
  Result<int> cleanup_stale(std::chrono::seconds older_than) override;

  const S3Client& client() const { return *client_; }

  // One request, never retried (`stacksnap doctor`): lists at most one object under the
  // prefix, which needs the same access as a catalog rebuild. Returns the server's clock
  // from the answer's Date header (nullopt when it sent none). Errors as s3_errors.h.
  Result<std::optional<SystemTime>> check_once();

 private:
  explicit S3Target(std::shared_ptr<S3Client> c) : client_(std::move(c)) {}
  std::shared_ptr<S3Client> client_;
};

}  // namespace stacksnap::storage::s3
