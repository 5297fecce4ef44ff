#include "restore/drill.h"

#include <sys/stat.h>

#include <filesystem>
#include <future>
#include <random>

#include "base/clock.h"
#include "base/temp_dir.h"
#include "restore/compose.h"
#include "restore/teardown.h"
#include "repo/rebuild.h"

namespace stacksnap::restore {

namespace fs = std::filesystem;

std::string drill_project_name(const std::string& project) {
  std::string clean;
  for (char c : project) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') clean.push_back(c);
  }
  if (clean.size() > 26) clean.resize(26);
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 6; ++i) suffix.push_back(kHex[rng() % 16]);
  return "drill-" + (clean.empty() ? std::string("project") : clean) + "-" + suffix;
}

Result<Json> run_drill(const RestoreEnv& env, const DrillRequest& req, job::Context& ctx, int64_t job_id) {
  const double t0 = monotonic_seconds();
  auto rec = TRY(repo::find_backup(env.cat, req.backup_id, env.keys, ctx.stop()));
  const std::string name = drill_project_name(rec.project);
  const std::string drills = env.data_dir + "/drills";
  if (::mkdir(drills.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create " + drills, errno);
  auto tmp = TRY(TempDir::create(drills, name + "-"));
  const std::string working_dir = tmp.path() + "/project";
  ctx.info("drill of " + req.backup_id + " as project " + name + " in " + working_dir);

  Json details = {{"backup_id", req.backup_id}, {"project", rec.project}, {"drill_project", name}};
  std::optional<Error> failure;
  std::optional<RestoreSummary> summary;
  {
    auto compose_tools = std::async(std::launch::async, find_compose_tools, compose_cache_file(env.data_dir)).share();
    auto fa = fetch_and_verify(env, req.backup_id, ctx);
    if (!fa.ok()) {
      failure = std::move(fa).error();
    } else {
      ApplyRequest ar{.mode = Mode::kDrill,
                      .project = name,
                      .working_dir = working_dir,
                      .force = false,
                      .safety_backup = false,
                      .strip_ports = true,
                      .check_volumes = true,
                      .compose_tools = compose_tools,
                      .compose = req.compose};
      std::vector<std::string> applied;
      auto r = apply_backup(env, *fa, req.backup_id, ar, ctx, job_id, applied);
      if (!r.ok()) {
        // What the sandbox restore had applied is torn down below whatever happened, so
        // the "applied before the failure" list of a restore would only mislead here.
        const std::string m = r.error().message();
        const size_t cut = m.find(" — applied before the failure: ");
        failure = cut == std::string::npos ? std::move(r).error() : Error(r.error().code(), m.substr(0, cut));
      } else {
        summary = std::move(*r);
      }
    }
  }
  {
    job::StepTimer t(ctx, "teardown", "Tear down " + name);
    details["teardown"] = remove_project(env.docker, name, working_dir, compose_cache_file(env.data_dir), ctx);
    auto st = tmp.remove();
    if (!st.ok()) details["teardown"].push_back("remove " + tmp.path() + ": " + st.error().message());
    t.end(true);
  }

  Json problems = summary ? Json(summary->problems) : Json::array();
  if (failure) problems.push_back(failure->message());
  const bool passed = problems.empty();
  if (summary) {
    details["databases"] = summary->databases;
    details["sqlite"] = summary->sqlite;
    details["volumes"] = summary->volumes;
    details["binds"] = summary->binds;
    details["compose"] = summary->compose;
    details["info"] = summary->info;
    details["warnings"] = summary->warnings;
  }
  details["problems"] = problems;
  details["result"] = passed ? "passed" : "failed";
  details["duration_ms"] = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
  auto recorded = env.cat.set_drill_result(req.backup_id, unix_seconds(std::chrono::system_clock::now()), passed ? "passed" : "failed",
                                           details);
  if (!recorded.ok()) ctx.warn("could not record the drill result: " + recorded.error().message());
  ctx.emit("drill_result", details);
  if (!passed) {
    std::string msg = "drill of " + req.backup_id + " failed: ";
    for (size_t i = 0; i < problems.size() && i < 5; ++i) msg += (i ? "; " : "") + problems[i].get<std::string>();
    return Error(failure ? failure->code() : Code::kDataLoss, msg);
  }
  return details;
}

}  // namespace stacksnap::restore
