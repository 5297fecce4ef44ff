// The Docker Engine API client over HTTP (a Unix socket or TCP): docker::Client's real
// implementation, made by Client::connect(). Internal to src/docker; every other area
// holds a docker::Client& (docker/client.h states the contract).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "docker/client.h"

namespace stacksnap::docker {

class Exchange;  // one request/response on one connection (client_internal.h)
struct Call;

class EngineClient final : public Client {
 public:
  EngineClient(Endpoint endpoint, Options options);
  ~EngineClient() override;

  const Endpoint& endpoint() const override { return endpoint_; }
  VersionInfo engine_version() const override;
  ApiVersion api_version() const override;

  // system (client.cpp)
  Status ping() override;
  Result<VersionInfo> version() override;
  Status renegotiate() override;

  // containers (containers.cpp)
  Result<std::vector<ContainerSummary>> list_containers(const ListContainersOptions& options) override;
  Result<ContainerInfo> inspect_container(std::string_view id) override;
  Result<TopResult> top(std::string_view id, std::string_view ps_args) override;
  Status start_container(std::string_view id) override;
  Status stop_container(std::string_view id, int timeout_seconds) override;
  Status pause_container(std::string_view id) override;
  Status unpause_container(std::string_view id) override;
  Result<std::string> create_container(const CreateContainerOptions& options) override;
  Status remove_container(std::string_view id, const RemoveContainerOptions& options) override;
  Result<int> wait_container(std::string_view id, const StopToken& stop) override;

  // exec (exec.cpp)
  Result<int> exec(std::string_view container, const ExecOptions& options, Reader* stdin, Writer& out, Writer& err,
                   const StopToken& stop) override;
  Result<ExecInspect> inspect_exec(std::string_view exec_id) override;

  // archive (archive.cpp)
  Result<PathStat> stat_path(std::string_view container, std::string_view path) override;
  Result<std::unique_ptr<ArchiveReader>> open_archive(std::string_view container, std::string_view path,
                                                      const StopToken& stop) override;
  // Uses Expect: 100-continue and watches for an early answer while uploading.
  Status put_archive(std::string_view container, std::string_view path, Reader& tar_in, Overwrite overwrite,
                     const StopToken& stop) override;

  // volumes (volumes.cpp)
  Result<std::vector<VolumeInfo>> list_volumes(const std::vector<std::string>& label_filters) override;
  Result<VolumeInfo> inspect_volume(std::string_view name) override;
  Result<VolumeInfo> create_volume(const CreateVolumeOptions& options) override;
  Status remove_volume(std::string_view name, bool force) override;

  // networks (networks.cpp)
  Result<std::vector<NetworkSummary>> list_networks(const std::vector<std::string>& label_filters) override;
  Result<NetworkSummary> inspect_network(std::string_view name) override;
  Result<std::string> create_network(const CreateNetworkOptions& options) override;
  Status remove_network(std::string_view id) override;

  // images (images.cpp)
  Result<std::vector<ImageSummary>> list_images(const std::vector<std::string>& label_filters) override;
  Result<ImageInfo> inspect_image(std::string_view reference) override;
  Status pull_image(std::string_view reference, const std::function<void(std::string_view)>& progress,
                    const StopToken& stop) override;

  // events (events.cpp)
  Status events(const EventFilters& filters, int64_t since, int64_t until,
                const std::function<Result<bool>(const Event&)>& callback, const StopToken& stop) override;

 private:
  friend class Exchange;

  // Opens a connection, sends the request, reads the response head. Non-2xx answers
  // (other than 101 and those in `call.accept`) become Errors with call.op as context.
  Result<std::unique_ptr<Exchange>> open(const Call& call, const StopToken& stop = {});
  // open() + read the whole (small) body.
  Result<std::string> request(const Call& call);
  std::string versioned(std::string_view path) const;
  Result<VersionInfo> fetch_version();

  Endpoint endpoint_;
  Options options_;
  VersionInfo version_;
  mutable std::mutex mu_;
  ApiVersion api_version_{kMinApiVersion};
};

}  // namespace stacksnap::docker
