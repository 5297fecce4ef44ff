// The shapes Compose projects have today, against the real Engine, through the CLI:
//
//  - ComposeV2Shapes (always Compose v2, whatever the lane: these are v2-only): the
//    "modern" sample stack — top-level include:, depends_on conditions with
//    healthchecks, profiles (one active, one not), env_file `required: false`, configs
//    and secrets from files, a network with `name:` and an external one, a `name:`
//    volume mounted with a subpath (API 1.45). Discovery reports it as it runs; a
//    backup drills, restores beside itself (--as), and comes back after a disaster
//    (project, volumes, external network, working dir and data dir gone) with health
//    waited for before the dumps are replayed and before the restore says it is done.
//  - ComposeLane (the lane's Compose, v2 or v1): a project started with -p from a
//    directory that is not its working dir; a project whose compose files are no longer
//    on the host (volumes and dumps still back up; restore names what is missing and
//    works once the files are back); a healthcheck that never passes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/build_paths.h"
#include "backup_support.h"
#include "base/temp_dir.h"
#include "job/context.h"
#include "job/events.h"
#include "restore/bring_up.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// Output of a command inside a container, trimmed; "<exit N: …>" on failure.
std::string in_container(const std::string& container, const std::string& command) {
  auto r = run_script("docker exec " + container + " sh -c " + sh_quote(command));
  std::string out = trimmed(r.output);
  return r.exit_code == 0 ? out : "<exit " + std::to_string(r.exit_code) + ": " + out + ">";
}

Json find(const Json& arr, const std::string& key, const std::string& value) {
  for (const auto& e : arr) {
    if (e.value(key, "") == value) return e;
  }
  return nullptr;
}

std::vector<std::string> names_of(const Json& arr) {
  std::vector<std::string> out;
  for (const auto& e : arr) out.push_back(e.value("name", ""));
  std::sort(out.begin(), out.end());
  return out;
}

// Index of the first event matching `pred`, or -1.
template <typename Pred>
long event_index(const std::vector<Json>& events, Pred pred) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (pred(events[i])) return static_cast<long>(i);
  }
  return -1;
}

// `docker ps` of a project: "name state" lines, sorted.
std::string project_containers(const std::string& project) {
  auto r = run_script("docker ps -a --filter label=com.docker.compose.project=" + project +
                      " --format '{{.Names}} {{.State}}' | sort");
  return trimmed(r.output);
}

// A sample stack brought up under a project name of its own in a temp dir, taken down
// (containers, volumes, its networks, the dir) at the end.
class PrivateStack {
 public:
  static Result<std::unique_ptr<PrivateStack>> up(const std::string& stack, const std::string& flavour) {
    TRY(ensure_fixture_images());
    static std::atomic<int> n{0};
    const std::string project = stack_project(stack + std::to_string(::getpid()) + "x" + std::to_string(++n));
    auto root = TRY(TempDir::create("/var/tmp", "stacksnap-it-" + stack + "-"));
    std::unique_ptr<PrivateStack> s(new PrivateStack(stack, project, flavour, std::move(root)));
    auto r = stack_up(stack, project, s->work_dir(), flavour);
    if (r.exit_code != 0) return internal_error("up.sh " + stack + " " + project + ": " + r.output);
    return s;
  }
  ~PrivateStack() {
    stack_down(stack_, project_, work_dir(), flavour_);
    for (const auto& extra : also_remove_) stack_down(stack_, extra, "/nonexistent", flavour_);
    // Networks named after the project that carry no label of it (external ones a
    // restore re-created).
    run_script("docker network ls --format '{{.Name}}' | grep -E -- '^" + project_ +
               "-' | xargs -r docker network rm >/dev/null 2>&1");
  }
  const std::string& project() const { return project_; }
  std::string root() const { return root_.path(); }
  std::string work_dir() const { return root() + "/work"; }
  std::string container(const std::string& service) const { return container_of(project_, service); }
  // Another project made from this one (a copy restore) to remove at the end too.
  void also_remove(const std::string& project) { also_remove_.push_back(project); }

 private:
  PrivateStack(std::string stack, std::string project, std::string flavour, TempDir root)
      : stack_(std::move(stack)), project_(std::move(project)), flavour_(std::move(flavour)), root_(std::move(root)) {}
  std::string stack_, project_, flavour_;
  TempDir root_;
  std::vector<std::string> also_remove_;
};

