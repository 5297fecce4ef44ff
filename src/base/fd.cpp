#include "base/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

namespace stacksnap {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status UniqueFd::close() {
  if (fd_ < 0) return {};
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0 && errno != EINTR) return errno_error("close", errno);
  return {};
}

Result<UniqueFd> create_scratch_file(const std::string& dir, const std::string& fallback, int mode,
                                     std::string* named_path) {
  named_path->clear();
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return errno_error("create a file in " + dir, errno);
  if (fallback.ends_with("XXXXXX")) {
    std::vector<char> name(fallback.begin(), fallback.end());
    name.push_back('\0');
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return errno_error("create a file in " + dir, errno);
    ::fchmod(fd, static_cast<mode_t>(mode));
    *named_path = name.data();
    return UniqueFd(fd);
  }
  auto f = TRY(open_file(fallback, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  *named_path = fallback;
  return f;
}

Result<UniqueFd> open_file(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error("open " + path, errno);
  return UniqueFd(fd);
}

Result<size_t> FdReader::read(MutableBytes buf) {
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    return errno_error("read " + name_, errno);
  }
}

Status write_all(int fd, Bytes data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + std::string(what), errno);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return {};
}

Status FdWriter::write(Bytes data) { return write_all(fd_, data, name_); }

Status fsync_dir(const std::string& dir) {
  auto fd = TRY(open_file(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return errno_error("fsync " + dir, errno);
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view content, int mode) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::random_device rd;
  std::string tmp = dir + "/." + p.filename().string() + ".tmp" + std::to_string(rd());
  {
    auto fd = TRY(open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return errno_error("chmod " + tmp, e);
    }
    Status st = write_all(fd.get(), as_bytes(content), tmp);
    if (st.ok() && ::fsync(fd.get()) != 0) st = errno_error("fsync " + tmp, errno);
    if (st.ok()) st = fd.close();
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_error("rename " + tmp + " to " + path, e);
  }
  return fsync_dir(dir);
}

Status make_private_dirs(const std::string& root, const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path r = fs::path(root).lexically_normal();
  const fs::path rel = fs::path(dir).lexically_normal().lexically_relative(r);
  if (rel.empty() || *rel.begin() == "..") return invalid_argument(dir + " is not below " + root);
  std::error_code ec;
  if (r.has_parent_path()) fs::create_directories(r.parent_path(), ec);
  auto one = [](const fs::path& p) -> Status {
    if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create " + p.string(), errno);
    if (::chmod(p.c_str(), 0700) != 0) return errno_error("make " + p.string() + " private", errno);
    return {};
  };
  fs::path cur = r;
  TRY(one(cur));
  if (rel == ".") return {};
  for (const auto& part : rel) {
    cur /= part;
    TRY(one(cur));
  }
  return {};
}

Result<std::string> read_small_file(const std::string& path, size_t limit) {
  auto fd = TRY(open_file(path, O_RDONLY));
  FdReader r(fd.get(), path);
  return TRY_CTX(read_all(r, limit), "read " + path);
}

}  // namespace stacksnap
