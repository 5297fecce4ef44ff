#include "archive/tar_io.h"

#include "archive/libarchive_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace stacksnap::archive {

namespace {


}  // namespace

// ---- writer ----------------------------------------------------------------------

TarWriter::TarWriter(Writer& out) : out_(out) {}

TarWriter::~TarWriter() {
  if (e_) archive_entry_free(e_);
  if (a_) archive_write_free(a_);  // best effort; errors were reported by finish()
}

// A failing `out` is remembered and the bytes are dropped, but libarchive is told they
// were written: an archive that fails in its write callback turns FATAL, and libarchive
// 3.6 then frees it without closing its client filter (a leak per failed archive). Every
// method returns the remembered error as soon as libarchive returns.
long TarWriter::write_cb(struct archive*, void* self, const void* buf, size_t n) {
  auto* w = static_cast<TarWriter*>(self);
  if (w->out_error_) return static_cast<long>(n);
  auto st = w->out_.write(Bytes(static_cast<const std::byte*>(buf), n));
  if (!st.ok()) w->out_error_ = std::move(st).error();
  return static_cast<long>(n);
}

Error TarWriter::fail(std::string_view what) {
  if (out_error_) return Error(*out_error_);
  const char* msg = a_ ? archive_error_string(a_) : nullptr;
  return internal_error(std::string(what) + ": " + (msg ? msg : "libarchive error"));
}

Result<std::unique_ptr<TarWriter>> TarWriter::create(Writer& out) {
  Utf8Locale loc;
  std::unique_ptr<TarWriter> w(new TarWriter(out));
  w->a_ = archive_write_new();
  w->e_ = archive_entry_new();
  if (!w->a_ || !w->e_) return resource_exhausted("cannot allocate a tar writer");
  if (archive_write_set_format_pax(w->a_) != ARCHIVE_OK) return w->fail("tar format");
  if (archive_write_set_bytes_per_block(w->a_, 0) != ARCHIVE_OK) return w->fail("tar blocking");
  if (archive_write_add_filter_none(w->a_) != ARCHIVE_OK) return w->fail("tar filter");
  if (archive_write_open(w->a_, w.get(), nullptr, &TarWriter::write_cb, nullptr) != ARCHIVE_OK) {
    return w->fail("open tar writer");
  }
  return w;
}

Status TarWriter::begin_entry(const EntryMeta& m) {
  if (in_entry_) return failed_precondition("tar entry " + m.path + " begun inside another entry");
  Utf8Locale loc;
  fill_entry(e_, m);
  if (!m.uname.empty()) archive_entry_copy_uname(e_, m.uname.c_str());
  if (!m.gname.empty()) archive_entry_copy_gname(e_, m.gname.c_str());
  uint64_t size = m.type == EntryType::kFile ? m.size : 0;
  archive_entry_set_size(e_, static_cast<la_int64_t>(size));
  if (m.type == EntryType::kFile) {
    for (const auto& r : m.sparse) {
      archive_entry_sparse_add_entry(e_, static_cast<la_int64_t>(r.offset), static_cast<la_int64_t>(r.length));
    }
  }
  if (out_error_) return Error(*out_error_);
  int rc = archive_write_header(a_, e_);
  if (rc < ARCHIVE_WARN || out_error_) return fail("write tar header of " + m.path);
  remaining_ = size;
  in_entry_ = true;
  return {};
}

Status TarWriter::write_data(Bytes data) {
  if (!in_entry_) return failed_precondition("tar data outside an entry");
  if (data.size() > remaining_) return invalid_argument("more content than the entry's declared size");
  Utf8Locale loc;
  while (!data.empty()) {
    la_ssize_t n = archive_write_data(a_, data.data(), data.size());
    if (n < 0 || out_error_) return fail("write tar data");
    if (n == 0) return internal_error("tar writer accepted no data");
    data = data.subspan(static_cast<size_t>(n));
    remaining_ -= static_cast<uint64_t>(n);
  }
  return {};
}

Status TarWriter::end_entry() {
  if (!in_entry_) return {};
  in_entry_ = false;
  if (remaining_ != 0) {
    return failed_precondition("content ended " + std::to_string(remaining_) + " bytes short of the declared size");
  }
  Utf8Locale loc;
  if (archive_write_finish_entry(a_) < ARCHIVE_WARN || out_error_) return fail("finish tar entry");
  return {};
}

