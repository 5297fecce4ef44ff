#include "app/state.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>

#include "app/targets.h"

namespace stacksnap::app {

Status prepare_data_dir(const std::string& dir, const Note& note) {
  if (dir.empty()) return invalid_argument("the data directory is empty (--data-dir)");
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error("data directory " + dir, errno);
    std::filesystem::path p(dir);
    std::error_code ec;
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return errno_error("create " + p.parent_path().string(), ec.value());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create data directory " + dir, errno);
    return {};
  }
  if (!S_ISDIR(st.st_mode)) return failed_precondition("data directory " + dir + " is not a directory");
  if ((st.st_mode & 077) == 0) return {};
  if (::chmod(dir.c_str(), 0700) != 0) return errno_error("make data directory " + dir + " private (chmod 0700)", errno);
  if (note) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    note("data directory " + dir + " was mode " + mode +
         "; changed to 0700 (it holds the master key, storage credentials and the state database)");
  }
  return {};
}

void note_migration(const catalog::Catalog& cat, const Note& note) {
  const auto& schema = cat.schema();
  if (!schema.migrated() || !note) return;
  note("state database upgraded from schema " + std::to_string(schema.found) + " to " + std::to_string(schema.version) +
       "; the one before is kept as " + schema.backup_path + " (for an older StackSnap)");
}

Result<std::unique_ptr<catalog::Catalog>> open_state(const std::string& data_dir, const Note& note) {
  TRY(prepare_data_dir(data_dir, note));
  auto cat = TRY_CTX(catalog::Catalog::open(data_dir + "/state.db"), "open the state database");
  note_migration(*cat, note);
  TRY_CTX(migrate_inline_secrets(*cat, data_dir, note), "move stored secrets into " + secrets_dir(data_dir));
  return cat;
}

}  // namespace stacksnap::app
