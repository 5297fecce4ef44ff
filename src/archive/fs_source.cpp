#include "archive/fs_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
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

struct Walker {
  ArchiveWriter& w;
  TreeOptions opts;
  std::map<std::pair<dev_t, ino_t>, std::string> links;  // first archive path per inode

  Status add(const std::string& fs_path, const std::string& archive_path) {
    EntryMeta m = TRY(stat_entry(fs_path, archive_path, opts));
    struct stat st{};
    if (::lstat(fs_path.c_str(), &st) != 0) return errno_error("stat " + fs_path, errno);
    if (S_ISSOCK(st.st_mode)) return {};
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, fresh] = links.try_emplace({st.st_dev, st.st_ino}, archive_path);
      if (!fresh) {
        m.type = EntryType::kHardlink;
        m.link = it->second;
        m.size = 0;
        m.sparse.clear();
        return w.add_entry(m);
      }
    }
    switch (m.type) {
      case EntryType::kFile: {
        auto fd = TRY(open_file(fs_path, O_RDONLY | O_NOFOLLOW));
        if (!m.sparse.empty()) {
          SparseFileReader r(fd.get(), m.size, m.sparse, fs_path);
          return w.add_file(m, r);
        }
        FdReader r(fd.get(), fs_path);
        return w.add_file(m, r);
      }
      case EntryType::kDirectory: {
        TRY(w.add_entry(m));
        DIR* d = ::opendir(fs_path.c_str());
        if (d == nullptr) return errno_error("open directory " + fs_path, errno);
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
        for (const auto& n : names) TRY(add(fs_path + "/" + n, archive_path + "/" + n));
        return {};
      }
      default:
        return w.add_entry(m);
    }
  }
};

}  // namespace

Result<EntryMeta> stat_entry(const std::string& fs_path, const std::string& archive_path, TreeOptions options) {
  struct stat st{};
  if (::lstat(fs_path.c_str(), &st) != 0) return errno_error("stat " + fs_path, errno);
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

Status add_directory_tree(ArchiveWriter& writer, const std::string& dir, std::string_view prefix,
                          TreeOptions options) {
  auto p = normalize_archive_path(prefix);
  if (!p.ok() || p->empty()) return invalid_argument("bad archive prefix \"" + std::string(prefix) + "\"");
  Walker walker{writer, options, {}};
  return walker.add(dir, *p);
}

}  // namespace stacksnap::archive
