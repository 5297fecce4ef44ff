#include "codec/zstd.h"

#include <zstd.h>

#include <thread>

namespace stacksnap::codec {

namespace {
std::string zstd_err(size_t rc) { return ZSTD_getErrorName(rc); }
}  // namespace

Result<std::unique_ptr<ZstdWriter>> ZstdWriter::create(Writer& out, ZstdOptions o) {
  if (o.level < kMinZstdLevel || o.level > kMaxZstdLevel) {
    return invalid_argument("zstd level " + std::to_string(o.level) + " is outside [" +
                            std::to_string(kMinZstdLevel) + ", " + std::to_string(kMaxZstdLevel) + "]");
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return resource_exhausted("cannot allocate a zstd compression context");
  std::unique_ptr<ZstdWriter> w(new ZstdWriter(out, cctx));
  int threads = o.threads == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
                               : std::max(0, o.threads);
  size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, o.level);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (!ZSTD_isError(rc) && threads > 0) {
    // Without ZSTD_MULTITHREAD support this fails; compression then runs synchronously.
    if (!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads))) {
      // Smaller jobs than zstd's default (4 × window, 8 MiB at level 3) keep the
      // worker buffers, and so the writer's peak RSS, small; the ratio barely moves.
      (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, static_cast<int>(kZstdJobSize));
    }
  }
  if (ZSTD_isError(rc)) return internal_error("zstd parameters: " + zstd_err(rc));
  // Levels 1..19 use windowLog <= 23 (zstd's parameter table), inside readers' limit.
  return w;
}

ZstdWriter::ZstdWriter(Writer& out, ZSTD_CCtx_s* cctx)
    : out_(out), cctx_(cctx), buf_(ZSTD_CStreamOutSize()) {}

ZstdWriter::~ZstdWriter() { ZSTD_freeCCtx(cctx_); }

Status ZstdWriter::drain(Bytes input, bool end) {
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  for (;;) {
    ZSTD_outBuffer ob{buf_.data(), buf_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_, &ob, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(rc)) {
      failed_ = true;
      return internal_error("zstd compression: " + zstd_err(rc));
    }
    if (ob.pos > 0) {
      out_bytes_ += ob.pos;
      if (auto st = out_.write(Bytes(buf_.data(), ob.pos)); !st.ok()) {
        failed_ = true;
        return st;
      }
    }
    if (end ? rc == 0 : in.pos == in.size) return {};
  }
}

Status ZstdWriter::write(Bytes data) {
  if (closed_ || failed_) return failed_precondition("zstd stream is closed or failed");
  in_ += data.size();
  return drain(data, false);
}

Status ZstdWriter::close() {
  if (closed_) return {};
  if (failed_) return failed_precondition("zstd stream failed earlier");
  TRY(drain({}, true));
  closed_ = true;
  return {};
}

// ---- reader -----------------------------------------------------------------------

Result<std::unique_ptr<ZstdReader>> ZstdReader::create(Reader& in) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  if (d == nullptr) return resource_exhausted("cannot allocate a zstd decompression context");
  std::unique_ptr<ZstdReader> r(new ZstdReader(in, d));
  size_t rc = ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, kMaxWindowLog);
  if (ZSTD_isError(rc)) return internal_error("zstd parameters: " + zstd_err(rc));
  return r;
}

ZstdReader::ZstdReader(Reader& in, ZSTD_DCtx_s* dctx) : in_(in), dctx_(dctx), inbuf_(ZSTD_DStreamInSize()) {}
ZstdReader::~ZstdReader() { ZSTD_freeDCtx(dctx_); }

Result<size_t> ZstdReader::read(MutableBytes buf) {
  if (error_) return Error(*error_);
  if (buf.empty()) return size_t{0};
  for (;;) {
    if (in_pos_ == in_end_ && !eof_) {
      auto n = in_.read(MutableBytes(inbuf_.data(), inbuf_.size()));
      if (!n.ok()) {
        error_ = n.error();
        return std::move(n).error();
      }
      in_pos_ = 0;
      in_end_ = *n;
      in_bytes_ += *n;
      if (*n == 0) eof_ = true;
    }
    if (in_pos_ == in_end_ && eof_) {
      if (frame_open_ || !saw_frame_) {
        error_ = data_loss(saw_frame_ ? "compressed stream truncated inside a zstd frame"
                                      : "compressed stream is empty (no zstd frame)");
        return Error(*error_);
      }
      return size_t{0};
    }
    ZSTD_inBuffer in{inbuf_.data(), in_end_, in_pos_};
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    size_t rc = ZSTD_decompressStream(dctx_, &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(rc)) {
      error_ = data_loss("zstd data corrupted: " + zstd_err(rc));
      return Error(*error_);
    }
    saw_frame_ = true;
    frame_open_ = rc != 0;
    if (out.pos > 0) return out.pos;
  }
}

}  // namespace stacksnap::codec
