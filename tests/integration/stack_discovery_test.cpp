// Compose discovery against the real Engine and the three sample stacks, plus a
// synthetic project whose engines can only be told by label or by process.
#include <gtest/gtest.h>

#include <thread>

#include "stack/discovery.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using stack::Engine;
using stack::EngineSource;

class StackDiscovery : public ::testing::Test {
 protected:
  void SetUp() override {
    d_ = engine();
    ASSERT_NE(d_, nullptr);
    auto st = ensure_sample_stacks();
    ASSERT_TRUE(st.ok()) << st.error().message();
  }
  stack::Project project(const std::string& name) {
    auto p = stack::discover_project(*d_, name);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message());
    return p.ok() ? *p : stack::Project{};
  }
  docker::Client* d_ = nullptr;
};

TEST_F(StackDiscovery, FindsTheThreeSampleStacks) {
  auto all = stack::discover_projects(*d_);
  ASSERT_TRUE(all.ok()) << all.error().message();
  std::vector<std::string> names;
  for (const auto& p : *all) names.push_back(p.name);
  for (const char* n : {"files", "shop", "wiki"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), stack_project(n)), names.end()) << stack_project(n);
  }
}

TEST_F(StackDiscovery, Shop) {
  const std::string name = stack_project("shop");
  auto p = project(name);
  const std::string wd = stack_dir(name);
  EXPECT_EQ(p.working_dir, wd);
  EXPECT_EQ(p.state, stack::ProjectState::kRunning);
  EXPECT_EQ(p.compose_version.substr(0, 2), compose_v1_lane() ? "1." : "2.") << p.compose_version;
  EXPECT_EQ(p.compose_flavour(), compose_flavour());
  // v1 writes relative config files, v2 absolute ones: both resolved, absolute, in order.
  EXPECT_EQ(p.config_files, (std::vector<std::string>{wd + "/docker-compose.yml", wd + "/docker-compose.override.yml"}));
  EXPECT_EQ(p.env_files, (std::vector<std::string>{wd + "/.env", wd + "/app.env"}));
  ASSERT_EQ(p.services.size(), 3u);

  const auto* db = p.find_service("db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->engine.engine, Engine::kPostgres);
  EXPECT_EQ(db->engine.source, EngineSource::kImage);
  const auto* cache = p.find_service("cache");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->engine.engine, Engine::kRedis);
  // The app image ships pg_dump and redis-cli: still not a database.
  const auto* web = p.find_service("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->engine.engine, Engine::kNone);
  EXPECT_EQ(web->engine.source, EngineSource::kDefault);
  EXPECT_EQ(web->hooks.at("pre-backup"), "sh -c 'echo maintenance on > /srv/data/.maintenance'");
  EXPECT_EQ(web->hooks.at("post-backup"), "rm -f /srv/data/.maintenance");
  EXPECT_EQ(web->env_files, std::vector<std::string>{wd + "/app.env"});
  ASSERT_EQ(web->containers.size(), 1u);
  EXPECT_EQ(web->containers[0].name, compose_v1_lane() ? name + "_web_1" : name + "-web-1");
  EXPECT_EQ(web->containers[0].state, "running");
  // tmpfs is on the service, never a volume or a bind.
  EXPECT_TRUE(std::any_of(web->mounts.begin(), web->mounts.end(), [](const stack::Mount& m) {
    return m.type == stack::MountType::kTmpfs && m.destination == "/tmp/cache";
  }));

  std::vector<std::pair<std::string, std::string>> vols;
  for (const auto& v : p.volumes) vols.emplace_back(v.key, v.name);
  EXPECT_EQ(vols, (std::vector<std::pair<std::string, std::string>>{
                      {"appdata", name + "_appdata"}, {"cachedata", name + "_cachedata"}, {"dbdata", name + "_dbdata"}}));
  const auto* appdata = p.find_volume("appdata");
  ASSERT_NE(appdata, nullptr);
  ASSERT_EQ(appdata->used_by.size(), 1u);
  EXPECT_EQ(appdata->used_by[0].service, "web");
  EXPECT_EQ(appdata->used_by[0].destination, "/srv/data");
  EXPECT_FALSE(appdata->external);

  ASSERT_EQ(p.binds.size(), 2u);
  EXPECT_EQ(p.binds[0].host_path, wd + "/initdb");
  EXPECT_TRUE(p.binds[0].read_only);
  EXPECT_EQ(p.binds[1].host_path, wd + "/uploads");
  EXPECT_EQ(p.binds[1].container_path, "/srv/uploads");
  EXPECT_FALSE(p.binds[1].read_only);
  EXPECT_EQ(p.binds[1].services, std::vector<std::string>{"web"});
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();
}

TEST_F(StackDiscovery, Wiki) {
  const std::string name = stack_project("wiki");
  auto p = project(name);
  const std::string wd = stack_dir(name);
  EXPECT_EQ(p.env_files, std::vector<std::string>{wd + "/.env"});
  EXPECT_EQ(p.find_service("mariadb")->engine.engine, Engine::kMysql);
  EXPECT_EQ(p.find_service("app")->engine.engine, Engine::kNone);
  ASSERT_NE(p.find_volume("wikidb"), nullptr);
  EXPECT_EQ(p.find_volume("wikidb")->name, name + "_wikidb");
  ASSERT_NE(p.find_volume("images"), nullptr);
  // A file bind mount (the secret) is a bind like any other.
  EXPECT_TRUE(std::any_of(p.binds.begin(), p.binds.end(), [&](const stack::Bind& b) {
    return b.host_path == wd + "/secrets/root_pw" && b.read_only;
  }));
}

TEST_F(StackDiscovery, FilesWithACustomVolumeNameAndAnExclusion) {
  const std::string name = stack_project("files");
  auto p = project(name);
  ASSERT_EQ(p.services.size(), 1u);
  EXPECT_EQ(p.services[0].engine.engine, Engine::kNone);
  // v1 labels the `name:` volume with its custom name (v2 with its key); the compose
  // file (interpolated with the project's .env) gives the key either way.
  const auto* archive = p.find_volume("archive");
  ASSERT_NE(archive, nullptr);
  EXPECT_EQ(archive->key, "archive");
  EXPECT_EQ(archive->name, name + "-archive");
  EXPECT_FALSE(archive->excluded);
  const auto* scratch = p.find_volume("scratch");
  ASSERT_NE(scratch, nullptr);
  EXPECT_EQ(scratch->name, name + "_scratch");
  EXPECT_TRUE(scratch->excluded);
  EXPECT_EQ(p.env_files, std::vector<std::string>{stack_dir(name) + "/.env"});
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();
}

TEST_F(StackDiscovery, UnknownProjectNamesTheExistingOnes) {
  auto p = stack::discover_project(*d_, "no-such-project");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), Code::kNotFound);
  const auto& m = p.error().message();
  EXPECT_TRUE(m.starts_with("no Compose project named 'no-such-project'; projects on this engine: ")) << m;
  for (const char* n : {"files", "shop", "wiki"}) EXPECT_NE(m.find(stack_project(n)), std::string::npos) << m;
}

