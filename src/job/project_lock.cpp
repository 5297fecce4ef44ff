#include "job/project_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace stacksnap::job {

Result<ProjectLock> ProjectLock::acquire(const std::string& data_dir, const std::string& project,
                                         const std::string& what, const std::string& detail) {
  std::string dir = data_dir + "/locks";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_error("create " + dir, ec.value());
  std::string safe;
  for (unsigned char c : project) safe += (std::isalnum(c) || c == '-' || c == '_' || c == '.') ? static_cast<char>(c) : '_';
  auto fd = TRY(open_file(dir + "/" + safe + ".lock", O_RDWR | O_CREAT, 0600));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      // The holder wrote what it runs into the file: "<what>\n<detail>".
      char buf[256] = {};
      ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
      std::string running = n > 0 ? std::string(buf, static_cast<size_t>(n)) : what;
      std::string holder;
      if (size_t nl = running.find('\n'); nl != std::string::npos) {
        holder = running.substr(nl + 1);
        running.resize(nl);
      }
      return failed_precondition("a " + running + " of " + project + " is already running" +
                                 (holder.empty() ? "" : " (" + holder + ")") + "; try again when it has finished");
    }
    return errno_error("lock " + dir + "/" + safe + ".lock", errno);
  }
  const std::string note = what + "\n" + detail;
  if (::ftruncate(fd.get(), 0) == 0) (void)!::pwrite(fd.get(), note.data(), note.size(), 0);
  return ProjectLock(std::move(fd));
}

}  // namespace stacksnap::job
