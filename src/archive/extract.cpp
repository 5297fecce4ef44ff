#include "archive/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <span>

#include "archive/reader.h"
#include "base/fd.h"

namespace stacksnap::archive {

namespace {

constexpr size_t kHoleBlock = 64 * 1024;

bool all_zero(std::span<const std::byte> d) {
  for (std::byte b : d) {
    if (b != std::byte{0}) return false;
  }
  return true;
}


mode_t filetype_for(EntryType t) {
  switch (t) {
    case EntryType::kDirectory: return AE_IFDIR;
    case EntryType::kSymlink: return AE_IFLNK;
    case EntryType::kFifo: return AE_IFIFO;
    case EntryType::kCharDevice: return AE_IFCHR;
    case EntryType::kBlockDevice: return AE_IFBLK;
    default: return AE_IFREG;
  }
}

class Utf8Locale {
 public:
  Utf8Locale() {
    static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (loc != static_cast<locale_t>(nullptr)) old_ = uselocale(loc);
  }
  ~Utf8Locale() {
    if (old_ != static_cast<locale_t>(nullptr)) uselocale(old_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t old_ = static_cast<locale_t>(nullptr);
};

Result<std::string> prepare_out_dir(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error("stat " + dir, errno);
    if (::mkdir(dir.c_str(), 0700) != 0) return errno_error("create " + dir, errno);
  } else {
    if (!S_ISDIR(st.st_mode)) return failed_precondition(dir + " exists and is not a directory");
    std::error_code ec;
    if (!std::filesystem::is_empty(dir, ec) || ec) {
      return failed_precondition("output directory " + dir + " is not empty (extract refuses to merge)");
    }
  }
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr) return errno_error("resolve " + dir, errno);
  return std::string(real);
}

class DiskWriter {
 public:
  DiskWriter(std::string root, const ExtractOptions& o) : root_(std::move(root)) {
    Utf8Locale loc;
    a_ = archive_write_disk_new();
    e_ = archive_entry_new();
    int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (o.restore_owner) flags |= ARCHIVE_EXTRACT_OWNER;
    if (o.restore_xattrs) flags |= ARCHIVE_EXTRACT_XATTR;
    archive_write_disk_set_options(a_, flags);
  }
  ~DiskWriter() {
    if (e_) archive_entry_free(e_);
    if (a_) archive_write_free(a_);
  }
  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  Status write_entry(const Entry& entry, ArchiveReader& r, ExtractSummary& sum) {
    Utf8Locale loc;
    const EntryMeta& m = entry.meta;
    archive_entry_clear(e_);
    archive_entry_copy_pathname(e_, (root_ + "/" + m.path).c_str());
    archive_entry_set_filetype(e_, filetype_for(m.type));
    archive_entry_set_perm(e_, m.mode & 07777);
    archive_entry_set_uid(e_, m.uid);
    archive_entry_set_gid(e_, m.gid);
    archive_entry_set_mtime(e_, m.mtime_sec, m.mtime_nsec);
    if (m.type == EntryType::kSymlink) archive_entry_copy_symlink(e_, m.link.c_str());
    if (m.type == EntryType::kHardlink) archive_entry_copy_hardlink(e_, (root_ + "/" + m.link).c_str());
    if (m.type == EntryType::kFile) {
      if (entry.is_stream) archive_entry_unset_size(e_);
      else archive_entry_set_size(e_, static_cast<la_int64_t>(m.size));
    } else {
      archive_entry_set_size(e_, 0);
    }
    for (const auto& x : m.xattrs) archive_entry_xattr_add_entry(e_, x.name.c_str(), x.value.data(), x.value.size());
    TRY(check(archive_write_header(a_, e_), m.path, sum));
    if (m.type == EntryType::kFile) {
      for (;;) {
        ContentBlock b = TRY(r.read_block());
        if (b.data.empty()) break;
        // Runs of zeros become holes (the Engine's tar of a sparse file carries no sparse
        // map, so this is how sparse files come back sparse); the file's size is set at
        // the end of the entry.
        for (size_t off = 0; off < b.data.size(); off += kHoleBlock) {
          size_t len = std::min(kHoleBlock, b.data.size() - off);
          auto piece = b.data.subspan(off, len);
          if (!entry.is_stream && len == kHoleBlock && all_zero(piece)) continue;
          la_ssize_t n = archive_write_data_block(a_, piece.data(), piece.size(),
                                                  static_cast<la_int64_t>(b.offset + off));
          if (n < ARCHIVE_WARN) return error("write " + m.path);
        }
        sum.bytes += b.data.size();
      }
      ++sum.files;
    }
    TRY(check(archive_write_finish_entry(a_), m.path, sum));
    ++sum.entries;
    return {};
  }

  Status close(ExtractSummary& sum) {
    Utf8Locale loc;
    return check(archive_write_close(a_), "directory metadata", sum);
  }

