// Where a restore puts things (placement) and the drill/copy compose rewrite.
#include <gtest/gtest.h>

#include "restore/bring_up.h"
#include "restore/compose.h"
#include "restore/placement.h"

namespace stacksnap::restore {
namespace {

Json sample_plan() {
  return Json::parse(R"({
    "project": "shop", "working_dir": "/srv/shop",
    "config_files": ["/srv/shop/docker-compose.yml"], "environment_file": "",
    "config": [{"path": "/srv/shop/docker-compose.yml", "role": "compose", "archive_path": "config/srv/shop/docker-compose.yml"},
               {"path": "/etc/shop.env", "role": "env_file", "archive_path": "config/etc/shop.env"}],
    "binds": [{"index": 0, "host_path": "/srv/shop/uploads", "dir": "binds/0", "inside_project": true},
              {"index": 1, "host_path": "/data/shared", "dir": "binds/1", "inside_project": false}],
    "volumes": [{"name": "shop_appdata", "key": "appdata", "external": false, "driver": "local", "dir": "volumes/shop_appdata"},
                {"name": "files-archive", "key": "archive", "external": false, "driver": "local", "dir": "volumes/files-archive"},
                {"name": "ext", "key": "ext", "external": true, "driver": "local", "dir": "volumes/ext"}]
  })");
}

TEST(RestorePlacement, InPlaceKeepsNamesAndPaths) {
  auto p = make_placement(sample_plan(), Mode::kInPlace, "", "");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->project, "shop");
  EXPECT_EQ(p->binds[0].host_path, "/srv/shop/uploads");
  EXPECT_EQ(p->binds[1].host_path, "/data/shared");
  EXPECT_EQ(p->configs[1].host_path, "/etc/shop.env");
  EXPECT_EQ(p->volumes[1].name, "files-archive");
  EXPECT_TRUE(p->volumes[2].external);
  EXPECT_EQ(p->compose_files, std::vector<std::string>{"/srv/shop/docker-compose.yml"});
}

TEST(RestorePlacement, InPlaceUnderToMovesOnlyTheWorkingDir) {
  auto p = make_placement(sample_plan(), Mode::kInPlace, "", "/new/shop/");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->working_dir, "/new/shop");
  EXPECT_EQ(p->binds[0].host_path, "/new/shop/uploads");
  EXPECT_EQ(p->binds[1].host_path, "/data/shared");
  EXPECT_EQ(p->configs[0].host_path, "/new/shop/docker-compose.yml");
  EXPECT_EQ(p->configs[1].host_path, "/new/shop/_host/etc/shop.env");
  EXPECT_EQ(p->compose_files, std::vector<std::string>{"/new/shop/docker-compose.yml"});
}

TEST(RestorePlacement, CopyNeverSharesAnythingWithTheOriginal) {
  auto p = make_placement(sample_plan(), Mode::kCopy, "shop2", "/r/shop2");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->binds[1].host_path, "/r/shop2/_binds/1");
  EXPECT_EQ(p->volumes[0].name, "shop2_appdata");
  EXPECT_EQ(p->volumes[1].name, "shop2_archive");
  EXPECT_EQ(p->volumes[2].name, "shop2_ext");
  EXPECT_FALSE(p->volumes[2].external);
}

TEST(RestorePlacement, RejectsBadNames) {
  EXPECT_FALSE(make_placement(sample_plan(), Mode::kCopy, "Shop", "/x").ok());
  EXPECT_FALSE(make_placement(sample_plan(), Mode::kCopy, "-x", "/x").ok());
  EXPECT_FALSE(make_placement(sample_plan(), Mode::kCopy, "x", "").ok());
  EXPECT_EQ(relative_to("/a/b/c", "/a/b"), std::optional<std::string>("c"));
  EXPECT_EQ(relative_to("/a/bc", "/a/b"), std::nullopt);
  EXPECT_EQ(relative_to("/a/b", "/a/b/"), std::optional<std::string>(""));
}

