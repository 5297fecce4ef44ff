#include "test_env.h"
#include "common/build_paths.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sys/wait.h>

namespace stacksnap::it {

docker::Client* engine() {
  static std::once_flag once;
  static std::unique_ptr<docker::Client> client;
  static std::string failure;
  std::call_once(once, [] {
    auto c = docker::Client::connect();
    if (!c.ok()) {
      failure = c.error().message();
      return;
    }
    client = std::move(*c);
    remove_leftovers(*client);
  });
  if (!client) {
    ADD_FAILURE() << "Docker Engine unreachable: " << failure
                  << "\n(integration tests need a running dockerd: scripts/ensure-dockerd.sh)";
    return nullptr;
  }
  return client.get();
}

ScriptResult run_script(const std::string& command) {
  ScriptResult r;
  std::string cmd = command + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string source_path(std::string_view relative) { return build_paths::source_path(relative); }

Status ensure_fixture_images() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] {
    auto* d = engine();
    if (!d) {
      result = unavailable("no engine");
      return;
    }
    bool have = true;
    for (const char* role : {"postgres", "mariadb", "redis", "app"}) {
      have = have && d->inspect_image(std::string("stacksnap-fixture/") + role + ":test").ok();
    }
    if (have) return;
    auto r = run_script(source_path("tests/fixtures/images/build.sh"));
    if (r.exit_code != 0) result = internal_error("tests/fixtures/images/build.sh failed:\n" + r.output);
  });
  return result;
}

std::string stack_project(std::string_view stack) {
  const char* prefix = std::getenv("STACKSNAP_IT_PREFIX");
  return std::string(prefix && *prefix ? prefix : "ssit-") + std::string(stack);
}

std::string container_of(std::string_view project, std::string_view service) {
  auto* d = engine();
  if (!d) return {};
  auto list = d->list_containers({.all = true,
                                  .labels = {"com.docker.compose.project=" + std::string(project),
                                             "com.docker.compose.service=" + std::string(service)}});
  if (!list.ok()) return {};
  for (const auto& c : *list) {
    auto oneoff = c.labels.find("com.docker.compose.oneoff");
    if (oneoff == c.labels.end() || oneoff->second != "True") return c.name;
  }
  return {};
}

namespace {
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
ScriptResult stack_script(const char* script, std::string_view stack, std::string_view project,
                          std::string_view workdir, std::string_view flavour) {
  std::string cmd = (flavour.empty() ? "" : "STACKSNAP_COMPOSE=" + quoted(flavour) + " ") +
                    source_path(std::string("tests/fixtures/stacks/") + script) + " " + quoted(stack) + " " + quoted(project);
  if (!workdir.empty()) cmd += " " + quoted(workdir);
  return run_script(cmd);
}
}  // namespace

std::string stack_dir(std::string_view project) { return "/var/tmp/stacksnap-stacks/" + std::string(project); }

std::string compose_flavour() {
  const char* f = std::getenv("STACKSNAP_COMPOSE");
  return f && std::string_view(f) == "v1" ? "v1" : "v2";
}
bool compose_v1_lane() { return compose_flavour() == "v1"; }
std::string compose_command() { return compose_v1_lane() ? "docker-compose" : "docker compose"; }

ScriptResult compose_in(std::string_view dir, std::string_view project, std::string_view args) {
  return run_script("cd " + quoted(dir) + " && " + compose_command() + " -p " + quoted(project) + " " +
                    std::string(args));
}

ScriptResult stack_up(std::string_view stack, std::string_view project, std::string_view workdir,
                      std::string_view flavour) {
  return stack_script("up.sh", stack, project, workdir, flavour);
}
ScriptResult stack_down(std::string_view stack, std::string_view project, std::string_view workdir,
                        std::string_view flavour) {
  return stack_script("down.sh", stack, project, workdir, flavour);
}

