#include "archive/fs_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "base/fd.h"

namespace stacksnap::archive {

namespace {

Result<std::vector<Xattr>> read_xattrs(const std::string& path) {
  std::vector<Xattr> out;
  ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP || errno == ENODATA) return out;
    return errno_error("list xattrs of " + path, errno);
  }
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return errno_error("list xattrs of " + path, errno);
  names.resize(static_cast<size_t>(n));
  for (size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.empty()) continue;
    ssize_t vn = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vn < 0) {
      if (errno == ENODATA) continue;
      return errno_error("read xattr " + name + " of " + path, errno);
    }
    std::string value(static_cast<size_t>(vn), '\0');
    vn = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vn < 0) return errno_error("read xattr " + name + " of " + path, errno);
    value.resize(static_cast<size_t>(vn));
    out.push_back({std::move(name), std::move(value)});
  }
  std::sort(out.begin(), out.end(), [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return out;
}

// Data regions of a file with holes; empty when the file has none.
Result<std::vector<SparseRegion>> sparse_regions(int fd, uint64_t size, const std::string& path) {
  std::vector<SparseRegion> regions;
  off_t pos = 0;
  const auto end = static_cast<off_t>(size);
  while (pos < end) {
    off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole remains
      if (errno == EINVAL) return std::vector<SparseRegion>{};  // no SEEK_DATA support
      return errno_error("seek data in " + path, errno);
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return errno_error("seek hole in " + path, errno);
    hole = std::min(hole, end);
    if (hole > data) regions.push_back({static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)});
    pos = hole;
  }
  if (::lseek(fd, 0, SEEK_SET) < 0) return errno_error("seek in " + path, errno);
  if (regions.size() == 1 && regions[0].offset == 0 && regions[0].length == size) return std::vector<SparseRegion>{};
  if (regions.empty() && size == 0) return regions;
  return regions;
}

// Reads only the data regions; holes read as zeros without touching the disk.
class SparseFileReader final : public Reader {
 public:
  SparseFileReader(int fd, uint64_t size, std::vector<SparseRegion> regions, std::string name)
      : fd_(fd), size_(size), regions_(std::move(regions)), name_(std::move(name)) {}
  Result<size_t> read(MutableBytes buf) override {
    if (pos_ >= size_ || buf.empty()) return size_t{0};
    while (idx_ < regions_.size() && regions_[idx_].offset + regions_[idx_].length <= pos_) ++idx_;
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size_ - pos_));
    if (idx_ == regions_.size() || regions_[idx_].offset > pos_) {
      uint64_t hole_end = idx_ == regions_.size() ? size_ : regions_[idx_].offset;
      size_t n = static_cast<size_t>(std::min<uint64_t>(want, hole_end - pos_));
      std::memset(buf.data(), 0, n);
      pos_ += n;
      return n;
    }
    const auto& r = regions_[idx_];
    size_t n = static_cast<size_t>(std::min<uint64_t>(want, r.offset + r.length - pos_));
    ssize_t got;
    do {
      got = ::pread(fd_, buf.data(), n, static_cast<off_t>(pos_));
    } while (got < 0 && errno == EINTR);
    if (got < 0) return errno_error("read " + name_, errno);
    if (got == 0) return size_t{0};  // the file shrank: the writer reports it
    pos_ += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }

 private:
  int fd_;
  uint64_t size_;
  std::vector<SparseRegion> regions_;
  std::string name_;
  uint64_t pos_ = 0;
  size_t idx_ = 0;
};

// Exactly `size` bytes of a file that may change while it is read: zeros after an early
// end, nothing past `size` (GNU tar's way with live files); says whether either happened.
class ExactSizeReader final : public Reader {
 public:
  ExactSizeReader(Reader& in, uint64_t size, const std::function<void(uint64_t)>& on_bytes, const StopToken& stop)
      : in_(in), size_(size), on_bytes_(on_bytes), stop_(stop) {}
  Result<size_t> read(MutableBytes buf) override {
    if (pos_ >= size_ || buf.empty()) return size_t{0};
    TRY(check_cancel(stop_, "read the tree"));
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size_ - pos_));
    size_t n = 0;
    if (!ended_) {
      n = TRY(in_.read(MutableBytes(buf.data(), want)));
      if (n == 0) {
        ended_ = true;
        short_by_ = size_ - pos_;
      }
    }
    if (ended_) {
      n = want;
      std::memset(buf.data(), 0, n);
    }
    pos_ += n;
    if (on_bytes_) on_bytes_(n);
    if (pos_ == size_ && !ended_) {
      std::byte probe[1];
      auto more = in_.read(MutableBytes(probe, 1));
      grew_ = more.ok() && *more > 0;
    }
    return n;
  }
  uint64_t short_by() const { return short_by_; }
  bool grew() const { return grew_; }

 private:
  Reader& in_;
  uint64_t size_;
  const std::function<void(uint64_t)>& on_bytes_;
  const StopToken& stop_;
  uint64_t pos_ = 0, short_by_ = 0;
  bool ended_ = false, grew_ = false;
};