Status TarWriter::finish() {
  if (in_entry_) TRY(end_entry());
  Utf8Locale loc;
  if (archive_write_close(a_) != ARCHIVE_OK || out_error_) return fail("finish tar");
  return {};
}

Status write_tar_entry(TarWriter& tar, const EntryMeta& meta, Reader* content) {
  TRY(tar.begin_entry(meta));
  if (meta.type == EntryType::kFile && meta.size > 0) {
    if (content == nullptr) return invalid_argument("regular file " + meta.path + " without content");
    std::vector<std::byte> buf(kCopyBuffer);
    uint64_t left = meta.size;
    while (left > 0) {
      size_t n = TRY(content->read(MutableBytes(buf.data(), std::min<uint64_t>(buf.size(), left))));
      if (n == 0) return failed_precondition(meta.path + ": content ended " + std::to_string(left) + " bytes early");
      TRY(tar.write_data(Bytes(buf.data(), n)));
      left -= n;
    }
  }
  return tar.end_entry();
}

// ---- reader ----------------------------------------------------------------------

TarReader::TarReader(ChunkSource source) : source_(std::move(source)) {}

TarReader::~TarReader() {
  if (a_) archive_read_free(a_);
}

long TarReader::read_cb(struct archive*, void* self, const void** buf) {
  auto* r = static_cast<TarReader*>(self);
  if (r->in_error_) return -1;
  auto chunk = r->source_();
  if (!chunk.ok()) {
    r->in_error_ = std::move(chunk).error();
    return -1;
  }
  *buf = chunk->data();
  return static_cast<long>(chunk->size());
}

Error TarReader::fail(std::string_view what) {
  if (in_error_) return Error(*in_error_);
  const char* msg = archive_error_string(a_);
  return data_loss(std::string(what) + ": " + (msg ? msg : "malformed tar"));
}

Result<std::unique_ptr<TarReader>> TarReader::open(ChunkSource source) {
  Utf8Locale loc;
  std::unique_ptr<TarReader> r(new TarReader(std::move(source)));
  r->a_ = archive_read_new();
  if (!r->a_) return resource_exhausted("cannot allocate a tar reader");
  archive_read_support_format_tar(r->a_);
  archive_read_support_filter_none(r->a_);
  if (archive_read_open(r->a_, r.get(), nullptr, &TarReader::read_cb, nullptr) != ARCHIVE_OK) {
    return r->fail("open tar stream");
  }
  return r;
}

Result<std::unique_ptr<TarReader>> TarReader::open(Reader& in) {
  auto buf = std::make_shared<std::vector<std::byte>>(kCopyBuffer);
  return open([&in, buf]() -> Result<Bytes> {
    size_t n = TRY(in.read(MutableBytes(buf->data(), buf->size())));
    return Bytes(buf->data(), n);
  });
}