// ---- Compose v2 shapes ----------------------------------------------------------------

TEST(ComposeV2Shapes, ModernStackIsDiscoveredAsItRuns) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto made = PrivateStack::up("modern", "v2");
  ASSERT_TRUE(made.ok()) << made.error().message();
  const PrivateStack& s = **made;
  const std::string P = s.project(), wd = s.work_dir();

  auto r = run_script(stacksnap::build_paths::binary() + " projects " + P + " --json 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json p = Json::parse(r.output)["projects"][0];
  EXPECT_EQ(p["compose_flavour"], "v2");
  EXPECT_EQ(p["compose_version"].get<std::string>().substr(0, 2), "2.");
  EXPECT_EQ(p["config_files"], Json::array({wd + "/compose.yaml"}));
  // include: is not in Compose's labels; discovery reads it from the file.
  EXPECT_EQ(p["include_files"], Json::array({wd + "/db/compose.db.yaml"}));
  // env_file `required: false` that does not exist: neither listed nor warned about.
  EXPECT_EQ(p["env_files"], Json::array({wd + "/.env", wd + "/app.env"}));
  EXPECT_EQ(p["warnings"], Json::array()) << p["warnings"].dump();
  // Services: the inactive profile's `debug` has no container and is not there;
  // `reports` (profile activated at `up`) is. v2 container names.
  EXPECT_EQ(names_of(p["services"]), (std::vector<std::string>{"app", "cache", "db", "init", "reports"}));
  EXPECT_EQ(find(p["services"], "name", "app")["containers"][0]["name"], P + "-app-1");
  EXPECT_EQ(find(p["services"], "name", "app")["containers"][0]["health"], "healthy");
  EXPECT_EQ(find(p["services"], "name", "db")["engine"], "postgres");
  // The `name:` volume, mounted whole by init and with a subpath by app.
  const Json shared = find(p["volumes"], "key", "shared-data");
  ASSERT_FALSE(shared.is_null()) << p["volumes"].dump();
  EXPECT_EQ(shared["name"], P + "-shared-data");
  EXPECT_EQ(find(shared["used_by"], "service", "app")["subpath"], "app");
  EXPECT_FALSE(find(shared["used_by"], "service", "init").contains("subpath"));
  // Networks: `name:` made by Compose for the project, and the external one.
  const Json front = find(p["networks"], "name", P + "-front");
  ASSERT_FALSE(front.is_null()) << p["networks"].dump();
  EXPECT_EQ(front["external"], false);
  EXPECT_EQ(front["key"], "front");
  const Json ext = find(p["networks"], "name", P + "-shared");
  ASSERT_FALSE(ext.is_null()) << p["networks"].dump();
  EXPECT_EQ(ext["external"], true);
  EXPECT_EQ(ext["services"], Json::array({"app"}));
  // Configs and secrets from files are bind mounts of those files.
  std::vector<std::string> binds;
  for (const auto& b : p["binds"]) binds.push_back(b["host_path"]);
  EXPECT_EQ(binds, (std::vector<std::string>{wd + "/config/app.conf", wd + "/db/initdb", wd + "/secrets/api.key"}));

  auto table = run_script(stacksnap::build_paths::binary() + " projects " + P + " 2>&1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("compose v2 2."), std::string::npos) << table.output;
  EXPECT_NE(table.output.find(wd + "/db/compose.db.yaml  (include)"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("app:/srv/shared-app (subpath app)"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find(P + "-shared (external; app)"), std::string::npos) << table.output;
}

TEST(ComposeV2Shapes, ModernStackDrillsCopiesAndComesBackAfterADisaster) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto made = PrivateStack::up("modern", "v2");
  ASSERT_TRUE(made.ok()) << made.error().message();
  PrivateStack& s = **made;
  const std::string P = s.project(), wd = s.work_dir();
  auto bed_r = BackupBed::create(s.root(), "repository");
  ASSERT_TRUE(bed_r.ok()) << bed_r.error().message();
  auto& bed = **bed_r;

  // Data a fresh start would not have.
  const std::string psql = "psql -U modern -d modern -tAc ";
  ASSERT_EQ(in_container(s.container("db"), "psql -q -U modern -d modern -c \"INSERT INTO items (name) VALUES ('it-marker')\""), "");
  ASSERT_EQ(in_container(s.container("cache"), "redis-cli SET it:marker restored-ok"), "OK");
  ASSERT_EQ(in_container(s.container("app"), "cat /srv/shared-app/by-app.txt"), "app");

  auto b = bed.backup(P);
  ASSERT_EQ(b.exit_code, 0) << b.out;
  const std::string id = b.summary.value("backup_id", "");
  auto dir = bed.extract(id);
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  const Json plan = Json::parse(read_text(*dir + "/stacksnap/plan.json"));
  EXPECT_EQ(plan["compose_flavour"], "v2");
  EXPECT_EQ(find(plan["config"], "path", wd + "/db/compose.db.yaml")["role"], "include") << plan["config"].dump();
  EXPECT_EQ(plan["external_networks"], Json::array({{{"name", P + "-shared"}, {"driver", "bridge"},
                                                     {"services", Json::array({"app"})}}}));
  EXPECT_FALSE(plan["services"].contains("debug"));
  EXPECT_EQ(read_text(*dir + "/config" + wd + "/db/compose.db.yaml"), read_text(wd + "/db/compose.db.yaml"));

  // A drill: profiles, include, configs/secrets and the subpath in a sandbox.
  auto drill = bed.run("drill " + id + " --json");
  ASSERT_EQ(drill.exit_code, 0) << describe(drill);
  EXPECT_EQ(drill.summary["result"], "succeeded") << describe(drill);
  for (const char* what : {"ps -a --format '{{.Names}}'", "volume ls -q", "network ls --format '{{.Name}}'"}) {
    EXPECT_EQ(run_script(std::string("docker ") + what + " | grep -F -- drill-" + P + "-").output, "") << what;
  }

  // A copy beside the original: its own volumes and networks, the external one shared.
  const std::string copy = P + "c";
  s.also_remove(copy);
  auto c = bed.run("restore " + id + " --as " + copy + " --to " + s.root() + "/copy --json");
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  EXPECT_EQ(c.summary["compose_flavour"], "v2");
  EXPECT_EQ(project_containers(copy), copy + "-app-1 running\n" + copy + "-cache-1 running\n" + copy +
                                          "-db-1 running\n" + copy + "-init-1 exited\n" + copy + "-reports-1 running");
  EXPECT_EQ(in_container(container_of(copy, "app"), "cat /srv/shared-app/by-app.txt"), "app");
  EXPECT_EQ(in_container(container_of(copy, "db"), psql + "\"SELECT count(*) FROM items\""), "251");
  EXPECT_EQ(run_script("docker volume inspect " + copy + "_shared-data >/dev/null").exit_code, 0);
  EXPECT_EQ(stack_down("modern", copy, s.root() + "/copy", "v2").exit_code, 0);

  // The disaster: the project, its volumes, the external network, the working dir and
  // the data dir are gone.
  const std::string key_text = read_text(bed.data_dir() + "/key");
  const std::string store = bed.store_dir() + "/backups-root";
  ASSERT_EQ(compose_in(wd, P, "--profile '*' -f compose.yaml down -v").exit_code, 0);
  ASSERT_EQ(run_script("docker network rm " + P + "-shared").exit_code, 0);
  ASSERT_EQ(run_script("docker volume ls -q --filter name=" + P).output, "");
  fs::remove_all(wd);
  fs::remove_all(bed.data_dir());
  const std::string fresh = s.root() + "/fresh-data";
  fs::create_directories(fresh);
  std::ofstream(fresh + "/key") << key_text;
  ::chmod((fresh + "/key").c_str(), 0600);
  ASSERT_EQ(run_stacksnap(fresh, "target add local local --path " + store).exit_code, 0);
  ASSERT_EQ(run_stacksnap(fresh, "backups").exit_code, 0);

  auto r = run_stacksnap(fresh, "restore " + id + " --json");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.summary["compose_flavour"], "v2");
  EXPECT_TRUE(r.summary["problems"].empty()) << r.summary.dump();
  const std::string applied = r.summary["applied"].dump();
  EXPECT_NE(applied.find("created the external networks " + P + "-shared"), std::string::npos) << applied;
  // Health: the database was healthy before its dump went in, and every service before
  // the restore declared success.
  auto healthy_log = [](const Json& e, const std::string& service) {
    const std::string m = e.value("message", "");
    return e.value("type", "") == "log" && m.starts_with("healthy: ") && m.find(service) != std::string::npos;
  };
  const long db_healthy = event_index(r.events, [&](const Json& e) { return healthy_log(e, "db"); });
  const long replay = event_index(r.events, [](const Json& e) {
    return e.value("type", "") == "step_started" && e.value("step", "") == "replay:db";
  });
  const long all_healthy = event_index(r.events, [&](const Json& e) { return healthy_log(e, "app"); });
  EXPECT_GE(db_healthy, 0) << describe(r);
  EXPECT_LT(db_healthy, replay);
  EXPECT_GE(all_healthy, 0) << describe(r);
  // Running again as it ran: the profile's `reports` too, `debug` not, init completed.
  EXPECT_EQ(project_containers(P), P + "-app-1 running\n" + P + "-cache-1 running\n" + P + "-db-1 running\n" + P +
                                       "-init-1 exited\n" + P + "-reports-1 running");
  EXPECT_EQ(trimmed(run_script("docker inspect -f '{{.State.Health.Status}}' " + P + "-app-1").output), "healthy");
  EXPECT_EQ(in_container(s.container("db"), psql + "\"SELECT count(*) FROM items WHERE name = 'it-marker'\""), "1");
  EXPECT_EQ(in_container(s.container("cache"), "redis-cli GET it:marker"), "restored-ok");
  EXPECT_EQ(in_container(s.container("app"), "cat /srv/shared-app/by-app.txt /srv/state/flavour.txt"), "app\nmodern");
  EXPECT_EQ(in_container(s.container("app"), "cat /run/secrets/apikey /etc/app/app.conf"),
            "api-key-5521\ngreeting = \"hello from modern\"");
  EXPECT_EQ(in_container(s.container("reports"), "cat /reports/r1.txt"), "report-1");
  EXPECT_TRUE(fs::exists(wd + "/db/compose.db.yaml"));
  EXPECT_FALSE(fs::exists(wd + "/local.env"));
}

// ---- the lane's Compose ---------------------------------------------------------------

// Containers, volumes and networks carrying a project's label.
void remove_project_by_label(const std::string& project) {
  const std::string f = " --filter label=com.docker.compose.project=" + project;
  run_script("ids=$(docker ps -aq" + f + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null; vols=$(docker volume ls -q" +
             f + "); [ -z \"$vols\" ] || docker volume rm -f $vols >/dev/null; nets=$(docker network ls -q" + f +
             "); [ -z \"$nets\" ] || docker network rm $nets >/dev/null");
}

// A small project with a database, written by the test in a temp dir and brought up
// from that dir's root with `-f stacks/app/docker-compose.yml`, so that the invocation dir
// and the working dir differ. Removed (by label) with the object.
class SmallProject {
 public:
  static Result<std::unique_ptr<SmallProject>> start(const std::string& what) {
    TRY(ensure_fixture_images());
    auto tmp = TRY(TempDir::create("/var/tmp", "stacksnap-it-" + what + "-"));
    std::unique_ptr<SmallProject> sp(new SmallProject(stack_project(what + std::to_string(::getpid())), std::move(tmp)));
    sp->write();
    auto up = sp->compose("up -d");
    if (up.exit_code != 0) return internal_error(compose_command() + " up: " + up.output);
    TRY(sp->wait_ready());
    return sp;
  }
  ~SmallProject() { remove_project_by_label(project); }

  const std::string project;
  std::string root() const { return tmp_.path(); }
  std::string work_dir() const { return root() + "/stacks/app"; }
  // `cd root && <compose> -p P -f stacks/app/docker-compose.yml ARGS`
  ScriptResult compose(const std::string& args) const {
    return compose_in(root(), project, "-f stacks/app/docker-compose.yml " + args);
  }
  std::string container(const std::string& service) const { return container_of(project, service); }
  std::string psql(const std::string& sql) const {
    return in_container(container("db"), "psql -U small -d small -tAqc " + sh_quote(sql));
  }

 private:
  SmallProject(std::string p, TempDir tmp) : project(std::move(p)), tmp_(std::move(tmp)) {}
  void write() const {
    fs::create_directories(work_dir() + "/data");
    std::ofstream(work_dir() + "/docker-compose.yml")
        << "services:\n"
           "  db:\n"
           "    image: stacksnap-fixture/postgres:test\n"
           "    environment:\n"
           "      POSTGRES_USER: small\n"
           "      POSTGRES_PASSWORD: ${SMALL_DB_PASSWORD}\n"
           "      POSTGRES_DB: small\n"
           "    volumes:\n"
           "      - dbdata:/var/lib/postgresql/data\n"
           "  app:\n"
           "    image: " << kFixtureApp << "\n"
           "    env_file: app.env\n"
           "    command: [\"sh\", \"-c\", \"[ -f /state/seeded ] || { echo $$GREETING > /state/seeded; "
           "echo bind > /data/bind.txt; }; exec sleep infinity\"]\n"
           "    volumes:\n"
           "      - state:/state\n"
           "      - ./data:/data\n"
           "volumes:\n"
           "  dbdata:\n"
           "  state:\n";
    std::ofstream(work_dir() + "/.env") << "SMALL_DB_PASSWORD=small-pw-3141\n";
    std::ofstream(work_dir() + "/app.env") << "GREETING=hello-small\n";
  }
  Status wait_ready() const {
    for (int i = 0; i < 120; ++i) {
      const std::string db = container("db"), app = container("app");
      if (!db.empty() && !app.empty() &&
          run_script("docker exec -e PGPASSWORD=small-pw-3141 " + db +
                     " psql -h 127.0.0.1 -U small -d small -c 'select 1' >/dev/null 2>&1 && "
                     "docker exec " + app + " test -f /state/seeded").exit_code == 0) {
        return {};
      }
      ::usleep(500 * 1000);
    }
    return internal_error("project " + project + " did not become ready");
  }
  TempDir tmp_;
};

TEST(ComposeLane, ProjectStartedWithPFromAnotherDirectory) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto made = SmallProject::start("elsewhere");
  ASSERT_TRUE(made.ok()) << made.error().message();
  const SmallProject& sp = **made;
  // v1 records the file relative to where it ran; discovery still finds it.
  const std::string label = trimmed(run_script("docker inspect -f '{{index .Config.Labels \"com.docker.compose.project."
                                               "config_files\"}}' " + sp.container("app")).output);
  EXPECT_EQ(label, compose_v1_lane() ? "stacks/app/docker-compose.yml" : sp.work_dir() + "/docker-compose.yml");
  auto r = run_script(stacksnap::build_paths::binary() + " projects " + sp.project + " --json 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json p = Json::parse(r.output)["projects"][0];
  EXPECT_EQ(p["working_dir"], sp.work_dir());
  EXPECT_EQ(p["config_files"], Json::array({sp.work_dir() + "/docker-compose.yml"}));
  EXPECT_EQ(p["env_files"], Json::array({sp.work_dir() + "/.env", sp.work_dir() + "/app.env"}));
  EXPECT_EQ(p["warnings"], Json::array()) << p["warnings"].dump();
  EXPECT_EQ(p["compose_flavour"], compose_flavour());

  auto bed_r = BackupBed::create(sp.root());
  ASSERT_TRUE(bed_r.ok());
  auto& bed = **bed_r;
  sp.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)");
  auto b = bed.backup(sp.project);
  ASSERT_EQ(b.exit_code, 0) << b.out;
  const std::string id = b.summary.value("backup_id", "");

  ASSERT_EQ(sp.compose("down -v").exit_code, 0);
  fs::remove_all(sp.work_dir());
  auto rr = bed.run("restore " + id + " --json");
  ASSERT_EQ(rr.exit_code, 0) << describe(rr);
  EXPECT_EQ(rr.summary["compose_flavour"], compose_flavour()) << "the flavour that created the project";
  EXPECT_EQ(sp.psql("SELECT count(*) FROM t"), "2");
  EXPECT_EQ(in_container(sp.container("app"), "cat /state/seeded /data/bind.txt"), "hello-small\nbind");
  EXPECT_TRUE(fs::exists(sp.work_dir() + "/docker-compose.yml"));
}

TEST(ComposeLane, ComposeFilesGoneStillBackUpAndRestoreSaysWhatIsMissing) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto made = SmallProject::start("nofiles");
  ASSERT_TRUE(made.ok()) << made.error().message();
  const SmallProject& sp = **made;
  sp.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (7)");
  const std::string compose_file = sp.work_dir() + "/docker-compose.yml";
  const std::string compose_text = read_text(compose_file);
  fs::remove(compose_file);

  // Discovery says so; the backup still holds the dump, the volumes and what is left.
  auto pr = run_script(stacksnap::build_paths::binary() + " projects " + sp.project + " --json 2>&1");
  ASSERT_EQ(pr.exit_code, 0) << pr.output;
  const Json p = Json::parse(pr.output)["projects"][0];
  EXPECT_EQ(p["missing_files"], Json::array({compose_file}));
  EXPECT_NE(p["warnings"].dump().find(compose_file + " is not on this host"), std::string::npos) << p.dump();
  auto bed_r = BackupBed::create(sp.root());
  ASSERT_TRUE(bed_r.ok());
  auto& bed = **bed_r;
  auto b = bed.backup(sp.project);
  ASSERT_EQ(b.exit_code, 0) << b.out;
  const std::string id = b.summary.value("backup_id", "");
  auto dir = bed.extract(id);
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(fs::exists(*dir + "/dumps/db/small.pgdump"));
  EXPECT_EQ(read_text(*dir + "/volumes/" + sp.project + "_state/seeded"), "hello-small\n");
  EXPECT_FALSE(fs::exists(*dir + "/config" + compose_file));
  const Json plan = Json::parse(read_text(*dir + "/stacksnap/plan.json"));
  EXPECT_EQ(plan["missing_config"], Json::array({compose_file}));

  // The project is gone; the restore names the file and changes nothing.
  remove_project_by_label(sp.project);
  auto refused = bed.run("restore " + id + " --json");
  EXPECT_EQ(refused.exit_code, 5) << describe(refused);
  EXPECT_NE(refused.message().find("holds no copy of its compose file " + compose_file), std::string::npos)
      << describe(refused);
  EXPECT_NE(refused.message().find("Nothing was changed"), std::string::npos) << describe(refused);
  EXPECT_EQ(run_script("docker volume ls -q --filter label=com.docker.compose.project=" + sp.project).output, "");
  EXPECT_EQ(run_script("docker ps -aq --filter label=com.docker.compose.project=" + sp.project).output, "");

  // With the file back where it was, the same backup restores.
  std::ofstream(compose_file) << compose_text;
  auto r = bed.run("restore " + id + " --json");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(sp.psql("SELECT x FROM t"), "7");
  EXPECT_EQ(in_container(sp.container("app"), "cat /state/seeded"), "hello-small");
}