bool vanished(const Error& e) { return e.code() == Code::kNotFound; }

Result<EntryMeta> entry_from_stat(const std::string& fs_path, const std::string& archive_path, const struct stat& st,
                                  TreeOptions options);

struct Walker {
  EntrySink& sink;
  TreeOptions opts;
  std::string root_path;
  std::map<std::pair<dev_t, ino_t>, std::string> links;  // first archive path stored per inode
  TreeSummary sum;
  bool replaced_ = false;  // filtered_away() stored a replacement (true) or dropped the file

  void changed(const std::string& what) {
    ++sum.changed;
    if (opts.on_change) opts.on_change(what);
  }
  std::string relative(const std::string& fs_path) const {
    return fs_path.size() > root_path.size() ? fs_path.substr(root_path.size() + 1) : std::string();
  }

  Status add(const std::string& fs_path, const std::string& archive_path, bool root) {
    TRY(check_cancel(opts.stop, "read the tree"));
    struct stat st{};
    if (::lstat(fs_path.c_str(), &st) != 0) {
      if (errno == ENOENT && !root) {
        changed(fs_path + " disappeared while the tree was read: left out");
        return {};
      }
      return errno_error("stat " + fs_path, errno);
    }
    if (S_ISSOCK(st.st_mode)) return {};
    auto meta = entry_from_stat(fs_path, archive_path, st, opts);
    if (!meta.ok()) {
      if (vanished(meta.error()) && !root) {
        changed(fs_path + " disappeared while the tree was read: left out");
        return {};
      }
      return std::move(meta).error();
    }
    EntryMeta& m = *meta;
    // Further names of an inode become hard links to the first name that was stored (a
    // first name that vanished or a filter dropped is not one: the next name is stored).
    const bool multi = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
    const std::pair<dev_t, ino_t> inode{st.st_dev, st.st_ino};
    if (multi) {
      if (auto it = links.find(inode); it != links.end()) {
        m.type = EntryType::kHardlink;
        m.link = it->second;
        m.size = 0;
        m.sparse.clear();
        return sink.add_entry(m);
      }
    }
    switch (m.type) {
      case EntryType::kFile: {
        const bool stored = TRY(add_file(fs_path, m, FileIdentity{.inode = static_cast<uint64_t>(st.st_ino),
                                                                  .ctime_sec = st.st_ctim.tv_sec,
                                                                  .ctime_nsec = static_cast<uint32_t>(st.st_ctim.tv_nsec)}));
        if (multi && stored) links.emplace(inode, archive_path);
        return {};
      }
      case EntryType::kDirectory: {
        TRY(sink.add_entry(m));
        DIR* d = ::opendir(fs_path.c_str());
        if (d == nullptr) {
          if (errno == ENOENT && !root) {
            changed(fs_path + " disappeared while the tree was read: kept empty");
            return {};
          }
          return errno_error("open directory " + fs_path, errno);
        }
        std::vector<std::string> names;
        errno = 0;
        while (dirent* de = ::readdir(d)) {
          std::string n = de->d_name;
          if (n != "." && n != "..") names.push_back(std::move(n));
        }
        int err = errno;
        ::closedir(d);
        if (err != 0) return errno_error("read directory " + fs_path, err);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) TRY(add(fs_path + "/" + n, archive_path + "/" + n, false));
        return {};
      }
      default:
        TRY(sink.add_entry(m));
        if (multi) links.emplace(inode, archive_path);
        return {};
    }
  }

  // The filter's decision for a file whose first bytes are `head`; kReplace stores the
  // replacement here (true: the caller stores nothing more).
  Result<bool> filtered_away(const std::string& fs_path, EntryMeta& m, Bytes head) {
    replaced_ = false;
    if (opts.filter == nullptr) return false;
    auto d = TRY(opts.filter->on_file(relative(fs_path), m, head));
    switch (d.action) {
      case TarEntryFilter::Action::kKeep:
        return false;
      case TarEntryFilter::Action::kDrop:
        return true;
      case TarEntryFilter::Action::kReplace: {
        if (d.content == nullptr) return invalid_argument(m.path + ": replacement without content");
        EntryMeta r = m;
        r.size = d.size;
        r.sparse.clear();
        TRY(sink.add_file(r, *d.content));
        replaced_ = true;
        ++sum.files;
        sum.bytes += r.size;
        if (opts.on_bytes) opts.on_bytes(m.size);
        return true;
      }
    }
    return false;
  }

  // Whether the file was stored (false: it vanished, or the filter dropped it).
  Result<bool> add_file(const std::string& fs_path, EntryMeta& m, const FileIdentity& id) {
    if (auto head = TRY(sink.unchanged_head(m, id))) {
      if (TRY(filtered_away(fs_path, m, as_bytes(*head)))) return replaced_;
      TRY(sink.add_unchanged(m, id));
      ++sum.files;
      sum.bytes += m.size;
      ++sum.unchanged_files;
      sum.unchanged_bytes += m.size;
      if (opts.on_bytes) opts.on_bytes(m.size);
      return true;
    }
    auto fd = open_file(fs_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (!fd.ok()) {
      if (vanished(fd.error()) && fs_path != root_path) {
        changed(fs_path + " disappeared while the tree was read: left out");
        return false;
      }
      return std::move(fd).error();
    }
    std::optional<SparseFileReader> sparse;
    std::optional<FdReader> plain;
    Reader* raw = nullptr;
    if (!m.sparse.empty()) raw = &sparse.emplace(fd->get(), m.size, m.sparse, fs_path);
    else raw = &plain.emplace(fd->get(), fs_path);
    ExactSizeReader exact(*raw, m.size, opts.on_bytes, opts.stop);
    std::array<std::byte, kFilterHeadBytes> head{};
    const size_t want = static_cast<size_t>(std::min<uint64_t>(m.size, head.size()));
    if (opts.filter != nullptr) {
      TRY(read_exact(exact, MutableBytes(head.data(), want)));
      if (TRY(filtered_away(fs_path, m, Bytes(head.data(), want)))) return replaced_;
    }
    HeadThenRest content(Bytes(head.data(), opts.filter != nullptr ? want : 0), exact);
    TRY(sink.add_local_file(m, content, id));
    ++sum.files;
    sum.bytes += m.size;
    if (exact.short_by() > 0) {
      changed(fs_path + " shrank by " + std::to_string(exact.short_by()) +
              " bytes while it was read: stored with zeros at its end (a live file; Safe Mode pauses its app)");
    } else if (exact.grew()) {
      changed(fs_path + " grew while it was read: stored with the " + std::to_string(m.size) +
              " bytes it had when listed (a live file; Safe Mode pauses its app)");
    }
    return true;
  }
};

}  // namespace

