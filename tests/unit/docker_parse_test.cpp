// Engine JSON parsing (payloads captured from the real Engine), version negotiation,
// the path-stat header, error texts, endpoints.
#include <gtest/gtest.h>

#include "docker/api_version.h"
#include "docker/endpoint.h"
#include "docker/parse.h"
#include "docker_payloads.h"

namespace stacksnap::docker {
namespace {

nlohmann::json J(const char* text) { return nlohmann::json::parse(text); }

TEST(DockerVersion, ParsesAndCompares) {
  auto v = parse_api_version("1.41");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 41);
  EXPECT_LT((ApiVersion{1, 9}), (ApiVersion{1, 41}));  // numeric, not lexical
  EXPECT_FALSE(parse_api_version("1").ok());
  EXPECT_FALSE(parse_api_version("1.x").ok());
  EXPECT_FALSE(parse_api_version("").ok());
}

TEST(DockerVersion, NegotiatesAcrossEngineGenerations) {
  // Engine 20.10: max 1.41 → we speak 1.41.
  EXPECT_EQ(negotiate_api_version("1.41", "1.12", "20.10.24")->to_string(), "1.41");
  // Docker 27.5: max 1.47 → 1.47.
  EXPECT_EQ(negotiate_api_version("1.47", "1.24", "27.5.1")->to_string(), "1.47");
  // Docker 29.0 refuses below 1.44: we cap at our max 1.47, which it accepts.
  EXPECT_EQ(negotiate_api_version("1.52", "1.44", "29.0.0")->to_string(), "1.47");
  // Docker 29.7: max 1.55, min 1.40.
  EXPECT_EQ(negotiate_api_version("1.55", "1.40", "29.7.2")->to_string(), "1.47");
  // Too old for us: Docker 19.03 (1.40).
  auto old = negotiate_api_version("1.40", "1.12", "19.03.15");
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(old.error().message().find("too old"), std::string::npos);
  // A future engine whose minimum is above our maximum.
  auto future = negotiate_api_version("1.60", "1.50", "35.0.0");
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.error().message().find("1.47"), std::string::npos);
  // No MinAPIVersion reported (very old engines): assume 1.12.
  EXPECT_TRUE(negotiate_api_version("1.41", "", "").ok());
  EXPECT_FALSE(negotiate_api_version("garbage", "1.12", "").ok());
}

TEST(DockerVersion, RecognisesMismatchMessages) {
  EXPECT_TRUE(is_version_mismatch_message("client version 1.44 is too new. Maximum supported API version is 1.41"));
  EXPECT_TRUE(is_version_mismatch_message(
      "client version 1.41 is too old. Minimum supported API version is 1.44, please upgrade your client"));
  EXPECT_FALSE(is_version_mismatch_message("No such container: x"));
}

TEST(DockerParse, VersionPayload) {
  auto v = parse_version(J(testdata::kVersion));
  EXPECT_EQ(v.version, "20.10.24+dfsg1");
  EXPECT_EQ(v.api_version, "1.41");
  EXPECT_EQ(v.min_api_version, "1.12");
  EXPECT_EQ(v.os, "linux");
  // Only Components (as some engines nest it).
  auto nested = parse_version(J(R"({"Components":[{"Name":"Engine","Version":"29.1.0",
      "Details":{"ApiVersion":"1.52","MinAPIVersion":"1.44"}}]})"));
  EXPECT_EQ(nested.api_version, "1.52");
  EXPECT_EQ(nested.min_api_version, "1.44");
  EXPECT_EQ(nested.version, "29.1.0");
}

TEST(DockerParse, ContainerInspectApi141) {
  auto c = parse_container_info(J(testdata::kInspect141));
  EXPECT_EQ(c.name, "shop_web_1");
  EXPECT_EQ(c.image, "stacksnap-fixture/app:test");
  EXPECT_TRUE(c.image_id.starts_with("sha256:"));
  EXPECT_EQ(c.state.status, "running");
  EXPECT_TRUE(c.state.running);
  EXPECT_EQ(c.labels.at("com.docker.compose.project"), "shop");
  EXPECT_EQ(c.labels.at("com.docker.compose.project.config_files"), "docker-compose.yml,docker-compose.override.yml");
  EXPECT_EQ(c.entrypoint.front(), "/usr/bin/tini");
  EXPECT_EQ(c.cmd.front(), "sh");
  ASSERT_EQ(c.mounts.size(), 3u);
  int volumes = 0, binds = 0, tmpfs = 0;
  for (const auto& m : c.mounts) {
    if (m.type == "volume") {
      ++volumes;
      EXPECT_EQ(m.name, "shop_appdata");
      EXPECT_EQ(m.destination, "/srv/data");
      EXPECT_TRUE(m.rw);
    } else if (m.type == "bind") {
      ++binds;
      EXPECT_EQ(m.source, "/var/tmp/stacksnap-stacks/shop/uploads");
    } else if (m.type == "tmpfs") {
      ++tmpfs;
      EXPECT_EQ(m.destination, "/tmp/cache");
    }
  }
  EXPECT_EQ(volumes + binds + tmpfs, 3);
  EXPECT_TRUE(std::find(c.env.begin(), c.env.end(), "APP_MODE=production") != c.env.end());
}

