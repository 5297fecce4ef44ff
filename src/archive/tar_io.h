// pax tar through libarchive, over our streams (internal to src/archive, but usable by
// restore to build tar streams for the Docker archive endpoint).
//
// TarWriter writes POSIX pax (archive_write_set_format_pax: nanosecond mtimes, long
// names, SCHILY.xattr records, GNU sparse 1.0 for entries with sparse regions) into a
// Writer, unblocked (no padding of the archive to 10 KiB records). Header strings are
// written as bytes (hdrcharset=BINARY when not ASCII), so no name is ever mangled.
//
// TarReader reads ustar/pax/GNU tar from a chunk source (zero-copy from a
// PrefetchReader, or any Reader through a fixed buffer).
//
// Thread-safety: none.
#pragma once

#include <functional>
#include <memory>

#include "archive/entry.h"
#include "base/error.h"
#include "base/stream.h"

struct archive;
struct archive_entry;

namespace stacksnap::archive {

class TarWriter {
 public:
  static Result<std::unique_ptr<TarWriter>> create(Writer& out);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Writes the header. A regular file then takes exactly meta.size bytes of logical
  // content through write_data() (for a sparse entry the bytes in holes are passed
  // and dropped); end_entry() fails when fewer came.
  Status begin_entry(const EntryMeta& meta);
  Status write_data(Bytes data);
  Status end_entry();
  // Writes the end-of-archive marker. Does not close `out`.
  Status finish();

 private:
  explicit TarWriter(Writer& out);
  Error fail(std::string_view what);
  static long write_cb(struct archive*, void* self, const void* buf, size_t n);

  Writer& out_;
  struct archive* a_ = nullptr;
  struct archive_entry* e_ = nullptr;
  uint64_t remaining_ = 0;
  bool in_entry_ = false;
  std::optional<Error> out_error_;
};

// Emits `meta` and, for regular files, exactly meta.size bytes from `content`.
Status write_tar_entry(TarWriter& tar, const EntryMeta& meta, Reader* content);

struct DataBlock {
  Bytes data;           // empty: the entry's data is exhausted
  uint64_t offset = 0;  // logical offset of data[0] in the file (holes are skipped)
};

class TarReader {
 public:
  using ChunkSource = std::function<Result<Bytes>()>;  // empty Bytes = EOF
  static Result<std::unique_ptr<TarReader>> open(ChunkSource source);
  // Through a fixed kCopyBuffer owned by the returned reader.
  static Result<std::unique_ptr<TarReader>> open(Reader& in);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next header; false at the end-of-archive marker. InvalidArgument for entries we
  // cannot represent (sockets); DataLoss for malformed tar.
  Result<bool> next(EntryMeta& meta);
  Result<DataBlock> read_block();

 private:
  explicit TarReader(ChunkSource source);
  Error fail(std::string_view what);
  static long read_cb(struct archive*, void* self, const void** buf);

  ChunkSource source_;
  std::vector<std::byte> own_buf_;
  struct archive* a_ = nullptr;
  std::optional<Error> in_error_;
};

// A file's logical content from its data blocks: holes between the blocks and after the
// last one (up to logical_size()) read as zeros. Subclasses say where the blocks come
// from and how long the file is.
class HoleFillingReader : public Reader {
 public:
  Result<size_t> read(MutableBytes buf) override;

 protected:
  // The next block in offset order; empty data once the content is exhausted.
  virtual Result<DataBlock> next_block() = 0;
  // Asked once the blocks are exhausted (a stream's length may be known only then).
  virtual uint64_t logical_size() const = 0;
  uint64_t position() const { return pos_; }
  // Starts over for a new file.
  void restart() {
    pos_ = 0;
    block_ = {};
    block_off_ = 0;
    end_ = false;
  }

 private:
  size_t zeros(MutableBytes buf, uint64_t until);

  uint64_t pos_ = 0;  // logical position
  Bytes block_;
  uint64_t block_off_ = 0;
  bool end_ = false;
};

// The current tar entry's logical content (holes of a sparse entry read as zeros):
// exactly `size` bytes; DataLoss when a data block lies outside the entry.
class TarEntryReader final : public HoleFillingReader {
 public:
  TarEntryReader(TarReader& tar, uint64_t size) : tar_(tar), size_(size) {}

 private:
  Result<DataBlock> next_block() override;
  uint64_t logical_size() const override { return size_; }
  TarReader& tar_;
  uint64_t size_;
};

}  // namespace stacksnap::archive
