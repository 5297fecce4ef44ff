// A bounded, thread-safe byte pipe: one thread writes, another reads.
// Used to connect a producer and a consumer running on different threads (an
// interactive exec session, a tar stream re-emitted into an upload) with fixed memory.
//
// close_write(): the reader sees EOF after draining. fail(err): both ends see `err`
// (the writer at its next write, the reader once the buffer is drained... immediately).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "base/stream.h"

namespace stacksnap {

class Pipe {
 public:
  explicit Pipe(size_t capacity = 1 << 20) : capacity_(capacity) {}

  // Writer side. Blocks while the buffer is full.
  Status write(Bytes data);
  void close_write();
  // Reader side. Blocks until data, EOF (0) or failure.
  Result<size_t> read(MutableBytes buf);
  // Fails both sides (e.g. the consumer gave up). The first error wins.
  void fail(Error err);
  // The reader gave up: further writes fail with Cancelled "reader closed".
  void close_read();

  class ReaderEnd final : public Reader {
   public:
    explicit ReaderEnd(Pipe& p) : p_(p) {}
    Result<size_t> read(MutableBytes buf) override { return p_.read(buf); }

   private:
    Pipe& p_;
  };
  class WriterEnd final : public Writer {
   public:
    explicit WriterEnd(Pipe& p) : p_(p) {}
    Status write(Bytes data) override { return p_.write(data); }
    Status close() override {
      p_.close_write();
      return {};
    }

   private:
    Pipe& p_;
  };

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::byte> buf_;  // ring buffer storage
  size_t head_ = 0, size_ = 0;
  size_t capacity_;
  bool write_closed_ = false;
  bool read_closed_ = false;
  std::optional<Error> error_;
};

}  // namespace stacksnap