TEST(DockerParse, ContainerInspectApi145) {
  // Engine 26 (API 1.45): a volume mount's subpath is only in HostConfig.Mounts; the
  // Mounts entry names the volume with its whole _data dir and mode "z".
  auto c = parse_container_info(J(testdata::kInspect145));
  EXPECT_EQ(c.name, "ss15-modern-app-1");
  EXPECT_EQ(c.labels.at("com.docker.compose.version"), "2.26.1");
  EXPECT_EQ(c.labels.at("com.docker.compose.depends_on"),
            "db:service_healthy:false,cache:service_healthy:false,init:service_completed_successfully:false");
  bool subpath = false, whole = false;
  for (const auto& m : c.mounts) {
    if (m.type != "volume") continue;
    if (m.name == "ss15-modern-shared-data") {
      subpath = m.subpath == "app" && m.destination == "/srv/shared-app";
    } else {
      whole = m.subpath.empty();
    }
  }
  EXPECT_TRUE(subpath);
  EXPECT_TRUE(whole);
  EXPECT_EQ(c.networks, (std::vector<std::string>{"ss15-modern-front", "ss15-modern-shared"}));
  EXPECT_EQ(c.state.health, "healthy");
  EXPECT_EQ(c.state.health_output, "test: /srv/state/.seeded: No such file or directory\n");
  // Engine 20.10: no HostConfig.Mounts subpath, one network.
  auto old = parse_container_info(J(testdata::kInspect141));
  for (const auto& m : old.mounts) EXPECT_EQ(m.subpath, "");
  EXPECT_EQ(old.networks, std::vector<std::string>{"shop_default"});
  EXPECT_EQ(old.state.health, "");
}

TEST(DockerParse, VersionOfEngine26) {
  auto v = parse_version(J(testdata::kVersion26));
  EXPECT_EQ(v.version, "26.1.5+dfsg1");
  EXPECT_EQ(v.api_version, "1.45");
  EXPECT_EQ(v.min_api_version, "1.24");
  EXPECT_EQ(negotiate_api_version(v.api_version, v.min_api_version, v.version)->to_string(), "1.45");
  auto old = parse_version(J(testdata::kVersion));
  EXPECT_EQ(negotiate_api_version(old.api_version, old.min_api_version, old.version)->to_string(), "1.41");
}

TEST(DockerParse, ContainerInspectApi124) {
  auto c = parse_container_info(J(testdata::kInspect124));
  EXPECT_EQ(c.name, "shop_db_1");
  EXPECT_EQ(c.image, "stacksnap-fixture/postgres:test");
  EXPECT_EQ(c.state.status, "running");
  ASSERT_EQ(c.mounts.size(), 2u);
  bool ro_bind = false;
  for (const auto& m : c.mounts) ro_bind |= m.type == "bind" && !m.rw;
  EXPECT_TRUE(ro_bind);
}

TEST(DockerParse, ContainerInspectToleratesMissingAndOldFields) {
  // Pre-1.21 state without Status, a mount without Type, Cmd as a string, null maps.
  auto c = parse_container_info(J(R"({"Id":"abc","Name":"/x","State":{"Running":false,"Paused":false,"ExitCode":3},
      "Config":{"Image":"img","Cmd":"echo hi","Labels":null,"Env":null},
      "Mounts":[{"Name":"v1","Source":"/var/lib/docker/volumes/v1/_data","Destination":"/d","RW":false}],
      "HostConfig":{"Tmpfs":{"/run":"size=64m"}}})"));
  EXPECT_EQ(c.name, "x");
  EXPECT_EQ(c.state.status, "exited");
  EXPECT_EQ(c.state.exit_code, 3);
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].type, "volume");
  EXPECT_FALSE(c.mounts[0].rw);
  EXPECT_EQ(c.cmd, std::vector<std::string>{"echo hi"});
  EXPECT_TRUE(c.labels.empty());
  EXPECT_EQ(c.tmpfs.at("/run"), "size=64m");
  // Not even an object: defaults, no crash.
  auto empty = parse_container_info(J("[1,2]"));
  EXPECT_TRUE(empty.id.empty());
}

