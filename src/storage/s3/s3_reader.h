// A Reader streaming one S3 object (or a range of it) with flat memory.
//
// It drives one curl transfer through the multi interface from read(): received bytes go
// to a buffer of at most kGetBuffer (+ one curl chunk); when that is full the transfer is
// paused until the caller has read. A transfer that breaks mid-body (reset, timeout, 5xx)
// is resumed from the next byte with Range + If-Match (the ETag of the first answer), with
// the target's retry policy; an object replaced meanwhile is Aborted, never spliced.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "storage/s3/s3_client.h"
#include "storage/target.h"

namespace stacksnap::storage::s3 {

inline constexpr size_t kGetBuffer = 1 << 20;
inline constexpr size_t kMaxErrorBody = 64 * 1024;

class S3ObjectReader final : public Reader {
 public:
  // Sends the GET and waits for its answer's headers, so that NotFound, PermissionDenied…
  // come from here rather than from the first read(). `key` is the full key.
  static Result<std::unique_ptr<Reader>> open(std::shared_ptr<S3Client> client, std::string key, GetRange range);
  ~S3ObjectReader() override;
  Result<size_t> read(MutableBytes buf) override;

 private:
  S3ObjectReader(std::shared_ptr<S3Client> client, std::string key, uint64_t offset, std::optional<uint64_t> end)
      : client_(std::move(client)), key_(std::move(key)), next_(offset), start_(offset), end_(end) {}

  // Sends GET [next_, end_) and waits for the headers; retries per policy.
  Status open_transfer();
  Status start_once();
  void finish_transfer();
  // Runs curl until something happens (data, headers, completion); bounded by a poll timeout.
  Status pump();
  Error transfer_error() const;

  static size_t on_header(char* data, size_t size, size_t n, void* self);
  static size_t on_data(char* data, size_t size, size_t n, void* self);

  std::shared_ptr<S3Client> client_;
  std::string key_;
  uint64_t next_;                 // absolute offset of the next byte to arrive
  uint64_t start_;                // where this reader started
  std::optional<uint64_t> end_;   // absolute, exclusive; known after the first answer
  std::string etag_;
  bool eof_ = false;

  std::optional<CurlMulti> multi_;
  CurlHandle easy_;
  CurlSlist headers_;
  char errbuf_[CURL_ERROR_SIZE] = {0};
  long status_ = 0;
  bool headers_done_ = false;
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
  bool paused_ = false;
  std::string pending_;
  size_t pending_pos_ = 0;
  std::string error_body_;
  std::string content_length_, content_range_, response_etag_;
  int failures_ = 0;
};

}  // namespace stacksnap::storage::s3
