// The `stacksnap projects` command as a user runs it: JSON, table, bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/build_paths.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

std::string bin() { return stacksnap::build_paths::binary(); }

nlohmann::json find(const nlohmann::json& arr, const std::string& key, const std::string& value) {
  for (const auto& e : arr) {
    if (e.value(key, "") == value) return e;
  }
  return nullptr;
}

TEST(CliProjects, JsonDescribesTheSampleStacks) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto r = run_script(bin() + " projects --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["schema"], "stacksnap.projects/v1");
  EXPECT_EQ(j["engine"]["api_version"], d->api_version().to_string());

  const std::string shop_name = stack_project("shop"), shop_dir = stack_dir(shop_name);
  auto shop = find(j["projects"], "name", shop_name);
  ASSERT_FALSE(shop.is_null());
  EXPECT_EQ(shop["config_files"][0], shop_dir + "/docker-compose.yml");
  EXPECT_EQ(shop["config_files"][1], shop_dir + "/docker-compose.override.yml");
  // Which Compose created it: the flavour and its version.
  EXPECT_EQ(shop["compose_flavour"], compose_flavour());
  EXPECT_EQ(shop["compose_version"].get<std::string>().substr(0, 2), compose_v1_lane() ? "1." : "2.");
  EXPECT_EQ(find(shop["services"], "name", "db")["engine"], "postgres");
  EXPECT_EQ(find(shop["services"], "name", "db")["engine_detected_by"], "image");
  EXPECT_EQ(find(shop["services"], "name", "cache")["engine"], "redis");
  EXPECT_EQ(find(shop["services"], "name", "web")["engine"], "none");
  EXPECT_EQ(find(shop["volumes"], "key", "appdata")["name"], shop_name + "_appdata");
  EXPECT_EQ(find(shop["binds"], "container_path", "/srv/uploads")["host_path"], shop_dir + "/uploads");

  auto files = find(j["projects"], "name", stack_project("files"));
  ASSERT_FALSE(files.is_null());
  EXPECT_EQ(find(files["volumes"], "key", "archive")["name"], stack_project("files") + "-archive");
  EXPECT_EQ(find(files["volumes"], "key", "scratch")["excluded"], true);

  auto wiki = find(j["projects"], "name", stack_project("wiki"));
  EXPECT_EQ(find(wiki["services"], "name", "mariadb")["engine"], "mysql");
}

TEST(CliProjects, OneProjectAsATable) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  const std::string shop = stack_project("shop");
  auto r = run_script(bin() + " projects " + shop);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // "PROJECT ssit-shop  (running, compose v2 2.26.1)" / "(running, compose v1 1.29.2)"
  EXPECT_NE(r.output.find("PROJECT " + shop + "  (running, compose " + compose_flavour() + " " +
                          (compose_v1_lane() ? "1." : "2.")),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(stack_dir(shop) + "/docker-compose.override.yml"), std::string::npos);
  EXPECT_NE(r.output.find(shop + "_dbdata"), std::string::npos);
  EXPECT_EQ(r.output.find("PROJECT " + stack_project("wiki")), std::string::npos);
}

TEST(CliProjects, UnknownProjectExitsTwoNamingTheOthers) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto r = run_script(bin() + " projects no-such-project");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("stacksnap: no Compose project named 'no-such-project'; projects on this engine: "),
            std::string::npos)
      << r.output;
}

TEST(CliProjects, UnreachableEngineIsOneLineAndExitOne) {
  auto r = run_script("DOCKER_HOST=unix:///nonexistent/docker.sock " + bin() + " projects");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output,
            "stacksnap: cannot reach the Docker Engine at unix:///nonexistent/docker.sock: no such file or directory\n");
  auto tcp = run_script("DOCKER_HOST=tcp://127.0.0.1:1 " + bin() + " projects --json");
  EXPECT_EQ(tcp.exit_code, 1);
  EXPECT_EQ(tcp.output, "stacksnap: cannot reach the Docker Engine at tcp://127.0.0.1:1: connection refused\n");
}

}  // namespace
}  // namespace stacksnap::it
