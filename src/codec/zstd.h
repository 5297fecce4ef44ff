// zstd stream adapters (libzstd streaming API, multithreaded compression).
//
// ZstdWriter compresses everything written into one zstd frame written to `out`;
// close() ends the frame and does not close `out`. With threads > 0 libzstd compresses
// jobs on worker threads (ZSTD_c_nbWorkers); the frame is the same format either way.
// Memory is bounded by the level's window and the job size (a few MiB per worker).
//
// ZstdReader decompresses one or more concatenated frames from `in`; malformed input
// is DataLoss. The window is limited to 2^kMaxWindowLog bytes so a hostile frame cannot
// demand unbounded memory.
//
// Thread-safety: none (libzstd's workers are internal).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/stream.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace stacksnap::codec {

inline constexpr int kDefaultZstdLevel = 3;
inline constexpr int kMinZstdLevel = 1;
inline constexpr int kMaxZstdLevel = 19;
inline constexpr int kMaxWindowLog = 23;  // 8 MiB: covers levels 1..19
inline constexpr size_t kZstdJobSize = 2u << 20;  // bytes per multithreaded compression job

struct ZstdOptions {
  int level = kDefaultZstdLevel;
  int threads = 0;  // worker threads; 0 = one per online CPU; 1 = one worker; -1 = none (synchronous)
};

class ZstdWriter final : public Writer {
 public:
  static Result<std::unique_ptr<ZstdWriter>> create(Writer& out, ZstdOptions options = {});
  ~ZstdWriter() override;
  Status write(Bytes data) override;
  Status close() override;
  uint64_t bytes_in() const { return in_; }
  uint64_t bytes_out() const { return out_bytes_; }

 private:
  ZstdWriter(Writer& out, ZSTD_CCtx_s* cctx);
  Status drain(Bytes input, bool end);

  Writer& out_;
  ZSTD_CCtx_s* cctx_;
  std::vector<std::byte> buf_;
  uint64_t in_ = 0, out_bytes_ = 0;
  bool closed_ = false, failed_ = false;
};

class ZstdReader final : public Reader {
 public:
  static Result<std::unique_ptr<ZstdReader>> create(Reader& in);
  ~ZstdReader() override;
  Result<size_t> read(MutableBytes buf) override;
  uint64_t bytes_in() const { return in_bytes_; }

 private:
  ZstdReader(Reader& in, ZSTD_DCtx_s* dctx);
  Reader& in_;
  ZSTD_DCtx_s* dctx_;
  std::vector<std::byte> inbuf_;
  size_t in_pos_ = 0, in_end_ = 0;
  uint64_t in_bytes_ = 0;
  bool eof_ = false;
  bool frame_open_ = false;  // inside a frame (input ending now is truncation)
  bool saw_frame_ = false;
  std::optional<Error> error_;
};

}  // namespace stacksnap::codec
