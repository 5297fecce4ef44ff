// An S3 upload: one PutObject for objects smaller than a part, else a multipart upload
// whose full parts go out on a bounded pool of worker threads while the caller writes on.
//
// Memory: at most parallel_parts + 1 part buffers exist (one filling, the others queued
// or in flight), so (parallel_parts + 1) × part size bounds the upload's memory. A part's
// retry re-sends its buffer. Any failure, abort() or destruction before commit() stops the
// workers and sends AbortMultipartUpload (best effort, logged: cleanup_stale() catches what
// is left). commit() returns the first error of any part.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/s3/s3_client.h"
#include "storage/target.h"

namespace stacksnap::storage::s3 {

class S3Upload final : public Upload {
 public:
  // `key` is the full key.
  S3Upload(std::shared_ptr<S3Client> client, std::string key, uint64_t size_hint);
  ~S3Upload() override;

  Status write(Bytes data) override;
  Status commit() override;
  void abort() override;
  void request_cancel() override;
  uint64_t bytes_written() const override { return written_; }

  // For tests: how many part buffers were ever alive at once.
  size_t peak_buffers() const { return peak_buffers_; }

 private:
  struct Buffer {
    std::unique_ptr<std::byte[]> data;
    size_t capacity = 0;
    size_t size = 0;
  };
  struct Job {
    uint32_t part = 0;
    Buffer buf;
  };
  enum class State { kOpen, kCommitted, kAborted };

  Result<Buffer> acquire_buffer(size_t capacity);
  Status submit_current();
  void worker_loop();
  void stop_workers();
  void abort_remote(std::string_view why);
  Status fail(Error e);  // records the first error; returns it

  std::shared_ptr<S3Client> client_;
  std::string key_;
  uint64_t size_hint_;
  State state_ = State::kOpen;
  uint64_t written_ = 0;
  uint32_t next_part_ = 1;
  std::optional<Buffer> current_;
  std::string upload_id_;

  std::atomic<bool> cancel_{false};
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;  // jobs queued, buffers freed, parts finished
  std::deque<Job> queue_;
  std::vector<Buffer> free_;
  size_t live_buffers_ = 0;
  size_t peak_buffers_ = 0;
  int in_flight_ = 0;
  bool stopping_ = false;
  std::vector<std::string> etags_;  // [part - 1]
  std::optional<Error> error_;
};

}  // namespace stacksnap::storage::s3