// A project made of app-image containers (the image name gives no hint): engines come
// from the stacksnap.engine label or from the server process `top` shows.
TEST_F(StackDiscovery, EnginesByLabelAndByProcess) {
  std::string project = unique_name("detect");
  auto labels = [&](const std::string& service) {
    return docker::Labels{{"com.docker.compose.project", project},
                          {"com.docker.compose.service", service},
                          {"com.docker.compose.oneoff", "False"},
                          {"com.docker.compose.container-number", "1"},
                          {"com.docker.compose.config-hash", "0123"},
                          {"com.docker.compose.project.working_dir", "/nonexistent/" + project},
                          {"com.docker.compose.project.config_files", "docker-compose.yml"},
                          {"com.docker.compose.version", "2.29.1"}};
  };
  std::vector<std::unique_ptr<Throwaway>> boxes;
  auto make = [&](const std::string& service, docker::CreateContainerOptions o, bool start,
                  docker::Labels extra = {}) {
    o.labels = labels(service);
    for (auto& [k, v] : extra) o.labels[k] = v;
    auto t = Throwaway::create(*d_, service, std::move(o), start);
    ASSERT_TRUE(t.ok()) << t.error().message();
    boxes.push_back(std::move(*t));
  };
  make("kv", {.cmd = {"redis-server", "--port", "6399", "--save", "", "--appendonly", "no"}}, true);
  make("client", {.cmd = {"sleep", "infinity"}}, true);
  make("tagged", {.cmd = {"sleep", "infinity"}}, true, {{"stacksnap.engine", "postgres"}});
  make("stopped-pg", {.image = "stacksnap-fixture/postgres:test"}, false);

  // Let redis-server replace the entrypoint's shell (exec) before `top` looks.
  for (int i = 0; i < 50; ++i) {
    auto top = d_->top(boxes[0]->id(), "-o pid,comm,args");
    if (top.ok() && std::any_of(top->processes.begin(), top->processes.end(),
                                [](const auto& p) { return p.size() > 1 && p[1] == "redis-server"; })) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto p = stack::discover_project(*d_, project);
  ASSERT_TRUE(p.ok()) << p.error().message();
  ASSERT_EQ(p->services.size(), 4u);
  const auto* kv = p->find_service("kv");
  EXPECT_EQ(kv->engine.engine, Engine::kRedis);
  EXPECT_EQ(kv->engine.source, EngineSource::kProcess);
  EXPECT_EQ(kv->engine.evidence, "process redis-server");
  const auto* client = p->find_service("client");
  EXPECT_EQ(client->engine.engine, Engine::kNone);  // ships redis-cli and pg_dump, runs neither server
  const auto* tagged = p->find_service("tagged");
  EXPECT_EQ(tagged->engine.engine, Engine::kPostgres);
  EXPECT_EQ(tagged->engine.source, EngineSource::kLabel);
  const auto* stopped = p->find_service("stopped-pg");
  EXPECT_EQ(stopped->engine.engine, Engine::kPostgres);
  EXPECT_EQ(stopped->engine.source, EngineSource::kImage);
  EXPECT_FALSE(stopped->running());
  EXPECT_EQ(p->state, stack::ProjectState::kPartial);
  // v2-style absolute resolution does not apply: a relative label resolves against working_dir.
  EXPECT_EQ(p->config_files, std::vector<std::string>{"/nonexistent/" + project + "/docker-compose.yml"});
  EXPECT_FALSE(p->warnings.empty());  // the compose file cannot be read: said, not fatal

  // Stopped projects are listed too.
  for (auto& b : boxes) ASSERT_TRUE(d_->stop_container(b->id(), 1).ok());
  auto all = stack::discover_projects(*d_);
  ASSERT_TRUE(all.ok());
  auto it = std::find_if(all->begin(), all->end(), [&](const stack::Project& x) { return x.name == project; });
  ASSERT_NE(it, all->end());
  EXPECT_EQ(it->state, stack::ProjectState::kStopped);
  EXPECT_EQ(it->find_service("tagged")->engine.engine, Engine::kPostgres);
  EXPECT_EQ(it->find_service("kv")->engine.engine, Engine::kNone);  // no process to see when stopped
}

}  // namespace
}  // namespace stacksnap::it
