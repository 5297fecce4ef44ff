// Byte streams. Everything large in StackSnap flows through these with fixed
// buffers: memory never grows with the size of a volume, dump or archive.
//
// Contract:
//  - Reader::read fills up to buf.size() bytes and returns how many; 0 means EOF.
//    It may return fewer bytes than asked before EOF. Errors are sticky in practice:
//    callers stop at the first error.
//  - Writer::write consumes all of `data` or fails. close() flushes and reports the
//    final error (e.g. a failed fsync or a tag that did not verify); a Writer
//    destroyed without close() is abandoned (best-effort cleanup, no commit).
//  - Neither is thread-safe unless an implementation says so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"

namespace stacksnap {

using Bytes = std::span<const std::byte>;
using MutableBytes = std::span<std::byte>;

inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_chars(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Default buffer for copying between streams.
inline constexpr size_t kCopyBuffer = 256 * 1024;

class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<size_t> read(MutableBytes buf) = 0;
};

class Writer {
 public:
  virtual ~Writer() = default;
  virtual Status write(Bytes data) = 0;
  virtual Status close() { return {}; }
};

// Reads exactly buf.size() bytes; DataLoss "unexpected end of stream" when EOF comes first.
Status read_exact(Reader& r, MutableBytes buf);
// Reads everything (up to `limit` bytes, InvalidArgument beyond it) into a string.
// Only for small things (manifests, JSON bodies), never for data.
Result<std::string> read_all(Reader& r, size_t limit);
// Copies r to w with a fixed buffer until EOF; returns the bytes copied. Does not close w.
Result<uint64_t> copy_stream(Reader& r, Writer& w, size_t buffer = kCopyBuffer);

// A Reader over a string_view (the view must outlive the reader).
class MemoryReader final : public Reader {
 public:
  explicit MemoryReader(std::string_view data) : data_(data) {}
  Result<size_t> read(MutableBytes buf) override;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// The first `limit` bytes of `in` (EOF after them; fewer when `in` ends first).
class LimitedReader final : public Reader {
 public:
  LimitedReader(Reader& in, uint64_t limit) : in_(in), left_(limit) {}
  Result<size_t> read(MutableBytes buf) override;

 private:
  Reader& in_;
  uint64_t left_;
};

// A Writer appending to a string (tests and small payloads).
class StringWriter final : public Writer {
 public:
  Status write(Bytes data) override {
    out_.append(as_chars(data));
    return {};
  }
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Discards everything, counting bytes.
class NullWriter final : public Writer {
 public:
  Status write(Bytes data) override {
    count_ += data.size();
    return {};
  }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

// Passes reads of `in` through, writing every byte read to `copy` first: one pass
// that both consumes a stream and keeps it (e.g. fetch and verify at once).
class TeeReader final : public Reader {
 public:
  TeeReader(Reader& in, Writer& copy) : in_(in), copy_(copy) {}
  Result<size_t> read(MutableBytes buf) override;
  uint64_t bytes() const { return bytes_; }

 private:
  Reader& in_;
  Writer& copy_;
  uint64_t bytes_ = 0;
};

// Adapts a callable to a Writer.
class FunctionWriter final : public Writer {
 public:
  explicit FunctionWriter(std::function<Status(Bytes)> fn) : fn_(std::move(fn)) {}
  Status write(Bytes data) override { return fn_(data); }

 private:
  std::function<Status(Bytes)> fn_;
};

}  // namespace stacksnap