TEST(RestoreSandbox, StripsWhatWouldCollide) {
  auto p = make_placement(sample_plan(), Mode::kDrill, "drill-shop-abc123", "/d/project");
  ASSERT_TRUE(p.ok());
  Json config = Json::parse(R"({
    "services": {
      "web": {"image": "app", "container_name": "shop-web", "ports": ["8080:80"],
              "networks": ["default", "proxy"],
              "healthcheck": {"test": ["CMD", "true"], "retries": "3"},
              "environment": {"PORT": "0800"},
              "volumes": ["/data/shared:/shared:ro", "/data/shared/sub:/sub", "appdata:/srv:rw",
                          {"type": "bind", "source": "/data/shared", "target": "/x"}, "/var/run/docker.sock:/s"]}},
    "networks": {"proxy": {"external": true}, "default": {"name": "fixed-net"}},
    "volumes": {"appdata": {}, "archive": {"name": "files-archive"}, "ext": {"external": true}}
  })");
  auto out = sandbox_compose(config, *p, /*strip_ports=*/true);
  ASSERT_TRUE(out.ok()) << out.error().message();
  const Json& web = (*out)["services"]["web"];
  EXPECT_FALSE(web.contains("container_name"));
  EXPECT_FALSE(web.contains("ports"));
  EXPECT_EQ(web["networks"], Json::array({"default"}));
  EXPECT_EQ(web["healthcheck"]["retries"], 3);
  EXPECT_EQ(web["environment"]["PORT"], "0800");
  EXPECT_EQ(web["volumes"][0], "/d/project/_binds/1:/shared:ro");
  EXPECT_EQ(web["volumes"][1], "/d/project/_binds/1/sub:/sub");
  EXPECT_EQ(web["volumes"][2], "appdata:/srv:rw");
  EXPECT_EQ(web["volumes"][3]["source"], "/d/project/_binds/1");
  EXPECT_EQ(web["volumes"][4], "/var/run/docker.sock:/s");
  EXPECT_FALSE((*out)["networks"].contains("proxy"));
  EXPECT_FALSE((*out)["networks"]["default"].contains("name"));
  EXPECT_FALSE((*out)["volumes"]["archive"].contains("name"));
  EXPECT_FALSE((*out)["volumes"]["ext"].contains("external"));

  auto copy = sandbox_compose(config, *p, /*strip_ports=*/false);
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE((*copy)["services"]["web"].contains("ports"));
  EXPECT_FALSE((*copy)["services"]["web"].contains("container_name"));
}

TEST(RestoreSandbox, FileConfigsAndSecretsFollowTheirBinds) {
  // Compose v2 mounts file-based configs and secrets as binds of those files; `compose
  // config` prints them as absolute paths of the original's directory.
  Json plan = sample_plan();
  plan["binds"].push_back({{"index", 2}, {"host_path", "/srv/shop/config/app.conf"}, {"dir", "binds/2"}});
  plan["binds"].push_back({{"index", 3}, {"host_path", "/srv/shop/secrets/api.key"}, {"dir", "binds/3"}});
  auto p = make_placement(plan, Mode::kCopy, "shopcopy", "/copies/shop");
  ASSERT_TRUE(p.ok()) << p.error().message();
  Json config = Json::parse(R"({
    "services": {"app": {"image": "app", "configs": [{"source": "appconf", "target": "/etc/app.conf"}],
                         "secrets": [{"source": "apikey", "target": "/run/secrets/apikey"}]}},
    "configs": {"appconf": {"name": "shop_appconf", "file": "/srv/shop/config/app.conf"}},
    "secrets": {"apikey": {"name": "shop_apikey", "file": "/srv/shop/secrets/api.key"},
                "fromenv": {"environment": "TOKEN"}}
  })");
  auto out = sandbox_compose(config, *p, /*strip_ports=*/false);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ((*out)["configs"]["appconf"]["file"], "/copies/shop/config/app.conf");
  EXPECT_EQ((*out)["secrets"]["apikey"]["file"], "/copies/shop/secrets/api.key");
  EXPECT_EQ((*out)["secrets"]["fromenv"]["environment"], "TOKEN");
}

