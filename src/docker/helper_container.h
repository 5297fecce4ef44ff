// Never-started helper containers: StackSnap mounts volumes and bind-mount paths into
// them to read or write through the Engine's archive endpoint (backup capture, restore,
// drill checks). This is the one place that creates them and cleans up after crashes:
// every helper carries kHelperLabel (its purpose) and kHelperPidLabel (the pid of the
// process that made it), and remove_orphan_helpers() removes those whose process is gone.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "docker/client.h"

namespace stacksnap::docker {

inline constexpr const char* kHelperLabel = "stacksnap.helper";
inline constexpr const char* kHelperPidLabel = "stacksnap.helper.pid";

struct HelperSpec {
  std::string image;    // any local image; its command never runs
  std::string purpose;  // the value of kHelperLabel: "capture", "restore", "check"
  std::string name;     // "": the Engine picks one
  std::vector<MountSpec> mounts;
};

class HelperContainer {
 public:
  // Created without network, never started. NotFound when the image is missing.
  static Result<std::unique_ptr<HelperContainer>> create(Client& docker, const HelperSpec& spec);
  ~HelperContainer();  // removes it (forced, best effort) unless remove() did
  HelperContainer(const HelperContainer&) = delete;
  HelperContainer& operator=(const HelperContainer&) = delete;
  Status remove();
  const std::string& id() const { return id_; }

 private:
  HelperContainer(Client& d, std::string id) : docker_(d), id_(std::move(id)) {}
  Client& docker_;
  std::string id_;
  bool removed_ = false;
};

// Removes helper containers left behind by processes that no longer run; returns how many.
Result<int> remove_orphan_helpers(Client& docker);

}  // namespace stacksnap::docker
