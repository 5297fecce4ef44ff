// Executor and ContainerControl over the Docker Engine API.
#pragma once

#include <string>

#include "docker/client.h"
#include "dbengine/engine.h"

namespace stacksnap::dbengine {

class DockerExecutor final : public Executor {
 public:
  DockerExecutor(docker::Client& docker, std::string container_id, std::string name)
      : docker_(docker), id_(std::move(container_id)), name_(std::move(name)) {}
  Result<int> run(const ExecRequest& req, Reader* in, Writer& out, Writer& err,
                  const StopToken& stop) override;
  std::string container_name() const override { return name_; }
  bool container_running() override;

 private:
  docker::Client& docker_;
  std::string id_, name_;
};

class DockerContainerControl final : public ContainerControl {
 public:
  DockerContainerControl(docker::Client& docker, std::string container_id)
      : docker_(docker), id_(std::move(container_id)) {}
  Status stop(const StopToken& stop) override;
  Status start(const StopToken& stop) override;
  Status put_files(const std::string& dir, const std::vector<PutEntry>& entries, int uid, int gid) override;

 private:
  docker::Client& docker_;
  std::string id_;
};

// Facts an engine may use, from a container inspect.
ContainerFacts facts_from(const docker::ContainerInfo& info);

}  // namespace stacksnap::dbengine