TEST(RestoreBringUp, StartsTheServicesThatHadContainers) {
  // `reports` ran (its profile was active), `debug` never had a container (its profile
  // was not): a restore names app, init and reports to `compose up`, never debug.
  Json plan = Json::parse(R"({"services": {
    "app": {"containers": ["p-app-1"], "running": true},
    "init": {"containers": ["p-init-1"], "running": false},
    "reports": {"containers": ["p-reports-1"], "running": true},
    "debug": {"containers": [], "running": false}}})");
  auto s = services_to_start(plan);
  EXPECT_EQ(s.all, (std::vector<std::string>{"app", "init", "reports"}));
  EXPECT_EQ(s.running, (std::set<std::string>{"app", "reports"}));
}

TEST(RestoreBringUp, MissingComposeFilesAreNamedBeforeAnyChange) {
  Json plan = sample_plan();
  plan["config_files"] = Json::array({"/nonexistent/stacksnap-test/compose.yaml"});
  plan["missing_config"] = Json::array({"/nonexistent/stacksnap-test/compose.yaml",
                                        "/nonexistent/stacksnap-test/db/compose.db.yaml"});
  auto p = make_placement(plan, Mode::kInPlace, "", "");
  ASSERT_TRUE(p.ok()) << p.error().message();
  auto st = check_compose_files(plan, *p, "20260101T000000Z-abcdef01");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kFailedPrecondition);
  const std::string& m = st.error().message();
  EXPECT_NE(m.find("/nonexistent/stacksnap-test/compose.yaml, /nonexistent/stacksnap-test/db/compose.db.yaml"),
            std::string::npos) << m;
  EXPECT_NE(m.find("Nothing was changed."), std::string::npos) << m;
  // In the backup: fine.
  EXPECT_TRUE(check_compose_files(sample_plan(), *make_placement(sample_plan(), Mode::kInPlace, "", ""), "x").ok());
}

TEST(RestoreCompose, TheFlavourThatCreatedTheProjectUnlessTold) {
  ComposeTools both{.v2 = ComposeTool{.argv0 = {"docker", "compose"}, .version = "2.26.1", .v2 = true},
                    .v1 = ComposeTool{.argv0 = {"docker-compose"}, .version = "1.29.2", .v2 = false}};
  std::string note;
  EXPECT_EQ(choose_compose(both, ComposeChoice::kAuto, "1.29.2", &note)->version, "1.29.2");
  EXPECT_EQ(choose_compose(both, ComposeChoice::kAuto, "2.26.1", &note)->version, "2.26.1");
  EXPECT_EQ(choose_compose(both, ComposeChoice::kAuto, "", &note)->version, "2.26.1");
  EXPECT_EQ(choose_compose(both, ComposeChoice::kV2, "1.29.2", &note)->version, "2.26.1");
  EXPECT_EQ(choose_compose(both, ComposeChoice::kV1, "2.26.1", &note)->version, "1.29.2");
  EXPECT_TRUE(note.empty()) << note;

  ComposeTools only_v2{.v2 = both.v2};
  auto t = choose_compose(only_v2, ComposeChoice::kAuto, "1.29.2", &note);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->v2);
  EXPECT_NE(note.find("created by Compose v1 1.29.2"), std::string::npos) << note;
  auto refused = choose_compose(only_v2, ComposeChoice::kV1, "1.29.2");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("--compose v1"), std::string::npos);
  EXPECT_EQ(choose_compose(ComposeTools{.problems = "none here"}, ComposeChoice::kAuto, "").error().code(),
            Code::kNotFound);

  EXPECT_EQ(*parse_compose_choice("v1"), ComposeChoice::kV1);
  EXPECT_EQ(*parse_compose_choice(""), ComposeChoice::kAuto);
  EXPECT_FALSE(parse_compose_choice("v3").ok());
}

}  // namespace
}  // namespace stacksnap::restore
