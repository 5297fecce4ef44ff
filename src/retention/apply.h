// Applying retention to the catalog: which policy governs which (project, target), the
// decisions of the pure policy function for each, and the deletions.
//
// Policy source: an explicit policy (from `prune --keep-*` flags) for every project in
// scope, or else the stored per-project policies (catalog retention_policies; target
// "*" = every target). With a target filter, the stored policy for (project, target) is
// used, else the project's "*" policy, applied to the copies on that target only.
//
// Safety, on top of retention::decide(): apply_prune() re-reads the catalog and never
// deletes a project's newest verified backup, nor anything of a group in which every
// decision is "delete".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "catalog/catalog.h"
#include "retention/policy.h"

namespace stacksnap::retention {

struct PruneRequest {
  std::string project;           // empty: every project in the catalog
  std::string target;            // empty: every target ("*" policies) / stored per-target policies
  std::optional<Policy> policy;  // explicit policy; empty: stored policies
};

struct PruneGroup {
  std::string project;
  std::string target;  // "*": every copy of the backup
  Policy policy;
  std::string source;  // "flags" | "stored"
  std::vector<Decision> decisions;  // newest first
};

struct PrunePlan {
  std::vector<PruneGroup> groups;
  std::vector<std::string> without_policy;  // projects in scope with backups but no policy
};

// NotFound when the target filter names no target.
Result<PrunePlan> plan_prune(catalog::Catalog& cat, const PruneRequest& req);

// Deletes one backup's copy on `target` ("*": every copy) from storage (sidecar first,
// then blob) and the catalog (the backup row once no copy is left).
using RemoveFn = std::function<Status(const std::string& backup_id, const std::string& target)>;

struct PruneOutcome {
  struct Item {
    std::string id, target, error;  // error empty: deleted
  };
  std::vector<Item> deleted;
  std::vector<Item> failed;
  std::vector<Item> spared;  // planned deletions refused by the safety re-check
};

// Deletes what `plan` marks for deletion. One failure does not stop the others.
Result<PruneOutcome> apply_prune(catalog::Catalog& cat, const PrunePlan& plan, const RemoveFn& remove);

nlohmann::json to_json(const PrunePlan& plan);
nlohmann::json to_json(const PruneOutcome& outcome);

}  // namespace stacksnap::retention
