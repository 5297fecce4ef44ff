// GrowingFile: a file being written by one thread and read back, from the start, by
// another while it grows: the backup pipeline's deep verify follows the archive writer
// through the spool instead of waiting for it to finish.
//
//  - writer() appends to the file (write(2) through FdWriter) and publishes the new size
//    after each write that returned; a reader never sees bytes of a write in progress.
//  - A TailReader reads with pread(2) up to the published size, and blocks for more until
//    finish() (then: end of file) or fail(e) (then: e, Cancelled for a stop request).
//  - The file is only ever appended to, so what a reader read stays what the file holds.
//
// Thread-safety: one writer thread; any number of readers, each used by one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "base/cancel.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/stream.h"

namespace stacksnap::backup {

class GrowingFile {
 public:
  GrowingFile(int fd, std::string path);
  GrowingFile(const GrowingFile&) = delete;
  GrowingFile& operator=(const GrowingFile&) = delete;

  Writer& writer() { return writer_; }
  void finish();
  void fail(Error e);  // the first failure sticks
  uint64_t size() const;

  class TailReader final : public Reader {
   public:
    TailReader(GrowingFile& f, StopToken stop) : f_(f), stop_(std::move(stop)) {}
    Result<size_t> read(MutableBytes buf) override;
    uint64_t offset() const { return off_; }

   private:
    GrowingFile& f_;
    StopToken stop_;
    uint64_t off_ = 0;
  };

 private:
  class PublishingWriter final : public Writer {
   public:
    explicit PublishingWriter(GrowingFile& f) : f_(f) {}
    Status write(Bytes data) override;

   private:
    GrowingFile& f_;
  };

  const int fd_;
  const std::string path_;
  FdWriter out_;
  PublishingWriter writer_{*this};
  mutable std::mutex mu_;
  std::condition_variable_any grew_;
  uint64_t size_ = 0;
  bool finished_ = false;
  std::optional<Error> failed_;
};

}  // namespace stacksnap::backup