TEST(ComposeLane, AHealthcheckThatNeverPassesIsNamedWithItsOutput) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_fixture_images().ok());
  auto tmp = TempDir::create("/var/tmp", "stacksnap-it-unhealthy-");
  ASSERT_TRUE(tmp.ok());
  const std::string project = stack_project("unhealthy" + std::to_string(::getpid()));
  std::ofstream(tmp->path() + "/docker-compose.yml")
      << "services:\n"
         "  web:\n"
         "    image: " << kFixtureApp << "\n"
         "    command: [\"sleep\", \"infinity\"]\n"
         "    healthcheck:\n"
         "      test: [\"CMD-SHELL\", \"echo no-such-marker >&2; test -f /nope\"]\n"
         "      interval: 1s\n"
         "      retries: 1\n"
         "  plain:\n"
         "    image: " << kFixtureApp << "\n"
         "    command: [\"sleep\", \"infinity\"]\n";
  ASSERT_EQ(compose_in(tmp->path(), project, "up -d").exit_code, 0);
  job::EventRecorder events;
  job::Context ctx(events, {});
  auto st = restore::wait_until_healthy(*d, project, {"plain", "web"}, {"plain", "web"}, std::chrono::seconds(6), ctx);
  compose_in(tmp->path(), project, "down -v");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDeadlineExceeded);
  EXPECT_NE(st.error().message().find("web: "), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find(" is unhealthy (last check: no-such-marker)"), std::string::npos)
      << st.error().message();
  EXPECT_EQ(st.error().message().find("plain:"), std::string::npos) << st.error().message();
}

}  // namespace
}  // namespace stacksnap::it
