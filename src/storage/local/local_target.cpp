#include "storage/local/local_target.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "base/fd.h"

namespace stacksnap::storage {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kUploadMarker = ".upload-";

bool is_upload_tmp(const std::string& name) {
  return !name.empty() && name[0] == '.' && name.find(kUploadMarker) != std::string::npos;
}

Status mkdirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errno_error("create directory " + dir, ec.value());
  return {};
}

class LocalUpload final : public Upload {
 public:
  LocalUpload(UniqueFd fd, std::string tmp, std::string final_path, std::string dir)
      : fd_(std::move(fd)), tmp_(std::move(tmp)), final_(std::move(final_path)), dir_(std::move(dir)) {}
  ~LocalUpload() override { abort(); }

  Status write(Bytes data) override {
    if (!fd_.valid()) return failed_precondition("upload of " + final_ + " is already closed");
    Status st = write_all(fd_.get(), data, final_);
    if (!st.ok()) return st;
    written_ += data.size();
    return {};
  }

  Status commit() override {
    if (!fd_.valid()) return failed_precondition("upload of " + final_ + " is already closed");
    if (::fsync(fd_.get()) != 0) return errno_error("fsync " + tmp_, errno);
    TRY(fd_.close());
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) return errno_error("rename " + tmp_ + " to " + final_, errno);
    tmp_.clear();
    return fsync_dir(dir_);
  }

  void abort() override {
    fd_.reset();
    if (!tmp_.empty()) {
      ::unlink(tmp_.c_str());
      tmp_.clear();
    }
  }

  uint64_t bytes_written() const override { return written_; }

  // The first `size` bytes of the file open as `src` (from offset 0), copied inside the
  // kernel (copy_file_range: no trip through user memory; a reflink where the file system
  // can) in 64 MiB steps that report progress. False, with nothing copied, when the kernel
  // cannot copy between these two files.
  Result<bool> copy_in_kernel(int src, uint64_t size, const std::function<Status(uint64_t)>& progress) {
    constexpr uint64_t kStep = 64ull << 20;
    off64_t in_off = 0;
    while (static_cast<uint64_t>(in_off) < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kStep, size - static_cast<uint64_t>(in_off)));
      ssize_t n = ::copy_file_range(src, &in_off, fd_.get(), nullptr, want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && in_off == 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        return false;
      }
      if (n < 0) return errno_error("copy into " + tmp_, errno);
      if (n == 0) {
        return data_loss("the file to store as " + final_ + " ended at " + std::to_string(in_off) + " bytes, " +
                         std::to_string(size) + " were announced (was it changed meanwhile?)");
      }
      written_ += static_cast<uint64_t>(n);
      if (progress) TRY(progress(static_cast<uint64_t>(in_off)));
    }
    return true;
  }

 private:
  UniqueFd fd_;
  std::string tmp_, final_, dir_;
  uint64_t written_ = 0;
};

class RangeReader final : public Reader {
 public:
  RangeReader(UniqueFd fd, std::string name, std::optional<uint64_t> left)
      : fd_(std::move(fd)), name_(std::move(name)), left_(left) {}
  Result<size_t> read(MutableBytes buf) override {
    size_t want = buf.size();
    if (left_) want = static_cast<size_t>(std::min<uint64_t>(want, *left_));
    if (want == 0) return size_t{0};
    FdReader r(fd_.get(), name_);
    size_t n = TRY(r.read(buf.first(want)));
    if (left_) *left_ -= n;
    return n;
  }

 private:
  UniqueFd fd_;
  std::string name_;
  std::optional<uint64_t> left_;
};

SystemTime mtime_of(const struct stat& st) {
  return SystemTime(std::chrono::seconds(st.st_mtim.tv_sec)) +
         std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(st.st_mtim.tv_nsec));
}

}  // namespace

Result<std::unique_ptr<LocalTarget>> LocalTarget::create(const std::string& root) {
  if (root.empty() || root[0] != '/') return invalid_argument("local target path must be absolute: '" + root + "'");
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  std::error_code ec;
  if (!fs::exists(r, ec)) {
    TRY(mkdirs(r));
    ::chmod(r.c_str(), 0700);
  } else if (!fs::is_directory(r, ec)) {
    return invalid_argument("local target path is not a directory: " + r);
  }
  return std::unique_ptr<LocalTarget>(new LocalTarget(r));
}

Result<std::unique_ptr<Upload>> LocalTarget::put(const std::string& key, uint64_t) {
  TRY(validate_key(key));
  std::string final_path = path_of(key);
  fs::path p(final_path);
  std::string dir = p.parent_path().string();
  TRY(mkdirs(dir));
  std::string tmpl = dir + "/." + p.filename().string() + std::string(kUploadMarker) + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return errno_error("create upload file in " + dir, errno);
  ::fchmod(fd, 0600);
  return std::unique_ptr<Upload>(new LocalUpload(UniqueFd(fd), buf.data(), final_path, dir));
}

Status LocalTarget::put_file(const std::string& key, int fd, uint64_t size, const PutFileOptions& opts) {
  auto up = TRY(put(key, size));
  if (TRY(static_cast<LocalUpload&>(*up).copy_in_kernel(fd, size, opts.progress))) return up->commit();
  up.reset();                                     // aborted: nothing was copied
  return Target::put_file(key, fd, size, opts);  // read/write through put()
}

Result<std::unique_ptr<Reader>> LocalTarget::get(const std::string& key, GetRange range) {
  TRY(validate_key(key));
  std::string path = path_of(key);
  auto fd = TRY(open_file(path, O_RDONLY));
  if (range.offset > 0 && ::lseek(fd.get(), static_cast<off_t>(range.offset), SEEK_SET) < 0) {
    return errno_error("seek " + path, errno);
  }
  return std::unique_ptr<Reader>(new RangeReader(std::move(fd), path, range.length));
}

Result<ObjectInfo> LocalTarget::stat(const std::string& key) {
  TRY(validate_key(key));
  struct stat st{};
  std::string path = path_of(key);
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return not_found(path + " is not a regular file");
  return ObjectInfo{key, static_cast<uint64_t>(st.st_size), mtime_of(st)};
}

Status LocalTarget::list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> found;
  std::error_code ec;
  // Walk only the directory part of the prefix.
  std::string dir_part = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
  std::string start = dir_part.empty() ? root_ : root_ + "/" + dir_part;
  if (!fs::exists(start, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(start, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string name = it->path().filename().string();
    if (is_upload_tmp(name)) continue;
    std::string key = it->path().string().substr(root_.size() + 1);
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    struct stat st{};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    found.push_back({key, static_cast<uint64_t>(st.st_size), mtime_of(st)});
  }
  if (ec) return errno_error("list " + start, ec.value());
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  for (const auto& o : found) TRY(fn(o));
  return {};
}

Status LocalTarget::remove(const std::string& key) {
  TRY(validate_key(key));
  std::string path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path, errno);
  return {};
}

Result<int> LocalTarget::cleanup_stale(std::chrono::seconds older_than) {
  int n = 0;
  std::error_code ec;
  auto cutoff = std::chrono::system_clock::now() - older_than;
  for (auto it = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || !is_upload_tmp(it->path().filename().string())) continue;
    struct stat st{};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    if (mtime_of(st) > cutoff) continue;
    if (::unlink(it->path().c_str()) == 0) ++n;
  }
  return n;
}

}  // namespace stacksnap::storage
