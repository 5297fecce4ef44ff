// Repository targets (docs/FORMAT.md §v2): their check and their garbage collection, for
// `stacksnap repo check|prune NAME`, retention (`stacksnap prune`, the prune job and the
// retention step after scheduled backups) alike.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "app/backup_ops.h"
#include "base/cancel.h"
#include "catalog/catalog.h"
#include "job/context.h"
#include "repo/check.h"
#include "repo/gc.h"
#include "seal/key.h"

namespace stacksnap::app {

// The repository at target `name`, checked (repo::check_repository). NotFound for an
// unknown target or one that holds no repository.
Result<repo::CheckReport> check_target_repository(catalog::Catalog& cat, const std::string& name,
                                                  const seal::KeySource& keys, const repo::CheckOptions& options,
                                                  const TargetOpener& open, const StopToken& stop);

// Its garbage collected (repo::prune_repository: exclusive lock, waits up to `wait` for
// running backups).
Result<repo::PruneReport> collect_target_garbage(catalog::Catalog& cat, const std::string& name,
                                                 const seal::KeySource& keys, repo::PruneOptions options,
                                                 const TargetOpener& open, const StopToken& stop);

// The targets on which backup `backup_id`'s copies are repository snapshots (`target`:
// one target, or "*"): where deleting it leaves chunks for the garbage collection.
std::set<std::string> snapshot_targets(catalog::Catalog& cat, const std::string& backup_id, const std::string& target);

// After retention deleted snapshots: the garbage of each target in `targets` collected,
// each reported into ctx (step "gc.<target>"); a failure is a warning (the snapshots are
// gone; the space comes back with the next collection). Without keys nothing is
// collected (the caller queues it). Returns {target: report JSON}.
nlohmann::json collect_garbage_after_retention(catalog::Catalog& cat, const std::set<std::string>& targets,
                                               const seal::KeySource* keys, const TargetOpener& open,
                                               job::Context& ctx);

}  // namespace stacksnap::app
