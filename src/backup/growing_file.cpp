#include "backup/growing_file.h"

#include <unistd.h>

#include <cerrno>

namespace stacksnap::backup {

GrowingFile::GrowingFile(int fd, std::string path) : fd_(fd), path_(std::move(path)), out_(fd_, path_) {}

Status GrowingFile::PublishingWriter::write(Bytes data) {
  auto st = f_.out_.write(data);
  std::lock_guard lock(f_.mu_);
  if (!st.ok()) {
    if (!f_.failed_) f_.failed_ = st.error();
  } else {
    f_.size_ += data.size();
  }
  f_.grew_.notify_all();
  return st;
}

void GrowingFile::finish() {
  std::lock_guard lock(mu_);
  finished_ = true;
  grew_.notify_all();
}

void GrowingFile::fail(Error e) {
  std::lock_guard lock(mu_);
  if (!failed_) failed_ = std::move(e);
  grew_.notify_all();
}

uint64_t GrowingFile::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

Result<size_t> GrowingFile::TailReader::read(MutableBytes buf) {
  if (buf.empty()) return size_t{0};
  uint64_t avail = 0;
  {
    std::unique_lock lock(f_.mu_);
    f_.grew_.wait(lock, stop_, [&] { return f_.failed_ || f_.finished_ || f_.size_ > off_; });
    if (f_.failed_) return Error(*f_.failed_).with_context("the spool's writer failed");
    if (stop_.stop_requested()) return cancelled("verify cancelled");
    avail = f_.size_ - off_;
    if (avail == 0) return size_t{0};  // finished: end of file
  }
  const size_t want = static_cast<size_t>(std::min<uint64_t>(avail, buf.size()));
  for (;;) {
    ssize_t n = ::pread(f_.fd_, buf.data(), want, static_cast<off_t>(off_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read back " + f_.path_, errno);
    if (n == 0) return data_loss(f_.path_ + " is shorter than what was written to it");
    off_ += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }
}

}  // namespace stacksnap::backup
