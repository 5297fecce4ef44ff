// A StackSnap data dir with a key and a local target, and the CLI run against it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/temp_dir.h"
#include "test_env.h"

namespace stacksnap::it {

struct CliRun {
  int exit_code = -1;
  std::string out;                     // stdout (and stderr when merged)
  std::string err;                     // stderr
  std::vector<nlohmann::json> events;  // parsed JSON lines of stdout
  nlohmann::json summary;              // the last "summary" event, or null
  double seconds = 0;                  // wall time
  // The failure text: the summary's message (--json) and stderr.
  std::string message() const { return (summary.is_null() ? "" : summary.value("message", "")) + "\n" + err; }
};

// Runs `stacksnap --data-dir DATA_DIR ARGS`, stdout and stderr kept apart, JSON lines parsed.
CliRun run_stacksnap(const std::string& data_dir, const std::string& args);

class BackupBed {
 public:
  // data dir under `parent` (default /var/tmp), `stacksnap key init`, a local target "local"
  // of `format`: "archive" (tests that look at or damage the stored blob and its sidecar)
  // or "repository" (the default of `target add`).
  static Result<std::unique_ptr<BackupBed>> create(const std::string& parent = "/var/tmp",
                                                   const std::string& format = "archive");
  const std::string& data_dir() const { return data_.path(); }
  std::string store_dir() const { return store_.path(); }
  // Runs `stacksnap --data-dir D <args>`; stderr is appended to `out` too unless `err` is given.
  CliRun run(const std::string& args, std::string* err = nullptr) const;
  // `backup PROJECT --json <extra>`: events parsed.
  CliRun backup(const std::string& project, const std::string& extra = "") const;
  // Extracts a backup's blob (from the local target) into a new directory; returns it.
  Result<std::string> extract(const std::string& backup_id) const;
  std::string blob_path(const std::string& backup_id) const;

 private:
  BackupBed(TempDir data, TempDir store) : data_(std::move(data)), store_(std::move(store)) {}
  TempDir data_, store_;
  mutable int extracts_ = 0;
};

// Rewrites backup `id` (on the bed's local target) entry by entry through the archive
// library with `dump_path` cut to half its length, seals it with the same key as a new
// backup (plan and sealed catalog record carry the new ID) and stores blob and sidecar on
// the target, as the backup pipeline does. Returns the new ID: a backup that verifies but
// whose dump cannot be replayed.
Result<std::string> store_with_broken_dump(const BackupBed& bed, const std::string& id, const std::string& dump_path);
// The same with any entry (a file or a dump) changed by `change` (its new content is
// what `change` leaves in the string; the entry may be up to 256 MiB).
Result<std::string> store_with_changed_entry(const BackupBed& bed, const std::string& id, const std::string& path,
                                             const std::function<Status(std::string&)>& change);

std::string read_text(const std::string& path);
bool contains(const std::string& hay, const std::string& needle);
// 'text' for sh -c (single quotes, embedded ones escaped).
std::string sh_quote(const std::string& s);
// Without trailing newlines, carriage returns and spaces.
std::string trimmed(std::string s);
// A CLI run for a failure message: exit code, stderr, summary, and its error, drill,
// restore and (non-debug) log events.
std::string describe(const CliRun& r);

}  // namespace stacksnap::it