Result<bool> TarReader::next(EntryMeta& m) {
  Utf8Locale loc;
  struct archive_entry* e = nullptr;
  int rc = archive_read_next_header(a_, &e);
  if (rc == ARCHIVE_EOF) return false;
  if (rc < ARCHIVE_WARN) return fail("read tar header");
  m = EntryMeta{};
  const char* path = archive_entry_pathname(e);
  if (path == nullptr) return data_loss("tar entry without a path");
  // The raw name (less a directory's trailing '/'): readers of our own archives refuse
  // anything not normalised, and add_tar_stream normalises foreign streams itself.
  m.path = path;
  while (m.path.size() > 1 && m.path.back() == '/') m.path.pop_back();
  const char* hard = archive_entry_hardlink(e);
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: m.type = EntryType::kFile; break;
    case AE_IFDIR: m.type = EntryType::kDirectory; break;
    case AE_IFLNK: m.type = EntryType::kSymlink; break;
    case AE_IFIFO: m.type = EntryType::kFifo; break;
    case AE_IFCHR: m.type = EntryType::kCharDevice; break;
    case AE_IFBLK: m.type = EntryType::kBlockDevice; break;
    case AE_IFSOCK: return invalid_argument("tar entry " + m.path + " is a socket, which cannot be archived");
    default:
      if (hard == nullptr) return data_loss("tar entry " + m.path + " has an unknown type");
      break;
  }
  if (hard != nullptr) {
    m.type = EntryType::kHardlink;
    m.link = hard;
  }
  if (m.type == EntryType::kSymlink) {
    const char* t = archive_entry_symlink(e);
    m.link = t ? t : "";
  }
  m.mode = static_cast<uint32_t>(archive_entry_perm(e)) & 07777;
  la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX) {
    return data_loss("tar entry " + m.path + " has an out-of-range uid/gid");
  }
  m.uid = static_cast<uint32_t>(uid);
  m.gid = static_cast<uint32_t>(gid);
  if (const char* u = archive_entry_uname(e)) m.uname = u;
  if (const char* g = archive_entry_gname(e)) m.gname = g;
  m.mtime_sec = archive_entry_mtime(e);
  long nsec = archive_entry_mtime_nsec(e);
  m.mtime_nsec = nsec < 0 || nsec > 999999999 ? 0 : static_cast<uint32_t>(nsec);
  if (m.type == EntryType::kFile) {
    la_int64_t size = archive_entry_size(e);
    if (size < 0) return data_loss("tar entry " + m.path + " has a negative size");
    m.size = static_cast<uint64_t>(size);
  }
  if (m.type == EntryType::kCharDevice || m.type == EntryType::kBlockDevice) {
    m.dev_major = static_cast<uint32_t>(archive_entry_rdevmajor(e));
    m.dev_minor = static_cast<uint32_t>(archive_entry_rdevminor(e));
  }
  const char* name;
  const void* value;
  size_t vsize;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &vsize) == ARCHIVE_OK) {
    // pax archives carry each xattr twice (LIBARCHIVE.xattr.* and SCHILY.xattr.*).
    bool seen = std::any_of(m.xattrs.begin(), m.xattrs.end(), [&](const Xattr& x) { return x.name == name; });
    if (!seen) m.xattrs.push_back({name, std::string(static_cast<const char*>(value), vsize)});
  }
  if (m.type == EntryType::kFile && archive_entry_sparse_reset(e) > 0) {
    la_int64_t off, len;
    while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
      if (off < 0 || len < 0) return data_loss("tar entry " + m.path + " has an invalid sparse map");
      m.sparse.push_back({static_cast<uint64_t>(off), static_cast<uint64_t>(len)});
    }
  }
  return true;
}

Result<DataBlock> TarReader::read_block() {
  Utf8Locale loc;
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int rc;
  do {
    rc = archive_read_data_block(a_, &buf, &size, &offset);
  } while (rc == ARCHIVE_OK && size == 0);
  if (rc == ARCHIVE_EOF) return DataBlock{};
  if (rc < ARCHIVE_WARN) return fail("read tar data");
  if (offset < 0) return data_loss("tar data block at a negative offset");
  return DataBlock{Bytes(static_cast<const std::byte*>(buf), size), static_cast<uint64_t>(offset)};
}

Result<DataBlock> TarEntryReader::next_block() {
  DataBlock b = TRY(tar_.read_block());
  if (!b.data.empty() && (b.offset < position() || b.offset + b.data.size() > size_)) {
    return data_loss("tar data block at offset " + std::to_string(b.offset) + " lies outside the entry");
  }
  return b;
}

size_t HoleFillingReader::zeros(MutableBytes buf, uint64_t until) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), until - pos_));
  std::memset(buf.data(), 0, n);
  pos_ += n;
  return n;
}

Result<size_t> HoleFillingReader::read(MutableBytes buf) {
  if (buf.empty()) return size_t{0};
  for (;;) {
    if (!block_.empty()) {
      if (pos_ < block_off_) return zeros(buf, block_off_);  // a hole before the block
      const size_t skip = static_cast<size_t>(pos_ - block_off_);
      const size_t n = std::min(buf.size(), block_.size() - skip);
      std::memcpy(buf.data(), block_.data() + skip, n);
      pos_ += n;
      if (skip + n == block_.size()) block_ = {};
      return n;
    }
    if (end_) {  // a trailing hole
      const uint64_t size = logical_size();
      return pos_ >= size ? size_t{0} : zeros(buf, size);
    }
    DataBlock b = TRY(next_block());
    if (b.data.empty()) {
      end_ = true;
      continue;
    }
    block_ = b.data;
    block_off_ = b.offset;
  }
}

}  // namespace stacksnap::archive
