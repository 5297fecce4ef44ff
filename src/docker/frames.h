// The Engine's multiplexed stream format (exec and attach with Tty=false):
// frames of an 8-byte header {type, 0, 0, 0, big-endian uint32 length} + payload.
// Type 0 (stdin) and 1 go to stdout, 2 to stderr, 3 is an engine error message.
//
// FrameDemuxer is a pure state machine: feed() takes whatever a read returned
// (frames may be split anywhere, several may arrive at once, zero-length frames
// happen) and passes payload slices straight to the sinks, without buffering
// payload. Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::docker {

enum class StreamType : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kSystemError = 3 };

class FrameDemuxer {
 public:
  // Type-3 payload is collected up to this many bytes (it is an error message).
  static constexpr size_t kMaxSystemError = 4096;

  FrameDemuxer(Writer& out, Writer& err) : out_(out), err_(err) {}

  // DataLoss on a frame type the format does not define; the sinks' errors pass through.
  Status feed(Bytes data);
  // DataLoss when the stream ended inside a frame.
  Status finish() const;

  uint64_t stdout_bytes() const { return stdout_bytes_; }
  uint64_t stderr_bytes() const { return stderr_bytes_; }
  const std::string& system_error() const { return system_error_; }

 private:
  Writer& out_;
  Writer& err_;
  std::array<uint8_t, 8> header_{};
  size_t header_have_ = 0;
  uint32_t remaining_ = 0;
  uint8_t type_ = 0;
  uint64_t stdout_bytes_ = 0;
  uint64_t stderr_bytes_ = 0;
  std::string system_error_;
};

}  // namespace stacksnap::docker
