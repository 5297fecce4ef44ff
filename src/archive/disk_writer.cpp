#include "archive/disk_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <span>

#include "archive/libarchive_util.h"

namespace stacksnap::archive {

namespace {

constexpr size_t kHoleBlock = 64 * 1024;

bool all_zero(std::span<const std::byte> d) {
  return std::all_of(d.begin(), d.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

namespace {
mode_t filetype_for(EntryType t) {
  switch (t) {
    case EntryType::kFile:
    case EntryType::kHardlink: return AE_IFREG;
    case EntryType::kDirectory: return AE_IFDIR;
    case EntryType::kSymlink: return AE_IFLNK;
    case EntryType::kFifo: return AE_IFIFO;
    case EntryType::kCharDevice: return AE_IFCHR;
    case EntryType::kBlockDevice: return AE_IFBLK;
  }
  return AE_IFREG;
}
}  // namespace

void fill_entry(::archive_entry* e, const EntryMeta& m) {
  archive_entry_clear(e);
  archive_entry_copy_pathname(e, m.path.c_str());
  archive_entry_set_filetype(e, filetype_for(m.type));
  archive_entry_set_perm(e, m.mode & 07777);
  archive_entry_set_uid(e, m.uid);
  archive_entry_set_gid(e, m.gid);
  archive_entry_set_mtime(e, m.mtime_sec, m.mtime_nsec);
  if (m.type == EntryType::kSymlink) archive_entry_copy_symlink(e, m.link.c_str());
  if (m.type == EntryType::kHardlink) archive_entry_copy_hardlink(e, m.link.c_str());
  if (m.type == EntryType::kCharDevice || m.type == EntryType::kBlockDevice) {
    archive_entry_set_rdevmajor(e, m.dev_major);
    archive_entry_set_rdevminor(e, m.dev_minor);
  }
  for (const auto& x : m.xattrs) archive_entry_xattr_add_entry(e, x.name.c_str(), x.value.data(), x.value.size());
}

DiskWriter::DiskWriter(DiskWriterOptions o) : verb_(std::move(o.verb)) {
  Utf8Locale loc;
  a_ = archive_write_disk_new();
  e_ = archive_entry_new();
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (o.owner) flags |= ARCHIVE_EXTRACT_OWNER;
  if (o.xattrs) flags |= ARCHIVE_EXTRACT_XATTR;
  if (o.secure_symlinks) flags |= ARCHIVE_EXTRACT_SECURE_SYMLINKS;
  archive_write_disk_set_options(a_, flags);
}

DiskWriter::~DiskWriter() {
  if (e_) archive_entry_free(e_);
  if (a_) archive_write_free(a_);
}

Status DiskWriter::write(const EntryMeta& m, EntrySource* r, bool is_stream, uint64_t& bytes) {
  Utf8Locale loc;
  fill_entry(e_, m);
  if (m.type == EntryType::kFile && is_stream) archive_entry_unset_size(e_);
  else if (m.type == EntryType::kFile) archive_entry_set_size(e_, static_cast<la_int64_t>(m.size));
  else archive_entry_set_size(e_, 0);
  TRY(check(archive_write_header(a_, e_), m.path));
  if (m.type == EntryType::kFile && r != nullptr) {
    for (;;) {
      ContentBlock b = TRY(r->read_block());
      if (b.data.empty()) break;
      // Zero runs become holes; the file's size is set when the entry finishes (known
      // sizes only: a stream's trailing zeros would otherwise be lost).
      for (size_t off = 0; off < b.data.size(); off += kHoleBlock) {
        size_t len = std::min(kHoleBlock, b.data.size() - off);
        auto piece = b.data.subspan(off, len);
        if (!is_stream && len == kHoleBlock && all_zero(piece)) continue;
        la_ssize_t n =
            archive_write_data_block(a_, piece.data(), piece.size(), static_cast<la_int64_t>(b.offset + off));
        if (n < ARCHIVE_WARN) return error("write " + m.path);
      }
      bytes += b.data.size();
    }
  }
  return check(archive_write_finish_entry(a_), m.path);
}

Status DiskWriter::close() {
  Utf8Locale loc;
  return check(archive_write_close(a_), "directory metadata");
}

Error DiskWriter::error(const std::string& what) {
  const char* msg = archive_error_string(a_);
  int err = archive_errno(a_);
  std::string text = what + ": " + (msg ? msg : "libarchive error");
  if (err == ENOSPC || err == EDQUOT) return resource_exhausted(text);
  if (err == EACCES || err == EPERM) return permission_denied(text);
  return internal_error(text);
}

Status DiskWriter::check(int rc, const std::string& what) {
  if (rc == ARCHIVE_OK) return {};
  if (rc == ARCHIVE_WARN) {
    const char* msg = archive_error_string(a_);
    if (warnings_.size() < 20) warnings_.push_back(what + ": " + (msg ? msg : "warning"));
    return {};
  }
  return error(verb_ + " " + what);
}

}  // namespace stacksnap::archive
