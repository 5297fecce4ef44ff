// Owning file descriptor, and file streams over it.
#pragma once

#include <string>
#include <utility>

#include "base/stream.h"

namespace stacksnap {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);
  // close() that reports the error (e.g. a deferred write error on NFS).
  Status close();

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC; the error names the path.
Result<UniqueFd> open_file(const std::string& path, int flags, int mode = 0644);
// A new read-write file for scratch data in `dir`: unnamed (O_TMPFILE: it disappears with
// its last descriptor, so a killed process leaves nothing behind) where the file system
// supports that, else created at `fallback` (O_EXCL; a name ending in XXXXXX is a
// mkostemp template) and its path put in *named_path (left empty for an unnamed file): the
// caller removes it. Reopen an unnamed file through /proc/self/fd/N.
Result<UniqueFd> create_scratch_file(const std::string& dir, const std::string& fallback, int mode,
                                     std::string* named_path);

// Reader/Writer over a borrowed fd (retrying EINTR; short writes completed).
class FdReader final : public Reader {
 public:
  explicit FdReader(int fd, std::string name = {}) : fd_(fd), name_(std::move(name)) {}
  Result<size_t> read(MutableBytes buf) override;

 private:
  int fd_;
  std::string name_;
};

class FdWriter final : public Writer {
 public:
  explicit FdWriter(int fd, std::string name = {}) : fd_(fd), name_(std::move(name)) {}
  Status write(Bytes data) override;

 private:
  int fd_;
  std::string name_;
};

// Writes all of data to fd; the error names `what`.
Status write_all(int fd, Bytes data, std::string_view what);

// fsync(2) of a path's directory, for durable renames.
Status fsync_dir(const std::string& dir);

// Writes `content` to `path` atomically: tmp file in the same dir, fsync, rename,
// directory fsync. The file has `mode`.
Status write_file_atomic(const std::string& path, std::string_view content, int mode = 0644);

// Creates `dir` and every directory from `root` down to it with mode 0700, and tightens
// those that exist to 0700 (root's own parents are created with the default mode).
// InvalidArgument when `dir` is not `root` or below it.
Status make_private_dirs(const std::string& root, const std::string& dir);

// Reads a small file whole (limit in bytes).
Result<std::string> read_small_file(const std::string& path, size_t limit = 16 << 20);

}  // namespace stacksnap
