// Driving Docker Compose for restores and drills, identically for `docker compose`
// (v2, preferred when present) and Debian's `docker-compose` (v1), with the invocation
// ../shared/compose-notes.md §5 recommends: process cwd = the project's working dir,
// stdin /dev/null (a v2.32+ recreate prompt answers "no"), a minimal environment (no
// COMPOSE_* or application variables), `-p <label value>`, `--project-directory`,
// absolute `-f` files in their original order, never `-y`.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"

namespace stacksnap::restore {

struct ComposeTool {
  std::vector<std::string> argv0;  // {"docker", "compose"} or {"docker-compose"}
  std::string version;             // "2.29.1" / "1.29.2"
  bool v2 = false;
  std::string describe() const;    // "docker compose 2.29.1"
};

// Which Compose a restore or drill drives: the flavour that created the project
// (kAuto), or the one the user asked for (`--compose v1|v2`).
enum class ComposeChoice { kAuto, kV1, kV2 };
// "" / "auto" → kAuto, "v1", "v2"; InvalidArgument naming the accepted values otherwise.
Result<ComposeChoice> parse_compose_choice(std::string_view s);
std::string_view compose_choice_name(ComposeChoice c);  // "auto", "v1", "v2"

// Both flavours as installed on this host (either may be missing).
struct ComposeTools {
  std::optional<ComposeTool> v2, v1;
  std::string problems;  // why a flavour was not found, for the error message
};
// Looks for `docker compose` and `docker-compose` (concurrently); `cache_file` as below.
ComposeTools find_compose_tools(const std::string& cache_file = {});

// The tool for a project that Compose `created_by` made ("2.26.1", "1.29.2", "" when
// unknown). kV1/kV2: that flavour, FailedPrecondition when it is not installed. kAuto:
// the creating flavour when installed, else the other one (with a `note` saying so),
// v2 when the creator is unknown. NotFound when no Compose is installed.
Result<ComposeTool> choose_compose(const ComposeTools& tools, ComposeChoice choice, const std::string& created_by,
                                   std::string* note = nullptr);

// Finds Compose: `docker compose version` first, then `docker-compose version`.
// NotFound naming both when neither works. With `cache_file`, the version of a
// `docker-compose` (v1: a Python program, ~0.35 s of CPU to start) is remembered there
// for as long as its executable stays the same file (path, inode, size, mtime).
Result<ComposeTool> find_compose(const std::string& cache_file = {});
// Where a data dir keeps that cache.
std::string compose_cache_file(const std::string& data_dir);

struct ComposeProject {
  std::string name;                       // -p
  std::string working_dir;                // --project-directory and cwd
  std::vector<std::string> files;         // -f, absolute, in order
  std::string env_file;                   // --env-file when the project used one
};

class Compose {
 public:
  Compose(ComposeTool tool, ComposeProject project, std::string docker_host = {})
      : tool_(std::move(tool)), project_(std::move(project)), docker_host_(std::move(docker_host)) {}

  // `up -d [--no-deps] SERVICES…` (all services when empty).
  enum class Deps { kStart, kLeave };  // kLeave: `up --no-deps` (dependencies are not started)
  Status up(const std::vector<std::string>& services, Deps deps, const StopToken& stop);
  // `down` without -v (volumes are never removed here) --remove-orphans, every profile's
  // services included.
  Status down(const StopToken& stop);
  // `down -v --remove-orphans`: only for drill sandboxes.
  Status down_with_volumes(const StopToken& stop);
  // `stop SERVICES…`
  Status stop_services(const std::vector<std::string>& services, const StopToken& stop);
  // `config` (fully resolved, interpolated YAML) — contains secrets: handle with care.
  // With `services` (v2), only those and their dependencies, their profiles enabled;
  // v1 always prints every service (with its `profiles:`).
  Result<std::string> config(const StopToken& stop, const std::vector<std::string>& services = {});

  const ComposeTool& tool() const { return tool_; }
  // Output lines of the last command go here (job log).
  void set_line_sink(std::function<void(const std::string&)> sink) { sink_ = std::move(sink); }

 private:
  Result<std::string> run(const std::vector<std::string>& args, const StopToken& stop, const std::string& what);
  std::vector<std::string> down_args(bool volumes) const;
  ComposeTool tool_;
  ComposeProject project_;
  std::string docker_host_;
  std::function<void(const std::string&)> sink_;
};

// The minimal environment Compose runs with.
std::vector<std::string> compose_environment(const std::string& docker_host);

}  // namespace stacksnap::restore
