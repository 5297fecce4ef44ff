// Test double: a docker::Client that keeps containers, volumes and networks in memory, so
// the pipelines (backup, restore) run their real code in unit tests without dockerd.
//
//   fake::FakeDocker docker(tmp.path());
//   auto vol = docker.add_volume("shop_data", "shop");            // a host dir as its mountpoint
//   docker.add_container(fake::compose_container("shop", "app", "stacksnap-fixture/app:test")
//                            .volume(vol, "/srv/data").build());
//   docker.on_exec([](const fake::ExecCall& c, Reader*, Writer& out, Writer&) -> Result<int> { … });
//   … run_backup(env{…, docker, …}) …
//   EXPECT_THAT(docker.calls(), …);                               // "pause shop-app-1", …
//
// What it models (the parts of the Engine's contract the pipelines rely on, with the same
// error codes as docker/client.h): container state (pause needs running and not paused,
// unpause needs paused, exec needs running and not paused), label filters on lists ("k"
// and "k=v"), helper containers that are created and never started, and the archive
// endpoint: open_archive of a path under one of a container's mounts serves a tar of the
// host directory behind it (a volume's mountpoint or a bind's source) with docker cp's
// naming ("/d" → "d/…"); put_archive extracts into it. Exec runs the test's handler.
//
// Every call is logged ("create helper-2 capture", "archive helper-2 /stacksnap/data",
// "pause shop-app-1", …) and may be failed by a fault hook; archive streams can be watched
// byte by byte (cancel a job mid-capture).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "docker/client.h"

namespace stacksnap::fake {

struct ExecCall {
  docker::ContainerInfo container;
  docker::ExecOptions options;
  // The command as one string, arguments joined by spaces (for matching in handlers).
  std::string command_line() const;
  bool has(std::string_view arg) const;  // an argument equal to `arg`
};
using ExecHandler = std::function<Result<int>(const ExecCall& call, Reader* stdin, Writer& out, Writer& err)>;

// A Compose service container as Compose v2 labels it (project, service, number,
// working dir, config files, config hash), running, with the given mounts.
class ComposeContainer {
 public:
  ComposeContainer(std::string project, std::string service, std::string image);
  ComposeContainer& volume(const docker::VolumeInfo& v, std::string destination, bool read_only = false);
  ComposeContainer& bind(std::string host_path, std::string destination, bool read_only = false);
  ComposeContainer& working_dir(std::string dir, std::vector<std::string> config_files);
  ComposeContainer& label(std::string key, std::string value);
  ComposeContainer& env(std::string kv);
  ComposeContainer& cmd(std::vector<std::string> cmd);
  docker::ContainerInfo build() const { return info_; }

 private:
  docker::ContainerInfo info_;
};

class FakeDocker final : public docker::Client {
 public:
  // Volumes created through the API get a mountpoint under `root`/volumes.
  explicit FakeDocker(std::string root);
  ~FakeDocker() override;

  // ---- set-up ------------------------------------------------------------------------
  // Adds a container (state from info.state; id made up when empty). Returns its id.
  std::string add_container(docker::ContainerInfo info);
  // A local volume with a fresh mountpoint directory; Compose's labels when project is given.
  docker::VolumeInfo add_volume(const std::string& name, const std::string& project = {});
  void add_image(const std::string& reference);
  void on_exec(ExecHandler handler);
  // Called first by every call with its log line; an error fails the call with it.
  void on_call(std::function<Status(const std::string& call)> fault);
  // Called as an archive stream is read, with the bytes handed out so far.
  void on_archive_read(std::function<Status(uint64_t served)> watch);

  // ---- what happened -------------------------------------------------------------------
  std::vector<std::string> calls() const;
  // Calls whose log line starts with `prefix`.
  std::vector<std::string> calls_starting(std::string_view prefix) const;
  std::vector<docker::ContainerInfo> containers() const;
  Result<docker::ContainerInfo> container(std::string_view id_or_name) const;

  // An Engine reached over TCP (its files are not on this host: captures stream through
  // the archive endpoint), instead of the unix socket under the root.
  void act_remote() {
    endpoint_ = {.kind = docker::Endpoint::Kind::kTcp, .host = "engine.example", .port = 2376,
                 .uri = "tcp://engine.example:2376"};
  }

