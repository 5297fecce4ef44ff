// Client: containers (list, inspect, top, lifecycle, helper containers).
#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/parse.h"

namespace stacksnap::docker {

using nlohmann::json;

namespace {

std::string short_id(std::string_view id) { return std::string(id.substr(0, 64)); }

}  // namespace

Result<std::vector<ContainerSummary>> EngineClient::list_containers(const ListContainersOptions& options) {
  EventFilters filters;
  if (!options.labels.empty()) filters["label"] = options.labels;
  if (!options.names.empty()) filters["name"] = options.names;
  Call call{.method = "GET", .path = "/containers/json", .op = "list containers"};
  if (options.all) call.query.emplace_back("all", "1");
  if (!filters.empty()) call.query.emplace_back("filters", encode_filters(filters));
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  std::vector<ContainerSummary> out;
  if (j.is_array()) {
    for (const auto& c : j) out.push_back(parse_container_summary(c));
  }
  return out;
}

Result<ContainerInfo> EngineClient::inspect_container(std::string_view id) {
  Call call{.method = "GET", .path = "/containers/" + path_arg(id) + "/json",
            .op = "inspect container " + short_id(id)};
  auto ex = TRY(open(call));
  return parse_container_info(TRY(read_json(*ex, call.op)));
}

Result<TopResult> EngineClient::top(std::string_view id, std::string_view ps_args) {
  Call call{.method = "GET", .path = "/containers/" + path_arg(id) + "/top",
            .query = {{"ps_args", std::string(ps_args)}}, .op = "list processes of container " + short_id(id)};
  auto ex = TRY(open(call));
  return parse_top(TRY(read_json(*ex, call.op)));
}

Status EngineClient::start_container(std::string_view id) {
  Call call{.method = "POST", .path = "/containers/" + path_arg(id) + "/start", .accept = {304},
            .op = "start container " + short_id(id)};
  TRY(request(call));
  return {};
}

Status EngineClient::stop_container(std::string_view id, int timeout_seconds) {
  Call call{.method = "POST", .path = "/containers/" + path_arg(id) + "/stop",
            .query = {{"t", std::to_string(timeout_seconds)}}, .accept = {304},
            .op = "stop container " + short_id(id)};
  // Stopping waits up to the grace period: allow for it beyond the call timeout.
  call.streaming = true;
  TRY(request(call));
  return {};
}

Status EngineClient::pause_container(std::string_view id) {
  Call call{.method = "POST", .path = "/containers/" + path_arg(id) + "/pause", .op = "pause container " + short_id(id)};
  TRY(request(call));
  return {};
}

Status EngineClient::unpause_container(std::string_view id) {
  Call call{.method = "POST", .path = "/containers/" + path_arg(id) + "/unpause",
            .op = "unpause container " + short_id(id)};
  TRY(request(call));
  return {};
}

Result<std::string> EngineClient::create_container(const CreateContainerOptions& o) {
  json body = json::object();
  body["Image"] = o.image;
  if (!o.cmd.empty()) body["Cmd"] = o.cmd;
  if (o.entrypoint) body["Entrypoint"] = *o.entrypoint;
  if (!o.env.empty()) body["Env"] = o.env;
  body["Labels"] = o.labels;
  if (!o.user.empty()) body["User"] = o.user;
  if (!o.working_dir.empty()) body["WorkingDir"] = o.working_dir;
  body["Tty"] = false;
  if (o.open_stdin) {
    body["OpenStdin"] = true;
    body["StdinOnce"] = false;
  }
  json host = json::object();
  if (!o.network_mode.empty()) host["NetworkMode"] = o.network_mode;
  json mounts = json::array();
  for (const auto& m : o.mounts) {
    json jm = {{"Target", m.target}, {"ReadOnly", m.read_only}};
    switch (m.type) {
      case MountSpec::Type::kVolume:
        jm["Type"] = "volume";
        jm["Source"] = m.source;
        if (m.no_copy) jm["VolumeOptions"] = {{"NoCopy", true}};
        break;
      case MountSpec::Type::kBind:
        jm["Type"] = "bind";
        jm["Source"] = m.source;
        break;
      case MountSpec::Type::kTmpfs:
        jm["Type"] = "tmpfs";
        break;
    }
    mounts.push_back(std::move(jm));
  }
  if (!mounts.empty()) host["Mounts"] = std::move(mounts);
  body["HostConfig"] = std::move(host);

  Call call{.method = "POST", .path = "/containers/create", .json_body = body.dump(),
            .op = "create container" + (o.name.empty() ? std::string() : " " + o.name) + " from " + o.image};
  if (!o.name.empty()) call.query.emplace_back("name", o.name);
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  std::string id = j.is_object() && j.contains("Id") && j["Id"].is_string() ? j["Id"].get<std::string>() : "";
  if (id.empty()) return internal_error(call.op + ": the Docker Engine returned no container ID");
  return id;
}

Status EngineClient::remove_container(std::string_view id, const RemoveContainerOptions& o) {
  Call call{.method = "DELETE", .path = "/containers/" + path_arg(id), .op = "remove container " + short_id(id)};
  if (o.force) call.query.emplace_back("force", "1");
  if (o.remove_volumes) call.query.emplace_back("v", "1");
  call.streaming = true;  // a forced removal stops the container first
  TRY(request(call));
  return {};
}

Result<int> EngineClient::wait_container(std::string_view id, const StopToken& stop) {
  Call call{.method = "POST", .path = "/containers/" + path_arg(id) + "/wait", .streaming = true,
            .op = "wait for container " + short_id(id)};
  auto ex = TRY(open(call, stop));
  auto j = TRY(read_json(*ex, call.op));
  if (j.is_object() && j.contains("Error") && j["Error"].is_object() && j["Error"].contains("Message") &&
      j["Error"]["Message"].is_string() && !j["Error"]["Message"].get<std::string>().empty()) {
    return internal_error(call.op + ": " + j["Error"]["Message"].get<std::string>());
  }
  if (!j.is_object() || !j.contains("StatusCode") || !j["StatusCode"].is_number()) {
    return internal_error(call.op + ": no StatusCode in the Docker Engine's answer");
  }
  return j["StatusCode"].get<int>();
}

}  // namespace stacksnap::docker
