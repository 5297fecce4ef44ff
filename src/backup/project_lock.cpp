#include "backup/project_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace stacksnap::backup {

Result<ProjectLock> ProjectLock::acquire(const std::string& data_dir, const std::string& project,
                                         const std::string& what) {
  std::string dir = data_dir + "/locks";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_error("create " + dir, ec.value());
  std::string safe;
  for (unsigned char c : project) safe += (std::isalnum(c) || c == '-' || c == '_' || c == '.') ? static_cast<char>(c) : '_';
  auto fd = TRY(open_file(dir + "/" + safe + ".lock", O_RDWR | O_CREAT, 0600));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      // The holder wrote what it runs into the file.
      char buf[64] = {};
      ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
      std::string running = n > 0 ? std::string(buf, static_cast<size_t>(n)) : what;
      return failed_precondition("a " + running + " of " + project + " is already running");
    }
    return errno_error("lock " + dir + "/" + safe + ".lock", errno);
  }
  if (::ftruncate(fd.get(), 0) == 0) (void)!::pwrite(fd.get(), what.data(), what.size(), 0);
  return ProjectLock(std::move(fd));
}

}  // namespace stacksnap::backup
