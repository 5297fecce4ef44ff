#include "base/pipe.h"

#include <algorithm>
#include <cstring>

namespace stacksnap {

Status Pipe::write(Bytes data) {
  std::unique_lock lk(mu_);
  if (buf_.empty()) buf_.resize(capacity_);
  while (!data.empty()) {
    cv_.wait(lk, [&] { return error_ || read_closed_ || size_ < capacity_; });
    if (error_) return *error_;
    if (read_closed_) return cancelled("pipe reader closed");
    if (write_closed_) return failed_precondition("write after close on pipe");
    size_t tail = (head_ + size_) % capacity_;
    size_t n = std::min({data.size(), capacity_ - size_, capacity_ - tail});
    std::memcpy(buf_.data() + tail, data.data(), n);
    size_ += n;
    data = data.subspan(n);
    cv_.notify_all();
  }
  return {};
}

void Pipe::close_write() {
  std::lock_guard lk(mu_);
  write_closed_ = true;
  cv_.notify_all();
}

Result<size_t> Pipe::read(MutableBytes out) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return error_ || size_ > 0 || write_closed_; });
  if (error_) return *error_;
  if (size_ == 0) return size_t{0};
  size_t n = std::min({out.size(), size_, capacity_ - head_});
  std::memcpy(out.data(), buf_.data() + head_, n);
  head_ = (head_ + n) % capacity_;
  size_ -= n;
  cv_.notify_all();
  return n;
}

void Pipe::fail(Error err) {
  std::lock_guard lk(mu_);
  if (!error_) error_ = std::move(err);
  cv_.notify_all();
}

void Pipe::close_read() {
  std::lock_guard lk(mu_);
  read_closed_ = true;
  cv_.notify_all();
}

}  // namespace stacksnap
