// `stacksnap backups --target NAME`: rebuild the catalog from what the target holds,
// with only the key (repo::rebuild_from_target); the list itself is printed by the
// backups command (cmd_backup.cpp).
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/target_ops.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "repo/rebuild.h"
#include "repo/repo.h"

namespace stacksnap::cli {

// app::rebuild_catalog, also what the server's "rebuild" job runs.
Result<nlohmann::json> rebuild_catalog_from_target(const Globals& g, const std::string& target,
                                                   const std::string& key_file) {
  auto cat = TRY(open_state(g));
  TRY(cat->get_target(target));
  auto keys = TRY(reading_keys(g, key_file));
  return app::rebuild_catalog(*cat, target, app::default_target_opener(), keys);
}

void print_rebuild_report(const nlohmann::json& r) {
  std::cout << "target " << r["target"].get<std::string>() << ": " << r["sidecars"] << " backups found, "
            << r["added_backups"].size() << " added to the catalog, " << r["added_copies"].size() << " copies added, "
            << r["already_known"] << " already known\n";
  if (r["unfinished_blobs"].get<uint64_t>() > 0) {
    std::cout << "  " << r["unfinished_blobs"] << " blob(s) without a sidecar (unfinished uploads, not listed)\n";
  }
  for (const auto& p : r["problems"]) {
    std::cout << "  SKIPPED " << p["key"].get<std::string>() << ": " << p["message"].get<std::string>() << "\n";
  }
}

}  // namespace stacksnap::cli
