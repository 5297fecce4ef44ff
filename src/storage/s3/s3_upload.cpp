#include "storage/s3/s3_upload.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "storage/s3/part_size.h"

namespace stacksnap::storage::s3 {

S3Upload::S3Upload(std::shared_ptr<S3Client> client, std::string key, uint64_t size_hint)
    : client_(std::move(client)), key_(std::move(key)), size_hint_(size_hint) {}

S3Upload::~S3Upload() { abort(); }

Status S3Upload::fail(Error e) {
  std::lock_guard lock(mu_);
  if (!error_) error_ = e;
  cv_.notify_all();
  return e;
}

Result<S3Upload::Buffer> S3Upload::acquire_buffer(size_t capacity) {
  const size_t max_buffers = static_cast<size_t>(client_->config().parallel_parts) + 1;
  std::unique_lock lock(mu_);
  for (;;) {
    if (error_) return *error_;
    // Buffers of an earlier, smaller part size are dropped rather than reused.
    while (!free_.empty() && free_.back().capacity != capacity) {
      free_.pop_back();
      --live_buffers_;
    }
    if (!free_.empty()) {
      Buffer b = std::move(free_.back());
      free_.pop_back();
      b.size = 0;
      return b;
    }
    if (live_buffers_ < max_buffers) {
      ++live_buffers_;
      peak_buffers_ = std::max(peak_buffers_, live_buffers_);
      lock.unlock();
      // Not zero-filled: pages are touched (and count in RSS) only as data is written.
      return Buffer{std::make_unique_for_overwrite<std::byte[]>(capacity), capacity, 0};
    }
    cv_.wait(lock);
  }
}

Status S3Upload::write(Bytes data) {
  if (state_ != State::kOpen) return failed_precondition("s3 upload of " + key_ + " is already closed");
  while (!data.empty()) {
    if (!current_) {
      if (next_part_ > kMaxParts) {
        return fail(resource_exhausted("s3 upload of " + key_ + ": more than " + std::to_string(kMaxParts) +
                                       " parts; announce the size (size hint) or raise the part size"));
      }
      auto b = acquire_buffer(part_size_for(client_->config().part_size, size_hint_, next_part_));
      if (!b.ok()) return std::move(b).error();
      current_ = std::move(*b);
    }
    size_t n = std::min(data.size(), current_->capacity - current_->size);
    std::memcpy(current_->data.get() + current_->size, data.data(), n);
    current_->size += n;
    written_ += n;
    data = data.subspan(n);
    if (current_->size == current_->capacity) TRY(submit_current());
  }
  return {};
}

Status S3Upload::submit_current() {
  if (upload_id_.empty()) {
    auto id = client_->create_multipart(key_);
    if (!id.ok()) return fail(std::move(id).error());
    upload_id_ = std::move(*id);
    const int n = client_->config().parallel_parts;
    workers_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  std::lock_guard lock(mu_);
  if (error_) return *error_;
  queue_.push_back(Job{next_part_++, std::move(*current_)});
  current_.reset();
  cv_.notify_all();
  return {};
}

void S3Upload::worker_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    Result<std::string> etag = cancelled("s3 upload of " + key_ + " aborted");
    if (!cancel_.load()) {
      Bytes body(job.buf.data.get(), job.buf.size);
      std::string hash = sha256_hex(body);
      etag = client_->upload_part(key_, upload_id_, job.part, body, hash, &cancel_);
      if (!etag.ok()) etag.error().with_context("part " + std::to_string(job.part));
    }
    std::lock_guard lock(mu_);
    --in_flight_;
    if (etag.ok()) {
      if (etags_.size() < job.part) etags_.resize(job.part);
      etags_[job.part - 1] = std::move(*etag);
    } else if (!error_) {
      error_ = std::move(etag).error();
      cancel_.store(true);  // stop the other parts: the upload is lost anyway
    }
    free_.push_back(std::move(job.buf));
    cv_.notify_all();
  }
}

void S3Upload::stop_workers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void S3Upload::abort_remote(std::string_view why) {
  if (upload_id_.empty()) return;
  Status st = client_->abort_multipart(key_, upload_id_);
  if (!st.ok()) {
    spdlog::warn("s3: could not abort multipart upload {} of {} ({}): {}; cleanup_stale() will remove it",
                 upload_id_, key_, why, st.error().message());
  }
  upload_id_.clear();
}

Status S3Upload::commit() {
  if (state_ != State::kOpen) return failed_precondition("s3 upload of " + key_ + " is already closed");
  if (upload_id_.empty()) {  // smaller than one part: a single PutObject
    state_ = State::kAborted;  // spent, whatever happens
    Bytes body;
    if (current_) body = Bytes(current_->data.get(), current_->size);
    auto r = client_->put_object(key_, body, sha256_hex(body), &cancel_);
    current_.reset();
    if (!r.ok()) return std::move(r).error();
    state_ = State::kCommitted;
    return {};
  }
  Status st;
  if (current_ && current_->size > 0) st = submit_current();
  current_.reset();
  if (st.ok()) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return error_.has_value() || (queue_.empty() && in_flight_ == 0); });
    if (error_) st = *error_;
  }
  stop_workers();
  if (st.ok()) {
    std::vector<std::string> etags;
    {
      std::lock_guard lock(mu_);
      etags = etags_;
    }
    st = client_->complete_multipart(key_, upload_id_, etags);
  }
  if (!st.ok()) {
    state_ = State::kAborted;
    abort_remote("commit failed");
    return std::move(st).error().with_context("upload " + key_);
  }
  upload_id_.clear();
  state_ = State::kCommitted;
  std::lock_guard lock(mu_);
  free_.clear();
  return {};
}

void S3Upload::request_cancel() {
  std::lock_guard lock(mu_);
  cancel_.store(true);
  if (!error_) error_ = cancelled("s3 upload of " + key_ + " cancelled");
  cv_.notify_all();
}

void S3Upload::abort() {
  if (state_ != State::kOpen) return;
  state_ = State::kAborted;
  cancel_.store(true);
  stop_workers();
  current_.reset();
  {
    std::lock_guard lock(mu_);
    queue_.clear();
    free_.clear();
  }
  abort_remote("aborted before commit");
}

}  // namespace stacksnap::storage::s3
