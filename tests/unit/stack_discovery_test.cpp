// Pure rules of Compose discovery: engine detection, config-file paths, volume keys,
// YAML and .env reading, compose merging.
#include <gtest/gtest.h>

#include "stack/compose_file.h"
#include "stack/discovery.h"
#include "stack/engine_detect.h"
#include "stack/yaml.h"

namespace stacksnap::stack {
namespace {

docker::TopResult top_of(std::vector<std::vector<std::string>> procs) {
  return {{"PID", "COMMAND", "COMMAND"}, std::move(procs)};
}

TEST(StackEngine, ImageNames) {
  EXPECT_EQ(engine_from_image("postgres:16-alpine"), Engine::kPostgres);
  EXPECT_EQ(engine_from_image("stacksnap-fixture/postgres:test"), Engine::kPostgres);
  EXPECT_EQ(engine_from_image("pgvector/pgvector:pg16"), Engine::kPostgres);
  EXPECT_EQ(engine_from_image("timescale/timescaledb-ha:pg16"), Engine::kPostgres);
  EXPECT_EQ(engine_from_image("postgis/postgis"), Engine::kPostgres);
  EXPECT_EQ(engine_from_image("bitnami/postgresql:15"), Engine::kPostgres);
  EXPECT_EQ(engine_from_image("docker.io/library/mysql:8@sha256:abcd"), Engine::kMysql);
  EXPECT_EQ(engine_from_image("mariadb:11"), Engine::kMysql);
  EXPECT_EQ(engine_from_image("percona/percona-server:8.0"), Engine::kMysql);
  EXPECT_EQ(engine_from_image("localhost:5000/cache/redis:7"), Engine::kRedis);
  EXPECT_EQ(engine_from_image("valkey/valkey:8"), Engine::kRedis);
  EXPECT_EQ(engine_from_image("eqalpha/keydb"), Engine::kRedis);
  EXPECT_EQ(engine_from_image("REDIS"), Engine::kRedis);
  // Not databases, though their names mention one.
  EXPECT_EQ(engine_from_image("rediscommander/redis-commander"), std::nullopt);
  EXPECT_EQ(engine_from_image("prometheuscommunity/postgres-exporter"), std::nullopt);
  EXPECT_EQ(engine_from_image("stacksnap-fixture/app:test"), std::nullopt);
  EXPECT_EQ(engine_from_image("sha256:0123"), std::nullopt);
  EXPECT_EQ(image_base_name("ghcr.io/acme/Postgres:16@sha256:x"), "postgres");
}

TEST(StackEngine, ServerProcessesNotClients) {
  auto pg = engine_from_processes(top_of({{"1", "tini", "/usr/bin/tini -- pg-entrypoint postgres"},
                                          {"2", "postgres", "postgres -D /var/lib/postgresql/data"},
                                          {"3", "postgres", "postgres: checkpointer"}}));
  ASSERT_TRUE(pg);
  EXPECT_EQ(pg->first, Engine::kPostgres);
  EXPECT_EQ(pg->second, "postgres");
  // argv[0] with a path and a trailing ':' (postgres children rename themselves).
  auto path = engine_from_processes(top_of({{"9", "bash", "/usr/lib/postgresql/15/bin/postgres: walwriter"}}));
  ASSERT_TRUE(path);
  EXPECT_EQ(path->first, Engine::kPostgres);
  EXPECT_EQ(engine_from_processes(top_of({{"5", "mariadbd", "mariadbd --user=mysql"}}))->first, Engine::kMysql);
  EXPECT_EQ(engine_from_processes(top_of({{"5", "mysqld", "/usr/sbin/mysqld"}}))->first, Engine::kMysql);
  EXPECT_EQ(engine_from_processes(top_of({{"5", "redis-server", "redis-server *:6379"}}))->first, Engine::kRedis);
  EXPECT_EQ(engine_from_processes(top_of({{"5", "valkey-server", "valkey-server *:6379"}}))->first, Engine::kRedis);
  // An application that ships and runs clients is not a database.
  EXPECT_FALSE(engine_from_processes(top_of({{"1", "sleep", "sleep infinity"},
                                             {"2", "redis-cli", "redis-cli monitor"},
                                             {"3", "pg_dump", "pg_dump -Fc shop"},
                                             {"4", "sh", "sh -c redis-server is not argv0"}})));
  // The Engine's default -ef titles.
  docker::TopResult ef{{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
                       {{"999", "7", "1", "0", "10:00", "?", "00:00:01", "redis-server *:6379"}}};
  EXPECT_EQ(engine_from_processes(ef)->first, Engine::kRedis);
}

TEST(StackEngine, OrderLabelThenImageThenProcess) {
  int top_calls = 0;
  auto redis_top = [&]() -> std::optional<docker::TopResult> {
    ++top_calls;
    return top_of({{"1", "redis-server", "redis-server"}});
  };
  std::vector<std::string> warnings;
  // Label wins over image and process, and top is never asked.
  auto d = detect_engine({{"stacksnap.engine", "mysql"}}, "postgres:16", redis_top, &warnings);
  EXPECT_EQ(d.engine, Engine::kMysql);
  EXPECT_EQ(d.source, EngineSource::kLabel);
  EXPECT_EQ(d.evidence, "label stacksnap.engine=mysql");
  // "none" is a decision too.
  EXPECT_EQ(detect_engine({{"stacksnap.engine", "none"}}, "postgres:16", redis_top, &warnings).engine, Engine::kNone);
  EXPECT_EQ(detect_engine({{"stacksnap.engine", "none"}}, "postgres", redis_top, &warnings).source,
            EngineSource::kLabel);
  EXPECT_EQ(top_calls, 0);
  // Image next.
  d = detect_engine({}, "postgres:16", redis_top, &warnings);
  EXPECT_EQ(d.engine, Engine::kPostgres);
  EXPECT_EQ(d.source, EngineSource::kImage);
  EXPECT_EQ(top_calls, 0);
  // Process last.
  d = detect_engine({}, "acme/app:1", redis_top, &warnings);
  EXPECT_EQ(d.engine, Engine::kRedis);
  EXPECT_EQ(d.source, EngineSource::kProcess);
  EXPECT_EQ(d.evidence, "process redis-server");
  EXPECT_EQ(top_calls, 1);
  // Nothing: none, by default; a stopped container (no top) likewise.
  d = detect_engine({}, "acme/app:1", [] { return std::optional<docker::TopResult>(); }, &warnings);
  EXPECT_EQ(d.engine, Engine::kNone);
  EXPECT_EQ(d.source, EngineSource::kDefault);
  EXPECT_EQ(detect_engine({}, "acme/app:1", {}, &warnings).engine, Engine::kNone);
  // A bad label value warns and falls through.
  EXPECT_TRUE(warnings.empty());
  d = detect_engine({{"stacksnap.engine", "oracle"}}, "redis:7", {}, &warnings);
  EXPECT_EQ(d.engine, Engine::kRedis);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("oracle"), std::string::npos);
}

TEST(StackConfigFiles, V1RelativeAndV2Absolute) {
  // Compose v1: relative to the directory it ran in (the working dir), in order.
  EXPECT_EQ(resolve_config_files("docker-compose.yml,docker-compose.override.yml", "/srv/shop"),
            (std::vector<std::string>{"/srv/shop/docker-compose.yml", "/srv/shop/docker-compose.override.yml"}));
  EXPECT_EQ(resolve_config_files("./compose/base.yml,../shared/extra.yml", "/srv/shop"),
            (std::vector<std::string>{"/srv/shop/compose/base.yml", "/srv/shared/extra.yml"}));
  // Compose v2: absolute already.
  EXPECT_EQ(resolve_config_files("/opt/app/compose.yaml,/opt/app/compose.prod.yaml", "/opt/app"),
            (std::vector<std::string>{"/opt/app/compose.yaml", "/opt/app/compose.prod.yaml"}));
  // stdin, duplicates and empties are dropped.
  EXPECT_EQ(resolve_config_files("-", "/x"), std::vector<std::string>{});
  EXPECT_EQ(resolve_config_files("a.yml,,a.yml", "/x"), std::vector<std::string>{"/x/a.yml"});
  EXPECT_EQ(resolve_path("/a/b/../c/", "/ignored"), "/a/c");
  EXPECT_EQ(resolve_path("", "/x"), "");
}

TEST(StackConfigFiles, V1RunFromAnotherDirectory) {
  // `cd /var/tmp/x && docker-compose -p p -f stack/docker-compose.yml -f stack/o.yml up`:
  // v1's working dir is the first file's directory, the paths stay relative to /var/tmp/x.
  EXPECT_EQ(resolve_config_files("stack/docker-compose.yml,stack/o.yml", "/var/tmp/x/stack"),
            (std::vector<std::string>{"/var/tmp/x/stack/docker-compose.yml", "/var/tmp/x/stack/o.yml"}));
  // From a sibling directory: `cd /srv/other && docker-compose -f ../shop/docker-compose.yml …`.
  EXPECT_EQ(resolve_config_files("../shop/docker-compose.yml,../shop/prod.yml,../common/base.yml", "/srv/shop"),
            (std::vector<std::string>{"/srv/shop/docker-compose.yml", "/srv/shop/prod.yml", "/srv/common/base.yml"}));
  // A later file that climbs out of the unknown invocation dir: the working dir is all we have.
  EXPECT_EQ(resolve_config_files("../shop/docker-compose.yml,extra.yml", "/srv/shop"),
            (std::vector<std::string>{"/srv/shop/docker-compose.yml", "/srv/shop/extra.yml"}));
  // When the files are on disk, the one that exists wins (here: --project-directory runs).
  auto only = [](std::string path) { return [path](const std::string& f) { return f == path; }; };
  EXPECT_EQ(resolve_config_files("sub/a.yml", "/w/sub", only("/w/sub/sub/a.yml")),
            std::vector<std::string>{"/w/sub/sub/a.yml"});
  EXPECT_EQ(resolve_config_files("sub/a.yml", "/w/sub", only("/w/sub/a.yml")), std::vector<std::string>{"/w/sub/a.yml"});
}

TEST(StackComposeVersion, FlavourFromTheVersionLabel) {
  EXPECT_EQ(compose_flavour_of("1.29.2"), "v1");
  EXPECT_EQ(compose_flavour_of("2.26.1"), "v2");
  EXPECT_EQ(compose_flavour_of("5.1.0"), "v2");  // v2 renumbered after 2.40
  EXPECT_EQ(compose_flavour_of(""), "");
  EXPECT_EQ(compose_flavour_of("v2"), "");
  Project p;
  p.compose_version = "1.29.2";
  EXPECT_EQ(p.compose_flavour(), "v1");
}

TEST(StackCompose, IncludeAndOptionalEnvFiles) {
  auto doc = parse_yaml(R"(
include:
  - db/compose.db.yaml
  - path: ["${PART}/a.yaml", b.yaml]
    project_directory: parts
    env_file: parts/.env
services:
  app:
    env_file:
      - path: ./app.env
      - path: ./local.env
        required: false
      - other.env
)");
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  auto f = read_compose_document(*doc, {{"PART", "x"}});
  ASSERT_TRUE(f.ok()) << f.error().message();
  ASSERT_EQ(f->includes.size(), 2u);
  EXPECT_EQ(f->includes[0].paths, std::vector<std::string>{"db/compose.db.yaml"});
  EXPECT_EQ(f->includes[0].project_directory, "");
  EXPECT_EQ(f->includes[1].paths, (std::vector<std::string>{"x/a.yaml", "b.yaml"}));
  EXPECT_EQ(f->includes[1].project_directory, "parts");
  EXPECT_EQ(f->includes[1].env_files, std::vector<std::string>{"parts/.env"});
  EXPECT_EQ(f->services["app"].env_files, (std::vector<std::string>{"./app.env", "./local.env", "other.env"}));
  EXPECT_EQ(f->services["app"].optional_env_files, std::set<std::string>{"./local.env"});
}

TEST(StackVolumes, KeysFromLabelsAndComposeFiles) {
  Labels v2_custom{{"com.docker.compose.project", "files"}, {"com.docker.compose.volume", "archive"}};
  Labels v1_custom{{"com.docker.compose.project", "files"}, {"com.docker.compose.volume", "files-archive"}};
  Labels plain{{"com.docker.compose.project", "shop"}, {"com.docker.compose.volume", "dbdata"}};

  auto id = identify_volume("shop_dbdata", plain, "shop", nullptr);
  EXPECT_EQ(id.key, "dbdata");
  EXPECT_FALSE(id.external || id.anonymous || id.key_guessed);
  // v2 with name: — the label holds the key.
  id = identify_volume("files-archive", v2_custom, "files", nullptr);
  EXPECT_EQ(id.key, "archive");
  EXPECT_FALSE(id.key_guessed);
  // v1 with name: — the label holds the custom name; without the compose file we guess.
  id = identify_volume("files-archive", v1_custom, "files", nullptr);
  EXPECT_EQ(id.key, "files-archive");
  EXPECT_TRUE(id.key_guessed);
  // …and with the compose file we know.
  ComposeFile cf;
  cf.volumes["archive"] = ComposeVolume{.key = "archive", .name = "files-archive"};
  cf.volumes["scratch"] = ComposeVolume{.key = "scratch"};
  cf.volumes["shared"] = ComposeVolume{.key = "shared", .external = true};
  cf.volumes["legacy"] = ComposeVolume{.key = "legacy", .name = "old-data", .external = true};
  id = identify_volume("files-archive", v1_custom, "files", &cf);
  EXPECT_EQ(id.key, "archive");
  EXPECT_FALSE(id.key_guessed);
  EXPECT_EQ(identify_volume("files_scratch", {}, "files", &cf).key, "scratch");
  id = identify_volume("shared", {}, "files", &cf);
  EXPECT_EQ(id.key, "shared");
  EXPECT_TRUE(id.external);
  id = identify_volume("old-data", {}, "files", &cf);
  EXPECT_EQ(id.key, "legacy");
  EXPECT_TRUE(id.external);
  // Unlabelled and undeclared: anonymous (64 hex) or external.
  id = identify_volume(std::string(64, 'a'), {}, "shop", nullptr);
  EXPECT_TRUE(id.anonymous);
  EXPECT_EQ(id.key, "");
  id = identify_volume("letsencrypt", {}, "shop", nullptr);
  EXPECT_TRUE(id.external);
  EXPECT_EQ(id.key, "letsencrypt");
  // A volume labelled for another project is not ours to key.
  EXPECT_TRUE(identify_volume("other_data", {{"com.docker.compose.project", "other"},
                                             {"com.docker.compose.volume", "data"}}, "shop", nullptr).external);
}

TEST(StackVolumes, EngineNames) {
  EXPECT_EQ(volume_engine_name({.key = "db"}, "shop"), "shop_db");
  EXPECT_EQ(volume_engine_name({.key = "db"}, "_shop"), "shop_db");
  EXPECT_EQ(volume_engine_name({.key = "db", .name = "custom"}, "shop"), "custom");
  EXPECT_EQ(volume_engine_name({.key = "db", .external = true}, "shop"), "db");
}

TEST(StackState, FromContainerStates) {
  auto svc = [](std::vector<std::string> states) {
    Service s;
    for (auto& st : states) s.containers.push_back(Container{.state = st});
    return s;
  };
  EXPECT_EQ(project_state({svc({"running"}), svc({"paused"})}), ProjectState::kRunning);
  EXPECT_EQ(project_state({svc({"running"}), svc({"exited"})}), ProjectState::kPartial);
  EXPECT_EQ(project_state({svc({"exited", "created"})}), ProjectState::kStopped);
}

TEST(StackYaml, ComposeShapes) {
  auto doc = parse_yaml(R"(
x-common: &common
  env_file: [common.env]
  labels:
    a: "1"
services:
  web:
    <<: *common
    image: "app:1"
    env_file:
      - app.env
      - path: ./opt.env
        required: false
  worker:
    <<: *common
volumes:
  archive:
    name: files-${SUFFIX:-archive}
  ext:
    external: true
  legacy:
    external:
      name: legacy-data
  plain:
  opts:
    driver: local
    driver_opts: {type: none, o: bind, device: /srv/data}
    labels: ["k=v"]
)");
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_EQ((*doc)["services"]["worker"]["env_file"][0], "common.env");
  EXPECT_EQ((*doc)["services"]["web"]["image"], "app:1");
  EXPECT_TRUE((*doc)["volumes"]["plain"].is_null());
  EXPECT_EQ((*doc)["volumes"]["ext"]["external"], true);

  auto f = read_compose_document(*doc, {{"SUFFIX", "x"}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->volumes["archive"].name.value_or(""), "files-x");
  EXPECT_TRUE(f->volumes["ext"].external);
  EXPECT_TRUE(f->volumes["legacy"].external);
  EXPECT_EQ(f->volumes["legacy"].name.value_or(""), "legacy-data");
  EXPECT_FALSE(f->volumes["plain"].external);
  EXPECT_EQ(f->volumes["opts"].driver_opts["device"], "/srv/data");
  EXPECT_EQ(f->volumes["opts"].labels["k"], "v");
  // An explicit key beats the merged one.
  EXPECT_EQ(f->services["web"].env_files, (std::vector<std::string>{"app.env", "./opt.env"}));
  EXPECT_EQ(f->services["worker"].env_files, (std::vector<std::string>{"common.env"}));

  auto bad = parse_yaml("services:\n  web: [unclosed\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("line"), std::string::npos);
  EXPECT_FALSE(parse_yaml("a: *nowhere\n").ok());
  EXPECT_TRUE(parse_yaml("")->is_null());
}

TEST(StackCompose, OverrideFilesMerge) {
  auto base = read_compose_document(*parse_yaml("services:\n  web:\n    env_file: a.env\nvolumes:\n  data:\n"), {});
  auto over = read_compose_document(
      *parse_yaml("services:\n  web:\n    env_file: [b.env, a.env]\n  extra: {}\nvolumes:\n  data:\n    name: real\n"),
      {});
  ASSERT_TRUE(base.ok() && over.ok());
  merge_compose(*base, *over);
  EXPECT_EQ(base->services["web"].env_files, (std::vector<std::string>{"a.env", "b.env"}));
  EXPECT_EQ(base->volumes["data"].name.value_or(""), "real");
  EXPECT_TRUE(base->services.count("extra"));
}

TEST(StackCompose, DotenvAndInterpolation) {
  auto env = parse_dotenv(
      "# comment\nA=1\nexport B = two \nC='single $A'\nD=\"dq\\n\\\"x\\\"\"\nE=val # trailing\n=bad\nnoequals\n");
  EXPECT_EQ(env["A"], "1");
  EXPECT_EQ(env["B"], "two");
  EXPECT_EQ(env["C"], "single $A");
  EXPECT_EQ(env["D"], "dq\n\"x\"");
  EXPECT_EQ(env["E"], "val");
  EXPECT_EQ(env.size(), 5u);
  EnvMap e{{"SET", "v"}, {"EMPTY", ""}};
  EXPECT_EQ(interpolate("${SET}-$SET-$$SET", e), "v-v-$SET");
  EXPECT_EQ(interpolate("${UNSET:-dflt}/${EMPTY:-d2}/${EMPTY-d3}/${UNSET-d4}", e), "dflt/d2//d4");
  EXPECT_EQ(interpolate("${SET:+alt}${UNSET:+no}", e), "alt");
  EXPECT_EQ(interpolate("${UNSET}x$", e), "x$");
}

}  // namespace
}  // namespace stacksnap::stack
