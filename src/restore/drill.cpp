#include "restore/drill.h"

#include <sys/stat.h>

#include <filesystem>
#include <future>

#include "base/clock.h"
#include "base/temp_dir.h"
#include "base/text.h"
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
  return "drill-" + (clean.empty() ? std::string("project") : clean) + "-" + random_hex(3);
}

Json DrillSummary::to_json() const {
  Json j = {{"backup_id", backup_id},   {"project", project},
            {"drill_project", drill_project}, {"teardown", teardown},
            {"problems", problems},     {"result", passed() ? "passed" : "failed"},
            {"duration_ms", duration_ms}};
  if (restored) {
    j["databases"] = restored->databases;
    j["sqlite"] = restored->sqlite;
    j["volumes"] = restored->volumes;
    j["binds"] = restored->binds;
    j["compose"] = restored->compose;
    j["info"] = restored->info;
    j["warnings"] = restored->warnings;
  }
  return j;
}

Result<DrillSummary> run_drill(const RestoreEnv& env, const DrillRequest& req, job::Context& ctx, int64_t job_id) {
  const double t0 = monotonic_seconds();
  auto rec = TRY(repo::find_backup(env.cat, req.backup_id, env.keys, ctx.stop()));
  DrillSummary out{.backup_id = req.backup_id, .project = rec.project, .drill_project = drill_project_name(rec.project)};
  const std::string& name = out.drill_project;
  const std::string drills = env.data_dir + "/drills";
  if (::mkdir(drills.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create " + drills, errno);
  auto tmp = TRY(TempDir::create(drills, name + "-"));
  const std::string working_dir = tmp.path() + "/project";
  ctx.info("drill of " + req.backup_id + " as project " + name + " in " + working_dir);

  std::optional<Error> failure;
  {
    auto compose_tools = compose_tools_for(env);
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
                      .removed_on_failure = true,  // torn down below whatever happened
                      .compose_tools = compose_tools,
                      .compose = req.compose};
      std::vector<std::string> applied;
      auto r = apply_backup(env, *fa, req.backup_id, ar, ctx, job_id, applied);
      if (!r.ok()) {
        failure = std::move(r).error();
      } else {
        out.restored = std::move(*r);
      }
    }
  }
  {
    job::StepTimer t(ctx, "teardown", "Tear down " + name);
    out.teardown = remove_project(env.docker, name, working_dir, compose_cache_file(env.data_dir), ctx);
    auto st = tmp.remove();
    if (!st.ok()) out.teardown.push_back("remove " + tmp.path() + ": " + st.error().message());
    t.end(true);
  }

  if (out.restored) out.problems = out.restored->problems;
  if (failure) out.problems.push_back(failure->message());
  out.duration_ms = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
  const Json details = out.to_json();
  const char* result = out.passed() ? "passed" : "failed";
  auto recorded = env.cat.set_drill_result(req.backup_id, unix_seconds(std::chrono::system_clock::now()), result, details);
  if (!recorded.ok()) ctx.warn("could not record the drill result: " + recorded.error().message());
  ctx.emit("drill_result", details);
  if (!out.passed()) {
    std::string msg = "drill of " + req.backup_id + " failed: ";
    for (size_t i = 0; i < out.problems.size() && i < 5; ++i) msg += (i ? "; " : "") + out.problems[i];
    return Error(failure ? failure->code() : Code::kDataLoss, msg);
  }
  return out;
}

}  // namespace stacksnap::restore
