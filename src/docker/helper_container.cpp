#include "docker/helper_container.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace stacksnap::docker {

Result<std::unique_ptr<HelperContainer>> HelperContainer::create(Client& docker, const HelperSpec& spec) {
  CreateContainerOptions o;
  o.name = spec.name;
  o.image = spec.image;
  o.cmd = {"/stacksnap-helper-never-started"};
  o.entrypoint = std::vector<std::string>{};
  o.labels = {{kHelperLabel, spec.purpose}, {kHelperPidLabel, std::to_string(::getpid())}};
  o.network_mode = "none";
  o.mounts = spec.mounts;
  auto id = TRY(docker.create_container(o));
  return std::unique_ptr<HelperContainer>(new HelperContainer(docker, std::move(id)));
}

HelperContainer::~HelperContainer() {
  if (!removed_) (void)docker_.remove_container(id_, {.force = true});
}

Status HelperContainer::remove() {
  auto st = docker_.remove_container(id_, {.force = true});
  if (st.ok()) removed_ = true;
  return st;
}

Result<int> remove_orphan_helpers(Client& docker) {
  auto list = TRY(docker.list_containers({.all = true, .labels = {kHelperLabel}}));
  int removed = 0;
  for (const auto& c : list) {
    auto it = c.labels.find(kHelperPidLabel);
    if (it != c.labels.end()) {
      pid_t pid = static_cast<pid_t>(std::atol(it->second.c_str()));
      if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) continue;  // its owner still runs
    }
    if (docker.remove_container(c.id, {.force = true}).ok()) ++removed;
  }
  return removed;
}

}  // namespace stacksnap::docker
