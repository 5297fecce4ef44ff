#include "backup/sqlite_capture.h"

#include "archive/verify.h"
#include "sqlite/detect.h"

namespace stacksnap::backup {

SqliteCapture::SqliteCapture(SqliteCaptureOptions options, job::Context& ctx, std::string what, std::string step)
    : o_(std::move(options)), ctx_(ctx), what_(std::move(what)), step_(std::move(step)) {}

std::string sqlite_fallback_reason(const SqliteCaptureOptions& o, std::string_view relative) {
  std::vector<std::string> seen_as;
  for (const auto& r : o.container_roots) seen_as.push_back(relative.empty() ? r : r + "/" + std::string(relative));
  auto p = sqlite::matching_pattern(o.exclude, relative, seen_as);
  if (p && !sqlite::matching_pattern(o.include, relative, seen_as)) {
    return "excluded by the label " + std::string(sqlite::kLabelExclude) + " (pattern \"" + *p + "\")";
  }
  if (o.tree.path.empty()) return o.tree.reason;
  if (relative.empty()) {
    return "the bind mount is the database file itself: its -wal and -journal are written in the container, "
           "not beside the host file (bind-mount the directory instead)";
  }
  return "";
}

Result<archive::TarEntryFilter::Decision> SqliteCapture::on_file(std::string_view relative,
                                                                 const archive::EntryMeta& meta, Bytes head) {
  current_.reset();  // the previous replacement has been written
  if (auto base = sqlite::companion_of(relative); base && replaced_.count(*base)) {
    return Decision{.action = Action::kDrop};
  }
  if (meta.size < sqlite::kMinDatabaseBytes || !sqlite::has_header(head)) return Decision{};

  const std::string shown = (relative.empty() ? std::string("(the file itself)") : std::string(relative)) + " in " + what_;
  sqlite::DatabaseFacts files{.path = std::string(relative), .mechanism = std::string(sqlite::kMechanismFiles)};
  files.reason = sqlite_fallback_reason(o_, relative);
  if (files.reason.empty()) {
    auto snap = sqlite::Snapshot::take(o_.tree.path, std::string(relative),
                                       {.scratch_dir = o_.scratch_dir, .busy_timeout = o_.busy_timeout}, ctx_.stop());
    if (snap.ok()) {
      current_ = std::move(*snap);
      const auto& f = current_->facts();
      found_.push_back(f);
      replaced_.insert(std::string(relative));
      ctx_.info("SQLite " + shown + ": online backup (" + f.journal_mode + "), " + human_bytes(f.bytes) +
                    ", " + std::to_string(f.tables.size()) + " table(s); read lock " +
                    (f.lock_wait_ms > 0 ? "after " + std::to_string(f.lock_wait_ms) + " ms, " : std::string()) +
                    "held " + std::to_string(f.read_lock_ms) + " ms" +
                    (f.journal_mode == "rollback" ? " (the app's writers waited at most that long)" : "") + "; " +
                    std::to_string(f.capture_ms) + " ms in all",
                step_);
      if (!f.counts_error.empty()) ctx_.warn("SQLite " + shown + ": rows not counted: " + f.counts_error, step_);
      return Decision{.action = Action::kReplace, .size = current_->size(), .content = &current_->content()};
    }
    if (snap.error().code() == Code::kCancelled) return std::move(snap).error();
    files.reason = "the snapshot failed: " + snap.error().message();
  }
  if (o_.apps_paused) {
    ctx_.info("SQLite " + shown + " captured as plain files while its app is paused (Safe Mode): " + files.reason,
              step_);
  } else {
    ctx_.warn("SQLite " + shown + " captured as plain files (consistent only with Safe Mode): " + files.reason, step_);
  }
  found_.push_back(std::move(files));
  return Decision{};
}

nlohmann::json SqliteCapture::manifest_extra() const {
  if (found_.empty()) return nlohmann::json::object();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : found_) list.push_back(f.to_json());
  return {{"sqlite", list}};
}

}  // namespace stacksnap::backup