Status ensure_sample_stacks() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] {
    auto* d = engine();
    if (!d) {
      result = unavailable("no engine");
      return;
    }
    if (auto st = ensure_fixture_images(); !st.ok()) {
      result = st;
      return;
    }
    for (const char* stack : {"shop", "wiki", "files"}) {
      const std::string project = stack_project(stack);
      auto list = d->list_containers({.all = true, .labels = {"com.docker.compose.project=" + project}});
      bool running = list.ok() && !list->empty() &&
                     std::all_of(list->begin(), list->end(), [](const auto& c) { return c.state == "running"; });
      if (running) continue;
      auto r = stack_up(stack, project);
      if (r.exit_code != 0) {
        result = internal_error(std::string("tests/fixtures/stacks/up.sh ") + stack + " " + project + " failed:\n" +
                                r.output);
        return;
      }
    }
  });
  return result;
}

std::string unique_name(std::string_view what) {
  static std::atomic<int> n{0};
  return "stacksnap-it-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-" + std::string(what);
}

Result<std::unique_ptr<Throwaway>> Throwaway::create(docker::Client& docker, std::string_view what,
                                                     docker::CreateContainerOptions options, bool start) {
  TRY(ensure_fixture_images());
  if (options.image.empty()) options.image = kFixtureApp;
  if (options.name.empty()) options.name = unique_name(what);
  options.labels[kTestLabel] = std::to_string(::getpid());
  auto id = TRY(docker.create_container(options));
  std::unique_ptr<Throwaway> t(new Throwaway(docker, id, options.name));
  if (start) TRY(docker.start_container(id));
  return t;
}

Throwaway::~Throwaway() { (void)docker_.remove_container(id_, {.force = true, .remove_volumes = true}); }

// Only leftovers of test processes that are gone: another test binary may be running.
static bool owner_gone(const docker::Labels& labels) {
  auto it = labels.find(kTestLabel);
  if (it == labels.end()) return false;
  int pid = std::atoi(it->second.c_str());
  return pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH);
}

void remove_leftovers(docker::Client& docker) {
  auto list = docker.list_containers({.all = true, .labels = {kTestLabel}});
  if (list.ok()) {
    for (const auto& c : *list) {
      if (owner_gone(c.labels)) (void)docker.remove_container(c.id, {.force = true, .remove_volumes = true});
    }
  }
  auto vols = docker.list_volumes({kTestLabel});
  if (vols.ok()) {
    for (const auto& v : *vols) {
      if (owner_gone(v.labels)) (void)docker.remove_volume(v.name, true);
    }
  }
}

static uint64_t status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(f, line)) {
    if (line.compare(0, n, field) == 0) return std::stoull(line.substr(n)) * 1024;
  }
  return 0;
}

namespace {

// The Compose project "shop" beside the suite (scripts/foreign-shop.sh starts one unless a
// user's own `shop` runs already): whatever a test process did, the project's containers
// are the same ones, in the same state, when it ends. scripts/integration.sh sets
// STACKSNAP_IT_FOREIGN=shop; then a missing project is a failure, not a silent pass.
class ForeignProjectWatch final : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* expected = std::getenv("STACKSNAP_IT_FOREIGN");
    before_ = snapshot();
    if (expected != nullptr && *expected != '\0' && before_.empty()) {
      ADD_FAILURE() << "STACKSNAP_IT_FOREIGN is set but no Compose project `shop` runs beside the suite";
    }
  }
  void TearDown() override {
    if (before_.empty()) return;
    const std::string after = snapshot();
    EXPECT_EQ(after, before_) << "the foreign Compose project `shop` was changed by this test";
  }

 private:
  static std::string snapshot() {
    return run_script("docker ps -a --filter label=com.docker.compose.project=shop "
                      "--format '{{.ID}} {{.Names}} {{.State}}' 2>/dev/null | sort")
        .output;
  }
  std::string before_;
};

[[maybe_unused]] ::testing::Environment* const kForeignWatch =
    ::testing::AddGlobalTestEnvironment(new ForeignProjectWatch);

}  // namespace

uint64_t peak_rss_bytes() { return status_kib("VmHWM:"); }
uint64_t current_rss_bytes() { return status_kib("VmRSS:"); }

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

}  // namespace stacksnap::it