  // ---- docker::Client ------------------------------------------------------------------
  const docker::Endpoint& endpoint() const override { return endpoint_; }
  docker::VersionInfo engine_version() const override;
  docker::ApiVersion api_version() const override;
  Status ping() override;
  Result<docker::VersionInfo> version() override;
  Status renegotiate() override;

  Result<std::vector<docker::ContainerSummary>> list_containers(const docker::ListContainersOptions& options) override;
  Result<docker::ContainerInfo> inspect_container(std::string_view id) override;
  Result<docker::TopResult> top(std::string_view id, std::string_view ps_args) override;
  Status start_container(std::string_view id) override;
  Status stop_container(std::string_view id, int timeout_seconds) override;
  Status pause_container(std::string_view id) override;
  Status unpause_container(std::string_view id) override;
  Result<std::string> create_container(const docker::CreateContainerOptions& options) override;
  Status remove_container(std::string_view id, const docker::RemoveContainerOptions& options) override;
  Result<int> wait_container(std::string_view id, const StopToken& stop) override;

  Result<int> exec(std::string_view container, const docker::ExecOptions& options, Reader* stdin, Writer& out,
                   Writer& err, const StopToken& stop) override;
  Result<docker::ExecInspect> inspect_exec(std::string_view exec_id) override;

  Result<docker::PathStat> stat_path(std::string_view container, std::string_view path) override;
  Result<std::unique_ptr<docker::ArchiveReader>> open_archive(std::string_view container, std::string_view path,
                                                              const StopToken& stop) override;
  Status put_archive(std::string_view container, std::string_view path, Reader& tar_in, Overwrite overwrite,
                     const StopToken& stop) override;

  Result<std::vector<docker::VolumeInfo>> list_volumes(const std::vector<std::string>& label_filters) override;
  Result<docker::VolumeInfo> inspect_volume(std::string_view name) override;
  Result<docker::VolumeInfo> create_volume(const docker::CreateVolumeOptions& options) override;
  Status remove_volume(std::string_view name, bool force) override;

  Result<std::vector<docker::NetworkSummary>> list_networks(const std::vector<std::string>& label_filters) override;
  Result<docker::NetworkSummary> inspect_network(std::string_view name) override;
  Result<std::string> create_network(const docker::CreateNetworkOptions& options) override;
  Status remove_network(std::string_view id) override;

  Result<std::vector<docker::ImageSummary>> list_images(const std::vector<std::string>& label_filters) override;
  Result<docker::ImageInfo> inspect_image(std::string_view reference) override;
  Status pull_image(std::string_view reference, const std::function<void(std::string_view)>& progress,
                    const StopToken& stop) override;

  Status events(const docker::EventFilters& filters, int64_t since, int64_t until,
                const std::function<Result<bool>(const docker::Event&)>& callback, const StopToken& stop) override;

 private:
  // Logs the call and asks the fault hook (outside the lock).
  Status enter(const std::string& call);
  // The container's name for the call log (the id itself when unknown).
  std::string name_of(std::string_view id);
  // The container by id, id prefix or name; nullptr when unknown. mu_ held.
  docker::ContainerInfo* find_locked(std::string_view id_or_name);
  // The host directory behind `path` inside the container, and the rest of the path
  // below the mount. NotFound when no mount holds it. mu_ held.
  Result<std::string> host_dir_locked(const docker::ContainerInfo& c, std::string_view path);

  docker::Endpoint endpoint_;
  std::string root_;
  mutable std::mutex mu_;
  std::map<std::string, docker::ContainerInfo> containers_;  // by id
  std::map<std::string, docker::VolumeInfo> volumes_;        // by name
  std::map<std::string, docker::NetworkSummary> networks_;   // by name
  std::vector<std::string> images_;
  std::vector<std::string> calls_;
  int next_id_ = 1;
  ExecHandler exec_;
  std::function<Status(const std::string&)> fault_;
  std::function<Status(uint64_t)> archive_watch_;
};

}  // namespace stacksnap::fake
