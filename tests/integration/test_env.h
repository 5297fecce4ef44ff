// Shared helpers for integration tests against the real Docker Engine.
//
//  - engine(): the client, or a test FAILURE saying why the Engine is unreachable
//    (integration tests never skip);
//  - ensure_sample_stacks(): brings shop, wiki and files up through
//    tests/fixtures/stacks/up.sh when they are not running, once per process, and
//    leaves them up for later tests;
//  - Throwaway: a container from stacksnap-fixture/app:test with a unique name and the
//    label org.stacksnap.test, force-removed on destruction (leftovers of crashed runs
//    are removed by remove_leftovers(), called once by engine()).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "docker/client.h"

namespace stacksnap::it {

inline constexpr const char* kFixtureApp = "stacksnap-fixture/app:test";
inline constexpr const char* kTestLabel = "org.stacksnap.test";

// The process-wide client; nullptr (and a recorded failure) when the Engine is unreachable.
docker::Client* engine();

#define STACKSNAP_REQUIRE_ENGINE(var)                  \
  docker::Client* var = ::stacksnap::it::engine();     \
  ASSERT_NE(var, nullptr) << "the Docker Engine is required"

struct ScriptResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};
// Runs `command` with /bin/sh -c.
ScriptResult run_script(const std::string& command);

// Path inside the source tree.
std::string source_path(std::string_view relative);

// The Compose project name sample stack `stack` ("shop", "wiki", "files", "busy", …) runs
// under in this test lane: STACKSNAP_IT_PREFIX (default "ssit-") + stack, a name no user
// picks, so that the suite passes beside a user's own "shop". The lane's Compose flavour
// is STACKSNAP_COMPOSE (v2 default, v1), as for tests/fixtures/stacks/up.sh.
std::string stack_project(std::string_view stack);
// The container of `service` in a running `project`, found by its Compose labels (v1 names
// it project_service_1, v2 project-service-1); "" when there is none.
std::string container_of(std::string_view project, std::string_view service);
// `tests/fixtures/stacks/up.sh STACK PROJECT [WORKDIR]` / down.sh, in this lane's flavour.
// `flavour` "v1"/"v2" overrides the lane's (stacks that need Compose v2 features).
ScriptResult stack_up(std::string_view stack, std::string_view project, std::string_view workdir = {},
                      std::string_view flavour = {});
ScriptResult stack_down(std::string_view stack, std::string_view project, std::string_view workdir = {},
                        std::string_view flavour = {});
// Where up.sh puts a project's working copy by default: /var/tmp/stacksnap-stacks/PROJECT.
std::string stack_dir(std::string_view project);

// This lane's Compose flavour (STACKSNAP_COMPOSE): "v2" (default) or "v1".
std::string compose_flavour();
bool compose_v1_lane();
// The command line of this lane's Compose: "docker compose" or "docker-compose".
std::string compose_command();
// `cd DIR && <compose> -p PROJECT ARGS` (ARGS may start with -f FILE…).
ScriptResult compose_in(std::string_view dir, std::string_view project, std::string_view args);

// Status of bringing the three sample stacks up (ok when they already run).
Status ensure_sample_stacks();
// The fixture images (tests/fixtures/images/build.sh when missing).
Status ensure_fixture_images();

// "stacksnap-it-<pid>-<n>-<what>"
std::string unique_name(std::string_view what);

class Throwaway {
 public:
  // Creates (and by default starts) a container; options.image defaults to the app
  // fixture, options.name to unique_name(what); kTestLabel is added.
  static Result<std::unique_ptr<Throwaway>> create(docker::Client& docker, std::string_view what,
                                                   docker::CreateContainerOptions options, bool start = true);
  Throwaway(const Throwaway&) = delete;
  Throwaway& operator=(const Throwaway&) = delete;
  ~Throwaway();
  const std::string& id() const { return id_; }
  const std::string& name() const { return name_; }

 private:
  Throwaway(docker::Client& d, std::string id, std::string name) : docker_(d), id_(std::move(id)), name_(std::move(name)) {}
  docker::Client& docker_;
  std::string id_, name_;
};

// Removes containers and volumes labelled kTestLabel (from earlier, crashed runs).
void remove_leftovers(docker::Client& docker);

// Peak resident set size of this process (VmHWM), in bytes.
uint64_t peak_rss_bytes();
// Resident set size of this process now (VmRSS), in bytes.
uint64_t current_rss_bytes();
// Resets the peak to the current RSS (echo 5 > /proc/self/clear_refs); false if unsupported.
bool reset_peak_rss();

}  // namespace stacksnap::it