 private:
  Error error(const std::string& what) {
    const char* msg = archive_error_string(a_);
    int err = archive_errno(a_);
    std::string text = what + ": " + (msg ? msg : "libarchive error");
    if (err == ENOSPC || err == EDQUOT) return resource_exhausted(text);
    if (err == EACCES || err == EPERM) return permission_denied(text);
    return internal_error(text);
  }
  Status check(int rc, const std::string& what, ExtractSummary& sum) {
    if (rc == ARCHIVE_OK) return {};
    if (rc == ARCHIVE_WARN) {
      if (sum.warnings.size() < 20) {
        const char* msg = archive_error_string(a_);
        sum.warnings.push_back(what + ": " + (msg ? msg : "warning"));
      }
      return {};
    }
    return error("extract " + what);
  }

  std::string root_;
  struct archive* a_ = nullptr;
  struct archive_entry* e_ = nullptr;
};

Status write_small(const std::string& path, std::string_view text) {
  auto fd = TRY(open_file(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
  TRY(write_all(fd.get(), as_bytes(text), path));
  return fd.close();
}

Result<ExtractSummary> extract_pass(Reader& in, const seal::KeySource& keys, const std::string& root,
                                    const ExtractOptions& o) {
  // stacksnap/ holds the plan now and the manifest as it streams by.
  const std::string meta_dir = root + "/stacksnap";
  if (::mkdir(meta_dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create " + meta_dir, errno);
  auto mfd = TRY(open_file(meta_dir + "/manifest.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
  FdWriter manifest_out(mfd.get(), meta_dir + "/manifest.json");
  auto reader = TRY(ArchiveReader::open(in, keys, {.manifest_copy = &manifest_out}));
  TRY(write_small(meta_dir + "/plan.json", reader->plan_text()));
  ExtractGuard guard;
  DiskWriter disk(root, o);
  ExtractSummary sum;
  for (;;) {
    TRY(check_cancel(o.stop, "extract"));
    const Entry* e = TRY(reader->next());
    if (e == nullptr) break;
    TRY(guard.check(e->meta));
    TRY(disk.write_entry(*e, *reader, sum));
  }
  TRY(disk.close(sum));
  TRY(mfd.close());
  return sum;
}

}  // namespace

Status ExtractGuard::check_path(const std::string& path, const std::string& what) const {
  auto norm = normalize_archive_path(path);
  if (path.empty() || path[0] == '/' || !norm.ok() || *norm != path) {
    return invalid_argument("refusing to extract " + what + " \"" + path +
                            "\": not a plain relative path (absolute, \"..\" or unnormalised)");
  }
  if (path == "stacksnap" || path.rfind("stacksnap/", 0) == 0) {
    return invalid_argument("refusing to extract " + what + " \"" + path + "\": reserved for StackSnap's records");
  }
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    if (symlinks_.count(path.substr(0, i))) {
      return invalid_argument("refusing to extract " + what + " \"" + path + "\": it lies beneath the symlink \"" +
                              path.substr(0, i) + "\" from the same archive");
    }
  }
  return {};
}

Status ExtractGuard::check(const EntryMeta& m) {
  TRY(check_path(m.path, "entry"));
  if (m.type == EntryType::kCharDevice || m.type == EntryType::kBlockDevice) {
    return invalid_argument("refusing to extract device node \"" + m.path + "\"");
  }
  if (m.type == EntryType::kHardlink) {
    TRY(check_path(m.link, "the target of hardlink " + m.path + ":"));
    if (symlinks_.count(m.link)) {
      return invalid_argument("refusing to extract hardlink \"" + m.path + "\" to the symlink \"" + m.link + "\"");
    }
  }
  if (m.type == EntryType::kSymlink) symlinks_.insert(m.path);
  return {};
}

Result<ExtractSummary> extract_archive_file(const std::string& archive_path, const seal::KeySource& keys,
                                            const std::string& out_dir, const ExtractOptions& options) {
  if (options.mode == ExtractMode::kVerifyFirst) {
    // Pass 1: authenticate everything and run the safety checks; nothing is written.
    auto fd = TRY(open_file(archive_path, O_RDONLY));
    FdReader in(fd.get(), archive_path);
    auto reader = TRY(ArchiveReader::open(in, keys));
    ExtractGuard guard;
    for (;;) {
      TRY(check_cancel(options.stop, "extract"));
      const Entry* e = TRY(reader->next());
      if (e == nullptr) break;
      TRY(guard.check(e->meta));
    }
  }
  std::string root = TRY(prepare_out_dir(out_dir));
  auto fd = TRY(open_file(archive_path, O_RDONLY));
  FdReader in(fd.get(), archive_path);
  return extract_pass(in, keys, root, options);
}

Result<ExtractSummary> extract_archive_stream(Reader& in, const seal::KeySource& keys, const std::string& out_dir,
                                              const ExtractOptions& options) {
  std::string root = TRY(prepare_out_dir(out_dir));
  return extract_pass(in, keys, root, options);
}

}  // namespace stacksnap::archive
