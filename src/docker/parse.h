// Engine JSON → typed values, and other pure decoding used by the client.
// Every parser tolerates missing or null fields (older and newer API versions).
// InvalidArgument only when the payload is not the expected JSON shape at all.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "docker/types.h"

namespace stacksnap::docker {

Result<nlohmann::json> parse_json(std::string_view text, std::string_view what);

VersionInfo parse_version(const nlohmann::json& j);
ContainerSummary parse_container_summary(const nlohmann::json& j);
ContainerInfo parse_container_info(const nlohmann::json& j);
TopResult parse_top(const nlohmann::json& j);
VolumeInfo parse_volume(const nlohmann::json& j);
ImageSummary parse_image_summary(const nlohmann::json& j);
ImageInfo parse_image_info(const nlohmann::json& j);
ExecInspect parse_exec_inspect(const nlohmann::json& j);
Event parse_event(const nlohmann::json& j);

// The base64 JSON of X-Docker-Container-Path-Stat. InvalidArgument when malformed.
Result<PathStat> decode_path_stat(std::string_view header_value);

// The Engine's error text from an error response body: {"message": "..."} or plain text
// (API < 1.24), trimmed; empty when there is none.
std::string engine_error_message(std::string_view body);

// Image reference → (fromImage, tag) for POST /images/create. "redis" → ("redis",
// "latest"); "localhost:5000/a/b:1" → ("localhost:5000/a/b", "1");
// "x@sha256:ab" → ("x", "sha256:ab"). Never returns an empty tag (notes §4.6).
std::pair<std::string, std::string> split_image_reference(std::string_view ref);

// Filters as the Engine wants them in a query: {"label":["a=b"]} as JSON.
std::string encode_filters(const EventFilters& filters);

}  // namespace stacksnap::docker
