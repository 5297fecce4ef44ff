// Where a restore puts things (placement) and the drill/copy compose rewrite.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace stacksnap::restore
