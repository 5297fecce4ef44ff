#include "base/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace stacksnap {

Result<TempDir> TempDir::create(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return errno_error("create temporary directory in " + parent, errno);
  return TempDir(std::string(buf.data()));
}

TempDir::TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    (void)remove();
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}
TempDir::~TempDir() { (void)remove(); }

Status TempDir::remove() {
  if (path_.empty()) return {};
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  std::string p = std::exchange(path_, {});
  if (ec) return errno_error("remove " + p, ec.value());
  return {};
}

std::string TempDir::release() { return std::exchange(path_, {}); }

}  // namespace stacksnap