TEST(DockerParse, ContainerListBothVersions) {
  auto j = J(testdata::kList141);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  for (const auto& e : j) {
    auto c = parse_container_summary(e);
    EXPECT_TRUE(c.name.starts_with("shop_"));
    EXPECT_EQ(c.state, "running");
    EXPECT_FALSE(c.mounts.empty());
    EXPECT_EQ(c.labels.at("com.docker.compose.project"), "shop");
  }
  auto old = J(testdata::kList124);
  ASSERT_EQ(old.size(), 1u);
  auto w = parse_container_summary(old[0]);
  EXPECT_EQ(w.name, "files_worker_1");
  EXPECT_EQ(w.labels.at("stacksnap.volume.exclude"), "scratch");
  // A 1.52-style entry (per the swagger): Health object, ImageManifestDescriptor.
  auto n = parse_container_summary(J(R"({"Id":"1","Names":["/a"],"Image":"redis:7","ImageID":"sha256:1",
      "ImageManifestDescriptor":{"mediaType":"x"},"State":"running","Health":{"Status":"healthy","FailingStreak":0},
      "Labels":{},"Mounts":[]})"));
  EXPECT_EQ(n.name, "a");
  EXPECT_EQ(n.state, "running");
}

TEST(DockerParse, VolumeImageExecTopEvent) {
  auto v = parse_volume(J(testdata::kVolume141));
  EXPECT_EQ(v.name, "files-archive");
  EXPECT_EQ(v.driver, "local");
  EXPECT_EQ(v.labels.at("com.docker.compose.volume"), "files-archive");
  EXPECT_TRUE(v.options.empty());  // "Options": null

  auto i = parse_image_info(J(testdata::kImage141));
  EXPECT_TRUE(i.id.starts_with("sha256:"));
  EXPECT_NE(std::find(i.repo_tags.begin(), i.repo_tags.end(), "stacksnap-fixture/app:test"), i.repo_tags.end());
  EXPECT_EQ(i.entrypoint.front(), "/usr/bin/tini");

  auto none = parse_image_summary(J(R"({"Id":"sha256:1","RepoTags":["<none>:<none>"],"RepoDigests":[]})"));
  EXPECT_TRUE(none.repo_tags.empty());  // pre-1.43 "<none>" placeholder
  auto newer = parse_image_summary(J(R"({"Id":"sha256:1","RepoTags":[],"Size":5})"));
  EXPECT_TRUE(newer.repo_tags.empty());
  EXPECT_EQ(newer.size, 5);

  auto running = parse_exec_inspect(J(R"({"ID":"e","Running":true,"ExitCode":null,"Pid":42})"));
  EXPECT_TRUE(running.running);
  EXPECT_FALSE(running.exit_code.has_value());
  auto done = parse_exec_inspect(J(R"({"ID":"e","Running":false,"ExitCode":3,"Pid":42})"));
  EXPECT_EQ(done.exit_code.value_or(-1), 3);

  auto top = parse_top(J(R"({"Processes":[["7981","postgres","postgres -D /var/lib/postgresql/data"]],
      "Titles":["PID","COMMAND","COMMAND"]})"));
  ASSERT_EQ(top.processes.size(), 1u);
  EXPECT_EQ(top.processes[0][1], "postgres");

  auto ev = parse_event(J(R"({"status":"pause","id":"abc","Type":"container","Action":"pause",
      "Actor":{"ID":"abc","Attributes":{"name":"shop_web_1"}},"scope":"local","time":1764100000,"timeNano":1764100000123456789})"));
  EXPECT_EQ(ev.action, "pause");
  EXPECT_EQ(ev.attributes.at("name"), "shop_web_1");
  EXPECT_EQ(ev.time_nano, 1764100000123456789);
}

