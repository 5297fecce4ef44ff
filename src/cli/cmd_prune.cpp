// stacksnap prune [--project P] [--target T] [--dry-run] [--json]
//                 [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]
// stacksnap retention set PROJECT [--target T] --keep-… | retention show [PROJECT] | retention remove PROJECT [--target T]
//
// prune applies the policy given by flags, or else each project's stored policy, and
// prints every backup in scope with keep/delete and the rule that decided.
#include <chrono>
#include <iostream>
#include <map>
#include <set>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/backup_ops.h"
#include "app/repo_ops.h"
#include "base/text.h"
#include "job/project_lock.h"
#include "base/clock.h"
#include "catalog/catalog_admin.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "retention/apply.h"

namespace stacksnap::cli {

using Json = nlohmann::json;

namespace {

struct PolicyFlags {
  int last = -1, daily = -1, weekly = -1, monthly = -1, yearly = -1;
  bool given() const { return last >= 0 || daily >= 0 || weekly >= 0 || monthly >= 0 || yearly >= 0; }
  retention::Policy policy() const {
    auto z = [](int v) { return v < 0 ? 0 : v; };
    return {.keep_last = z(last), .keep_daily = z(daily), .keep_weekly = z(weekly), .keep_monthly = z(monthly),
            .keep_yearly = z(yearly)};
  }
  void add_to(CLI::App* cmd) {
    auto nonneg = CLI::Range(0, 100000);
    cmd->add_option("--keep-last", last, "Keep the N newest backups")->check(nonneg);
    cmd->add_option("--keep-daily", daily, "Keep the newest backup of each of the last N days with backups")->check(nonneg);
    cmd->add_option("--keep-weekly", weekly, "… of each of the last N ISO weeks")->check(nonneg);
    cmd->add_option("--keep-monthly", monthly, "… of each of the last N months")->check(nonneg);
    cmd->add_option("--keep-yearly", yearly, "… of each of the last N years")->check(nonneg);
  }
};

struct PruneArgs {
  std::string project, target;
  bool dry_run = false;
  PolicyFlags flags;
};

std::string when(int64_t t) { return format_rfc3339(SystemTime(std::chrono::seconds(t))); }

Status run_prune(const Globals& g, const PruneArgs& a) {
  std::set<std::string> repositories;  // targets where snapshots were deleted
  auto cat = TRY(open_state(g));
  retention::PruneRequest req{.project = a.project, .target = a.target};
  if (a.flags.given()) {
    req.policy = a.flags.policy();
    if (req.policy->empty()) return invalid_argument("every --keep-* is 0: that policy keeps everything; nothing to prune");
  }
  auto plan = TRY(retention::plan_prune(*cat, req));

  if (!g.json) {
    for (const auto& grp : plan.groups) {
      std::cout << grp.project << " on " << (grp.target == "*" ? "every target" : "target " + grp.target)
                << " — policy: " << grp.policy.describe() << " (" << grp.source << ")\n";
      if (grp.decisions.empty()) std::cout << "  no backups\n";
      for (const auto& d : grp.decisions) {
        std::cout << "  " << (d.keep ? "keep  " : "delete") << "  " << d.id << "  " << when(d.created) << "  "
                  << join(d.reasons, "; ") << "\n";
      }
    }
    for (const auto& p : plan.without_policy) {
      std::cout << p << ": no retention policy (give --keep-* flags or `stacksnap retention set " << p
                << " …`); nothing deleted\n";
    }
    if (plan.groups.empty() && plan.without_policy.empty()) std::cout << "no backups in scope\n";
  }

  retention::PruneOutcome outcome;
  if (!a.dry_run) {
    // One job per project: no prune while a backup/restore of the project runs.
    std::vector<job::ProjectLock> locks;
    std::map<std::string, bool> locked;
    for (const auto& grp : plan.groups) {
      if (locked[grp.project]) continue;
      locks.push_back(TRY(job::ProjectLock::acquire(g.data_dir, grp.project, "prune")));
      locked[grp.project] = true;
    }
    auto opener = app::default_target_opener();
    outcome = TRY(retention::apply_prune(*cat, plan, [&](const std::string& id, const std::string& target) {
      const auto snaps = app::snapshot_targets(*cat, id, target);
      auto st = app::delete_backup(*cat, id, target, opener);
      if (st.ok()) repositories.insert(snaps.begin(), snaps.end());
      return st;
    }));
  }
  // Snapshots deleted from repositories: their chunks' space comes back now.
  Json gc = Json::object();
  if (!repositories.empty()) {
    auto keys = reading_keys(g);
    for (const auto& name : repositories) {
      if (!keys.ok()) {
        std::cerr << "snapshots deleted on " << name << ": run `stacksnap repo prune " << name
                  << "` with the key to free their space (" << keys.error().message() << ")\n";
        continue;
      }
      auto r = app::collect_target_garbage(*cat, name, *keys, {}, app::default_target_opener(), {});
      if (!r.ok()) {
        std::cerr << "warning: garbage collection on " << name << " failed (the space comes back with the next one): "
                  << r.error().message() << "\n";
        continue;
      }
      gc[name] = r->to_json();
      if (!g.json) std::cerr << name << ": " << human_bytes(r->bytes_freed) << " freed (" << r->deleted_packs << " packs deleted, "
                             << r->repacked_packs << " repacked)\n";
    }
  }

  if (g.json) {
    Json j = retention::to_json(plan);
    j["dry_run"] = a.dry_run;
    if (!a.dry_run) j["result"] = retention::to_json(outcome);
    if (!a.dry_run) j["gc"] = gc;
    std::cout << j.dump() << "\n";
  } else if (a.dry_run) {
    size_t n = 0;
    for (const auto& grp : plan.groups) {
      for (const auto& d : grp.decisions) n += d.keep ? 0 : 1;
    }
    std::cout << "dry run: " << n << " would be deleted; nothing was deleted\n";
  } else {
    for (const auto& i : outcome.spared) std::cout << "spared " << i.id << ": " << i.error << "\n";
    for (const auto& i : outcome.failed) std::cout << "FAILED to delete " << i.id << ": " << i.error << "\n";
    std::cout << "deleted " << outcome.deleted.size() << " backup copies"
              << (outcome.failed.empty() ? "" : ", " + std::to_string(outcome.failed.size()) + " failed") << "\n";
  }
  if (!outcome.failed.empty()) {
    return unavailable(std::to_string(outcome.failed.size()) + " deletion(s) failed; first: " + outcome.failed[0].id +
                       ": " + outcome.failed[0].error);
  }
  return {};
}

// ---- stored policies ------------------------------------------------------------------

Status set_policy(const Globals& g, const std::string& project, const std::string& target, const PolicyFlags& f) {
  if (!f.given()) return invalid_argument("give at least one --keep-* option");
  auto cat = TRY(open_state(g));
  std::string t = target.empty() ? "*" : target;
  if (t != "*") TRY(cat->get_target(t));
  auto p = f.policy();
  TRY(catalog::put_retention(*cat, {.project = project, .target = t, .policy = p.to_json()}));
  if (g.json) std::cout << Json{{"project", project}, {"target", t}, {"policy", p.to_json()}}.dump() << "\n";
  else std::cout << "retention of " << project << " on " << (t == "*" ? "every target" : t) << ": " << p.describe() << "\n";
  return {};
}

Status show_policies(const Globals& g, const std::string& project) {
  auto cat = TRY(open_state(g));
  auto list = TRY(catalog::list_retention(*cat, project));
  if (g.json) {
    Json arr = Json::array();
    for (const auto& r : list) arr.push_back({{"project", r.project}, {"target", r.target}, {"policy", r.policy}});
    std::cout << arr.dump() << "\n";
    return {};
  }
  if (list.empty()) std::cout << "no retention policies\n";
  for (const auto& r : list) {
    auto p = retention::Policy::from_json(r.policy);
    std::cout << r.project << "  " << (r.target == "*" ? "every target" : r.target) << "  "
              << (p.ok() ? p->describe() : "invalid: " + p.error().message()) << "\n";
  }
  return {};
}

Status remove_policy(const Globals& g, const std::string& project, const std::string& target) {
  auto cat = TRY(open_state(g));
  TRY(catalog::remove_retention(*cat, project, target));
  std::cout << "retention policy of " << project << " on " << (target == "*" ? "every target" : target) << " removed\n";
  return {};
}

}  // namespace

// repo check NAME: app::check_target_repository; exit 3 (DataLoss) when it found problems.
Status run_repo_check(const Globals& g, const std::string& name, bool deep, double read_data) {
  auto cat = TRY(open_state(g));
  auto keys = TRY(reading_keys(g));
  repo::CheckOptions o{.level = deep ? repo::CheckOptions::kDeep : repo::CheckOptions::kShallow,
                       .read_data_percent = read_data};
  auto r = TRY(app::check_target_repository(*cat, name, keys, o, app::default_target_opener(), {}));
  const Json j = r.to_json();
  if (g.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "repository on " << name << ": " << r.snapshots << " snapshots, " << r.packs << " packs ("
              << r.packs_read << " read), " << r.blobs << " blobs, " << human_bytes(r.bytes_read) << " read\n";
    for (const auto& p : j.value("problems", Json::array())) std::cout << "  PROBLEM " << p.dump() << "\n";
    for (const auto& d : j.value("damaged_snapshots", Json::array())) std::cout << "  DAMAGED " << d.dump() << "\n";
  }
  if (!r.ok()) {
    return data_loss("the repository on " + name + " has " + std::to_string(j.value("problems", Json::array()).size()) +
                     " problem(s)");
  }
  return {};
}

// repo prune NAME: app::collect_target_garbage.
Status run_repo_prune(const Globals& g, const std::string& name, bool dry_run) {
  auto cat = TRY(open_state(g));
  auto keys = TRY(reading_keys(g));
  auto r = TRY(app::collect_target_garbage(*cat, name, keys, {.dry_run = dry_run}, app::default_target_opener(), {}));
  if (g.json) std::cout << r.to_json().dump() << "\n";
  else std::cout << (dry_run ? "dry run: " : "") << name << ": " << r.snapshots << " snapshots kept, " << r.deleted_packs
                 << " packs deleted, " << r.repacked_packs << " repacked into " << r.new_packs << ", "
                 << human_bytes(r.bytes_freed) << (dry_run ? " would be freed" : " freed") << "\n";
  return {};
}

void add_prune_commands(CLI::App& root, Globals& g) {
  auto* repo_cmd = root.add_subcommand("repo", "Repository targets: check and free space");
  repo_cmd->require_subcommand(1);
  auto rname = std::make_shared<std::string>();
  auto rdeep = std::make_shared<bool>(false);
  auto rpct = std::make_shared<double>(0);
  auto* check = repo_cmd->add_subcommand("check", "Check a target's repository (exit 3 when damaged)");
  check->add_option("NAME", *rname, "Target name")->required();
  check->add_flag("--deep", *rdeep, "Read and authenticate every pack (default: names, sizes, references)");
  check->add_option("--read-data", *rpct, "Also read this percentage of packs deeply, picked at random")
      ->check(CLI::Range(0.0, 100.0));
  check->add_flag("--json", g.json, "JSON output");
  check->callback([&g, rname, rdeep, rpct] { g.result = run_repo_check(g, *rname, *rdeep, *rpct); });
  auto rdry = std::make_shared<bool>(false);
  auto* rprune = repo_cmd->add_subcommand("prune", "Delete the chunks no snapshot uses any more (waits for backups)");
  rprune->add_option("NAME", *rname, "Target name")->required();
  rprune->add_flag("--dry-run", *rdry, "Say what would be deleted and repacked; change nothing");
  rprune->add_flag("--json", g.json, "JSON output");
  rprune->callback([&g, rname, rdry] { g.result = run_repo_prune(g, *rname, *rdry); });

  auto a = std::make_shared<PruneArgs>();
  auto* prune = root.add_subcommand("prune", "Delete backups that the retention policy no longer keeps");
  prune->add_option("--project", a->project, "Only this project");
  prune->add_option("--target", a->target, "Only copies on this target");
  prune->add_flag("--dry-run", a->dry_run, "Show what would be kept and deleted; delete nothing");
  prune->add_flag("--json", g.json, "JSON output");
  a->flags.add_to(prune);
  prune->callback([&g, a] { g.result = run_prune(g, *a); });

  auto* ret = root.add_subcommand("retention", "Stored retention policies (used by prune and scheduled backups)");
  ret->require_subcommand(1);
  auto project = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  auto flags = std::make_shared<PolicyFlags>();
  auto* set = ret->add_subcommand("set", "Set a project's policy (for one target, or every target)");
  set->add_option("PROJECT", *project, "Compose project")->required();
  set->add_option("--target", *target, "Only for this target (default: every target)");
  set->add_flag("--json", g.json, "JSON output");
  flags->add_to(set);
  set->callback([&g, project, target, flags] { g.result = set_policy(g, *project, *target, *flags); });
  auto* show = ret->add_subcommand("show", "List stored policies");
  show->add_option("PROJECT", *project, "Only this project");
  show->add_flag("--json", g.json, "JSON output");
  show->callback([&g, project] { g.result = show_policies(g, *project); });
  auto* rm = ret->add_subcommand("remove", "Remove a stored policy");
  rm->add_option("PROJECT", *project, "Compose project")->required();
  rm->add_option("--target", *target, "The policy's target (default: every target)");
  rm->callback([&g, project, target] {
    g.result = remove_policy(g, *project, target->empty() ? "*" : *target);
  });
}

}  // namespace stacksnap::cli