namespace {

Result<EntryMeta> entry_from_stat(const std::string& fs_path, const std::string& archive_path, const struct stat& st,
                                  TreeOptions options) {
  EntryMeta m;
  m.path = archive_path;
  m.mode = st.st_mode & 07777;
  m.uid = st.st_uid;
  m.gid = st.st_gid;
  m.mtime_sec = st.st_mtim.tv_sec;
  m.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  if (S_ISREG(st.st_mode)) {
    m.type = EntryType::kFile;
    m.size = static_cast<uint64_t>(st.st_size);
    // Fewer allocated blocks than the size needs: look for holes.
    if (static_cast<uint64_t>(st.st_blocks) * 512 < m.size) {
      auto fd = TRY(open_file(fs_path, O_RDONLY | O_NOFOLLOW));
      m.sparse = TRY(sparse_regions(fd.get(), m.size, fs_path));
    }
  } else if (S_ISDIR(st.st_mode)) {
    m.type = EntryType::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    m.type = EntryType::kSymlink;
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    ssize_t n = ::readlink(fs_path.c_str(), target.data(), target.size());
    if (n < 0) return errno_error("readlink " + fs_path, errno);
    target.resize(static_cast<size_t>(n));
    m.link = std::move(target);
  } else if (S_ISFIFO(st.st_mode)) {
    m.type = EntryType::kFifo;
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    m.type = S_ISCHR(st.st_mode) ? EntryType::kCharDevice : EntryType::kBlockDevice;
    m.dev_major = major(st.st_rdev);
    m.dev_minor = minor(st.st_rdev);
  } else if (S_ISSOCK(st.st_mode)) {
    m.type = EntryType::kFifo;  // callers skip sockets; never written
  }
  if (options.xattrs) m.xattrs = TRY(read_xattrs(fs_path));
  return m;
}

}  // namespace

Result<EntryMeta> stat_entry(const std::string& fs_path, const std::string& archive_path, TreeOptions options) {
  struct stat st{};
  if (::lstat(fs_path.c_str(), &st) != 0) return errno_error("stat " + fs_path, errno);
  return entry_from_stat(fs_path, archive_path, st, options);
}

Result<TreeSummary> add_directory_tree(EntrySink& sink, const std::string& dir, std::string_view prefix,
                                       TreeOptions options) {
  auto p = normalize_archive_path(prefix);
  if (!p.ok() || p->empty()) return invalid_argument("bad archive prefix \"" + std::string(prefix) + "\"");
  Walker walker{sink, std::move(options), dir, {}, {}};
  TRY(walker.add(dir, *p, true));
  return walker.sum;
}

}  // namespace stacksnap::archive