TEST(DockerParse, PathStatHeaderFromTheEngine) {
  // HEAD /containers/shop_web_1/archive?path=/srv/data (a directory)
  auto dir = decode_path_stat(
      "eyJuYW1lIjoiZGF0YSIsInNpemUiOjQwOTYsIm1vZGUiOjIxNDc0ODQxNDEsIm10aW1lIjoiMjAyNi0xMS0yNVQyMDoyNzoxNC40MzEzMDMyOTNaIiwibGlua1RhcmdldCI6IiJ9");
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  EXPECT_EQ(dir->name, "data");
  EXPECT_TRUE(dir->is_dir());
  EXPECT_EQ(dir->posix_mode(), 040755u);
  EXPECT_EQ(dir->mtime, "2026-11-25T20:27:14.431303293Z");
  // /srv/data/latest, a relative symlink: linkTarget is resolved and absolute.
  auto link = decode_path_stat(
      "eyJuYW1lIjoibGF0ZXN0Iiwic2l6ZSI6MTgsIm1vZGUiOjEzNDIxODIzOSwibXRpbWUiOiIyMDI2LTExLTI1VDIwOjI3OjE0LjQxMTMwMzI5M1oiLCJsaW5rVGFyZ2V0IjoiL3Nydi9kYXRhL3JlcG9ydHMvb3JkZXJzLnR4dCJ9");
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(link->is_symlink());
  EXPECT_EQ(link->posix_mode(), 0120777u);
  EXPECT_EQ(link->link_target, "/srv/data/reports/orders.txt");
  // files-archive /archive/2026: a setuid directory, mode 4750.
  auto suid = decode_path_stat(
      "eyJuYW1lIjoiMjAyNiIsInNpemUiOjQwOTYsIm1vZGUiOjIxNTU4NzI3NDQsIm10aW1lIjoiMjAyNi0xMS0yNVQyMDoyNzoyMS45MTkzMDMwMDVaIiwibGlua1RhcmdldCI6IiJ9");
  ASSERT_TRUE(suid.ok());
  EXPECT_EQ(suid->posix_mode(), 044750u);
  // A regular setuid file (notes: 0750 setuid → 8389096).
  PathStat f;
  f.mode = 8389096;
  EXPECT_EQ(f.posix_mode(), 0104750u);
  EXPECT_FALSE(decode_path_stat("not base64!").ok());
  EXPECT_FALSE(decode_path_stat("").ok());
}

TEST(DockerParse, EngineErrorMessages) {
  EXPECT_EQ(engine_error_message(R"({"message":"No such container: nope"})" "\n"), "No such container: nope");
  EXPECT_EQ(engine_error_message("client version 1.10 is too old\n"), "client version 1.10 is too old");
  EXPECT_EQ(engine_error_message(""), "");
}

TEST(DockerParse, ImageReferences) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(split_image_reference("redis"), (P{"redis", "latest"}));
  EXPECT_EQ(split_image_reference("postgres:16-alpine"), (P{"postgres", "16-alpine"}));
  EXPECT_EQ(split_image_reference("localhost:5000/a/b"), (P{"localhost:5000/a/b", "latest"}));
  EXPECT_EQ(split_image_reference("localhost:5000/a/b:1"), (P{"localhost:5000/a/b", "1"}));
  EXPECT_EQ(split_image_reference("x@sha256:ab"), (P{"x", "sha256:ab"}));
}

TEST(DockerParse, Filters) {
  EXPECT_EQ(encode_filters({{"label", {"a=b", "c"}}, {"type", {"container"}}}),
            R"({"label":["a=b","c"],"type":["container"]})");
}

TEST(DockerEndpoint, ParsesDockerHost) {
  auto u = parse_docker_host("unix:///var/run/docker.sock");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(u->path, "/var/run/docker.sock");
  EXPECT_EQ(u->uri, "unix:///var/run/docker.sock");
  auto t = parse_docker_host("tcp://127.0.0.1:2375");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 2375);
  auto d = parse_docker_host("tcp://docker");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, 2375);
  auto v6 = parse_docker_host("tcp://[::1]:2376");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->uri, "tcp://[::1]:2376");
  for (const char* bad : {"ssh://me@host", "npipe:////./pipe/docker", "unix://relative", "tcp://h:0", "tcp://h:99999",
                          "tcp://h:2375/prefix", "/var/run/docker.sock"}) {
    auto r = parse_docker_host(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    }
  }
}

TEST(DockerEndpoint, UnreachableSocketIsOneClearLine) {
  auto ep = parse_docker_host("unix:///nonexistent/stacksnap-test.sock");
  ASSERT_TRUE(ep.ok());
  auto fd = connect_endpoint(*ep);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().code(), Code::kUnavailable);
  EXPECT_EQ(fd.error().message(),
            "cannot reach the Docker Engine at unix:///nonexistent/stacksnap-test.sock: no such file or directory");
}

}  // namespace
}  // namespace stacksnap::docker
