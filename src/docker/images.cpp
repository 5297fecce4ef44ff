// Client: images (list, inspect, pull).
#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/line_reader.h"
#include "docker/parse.h"

namespace stacksnap::docker {

using nlohmann::json;

Result<std::vector<ImageSummary>> EngineClient::list_images(const std::vector<std::string>& label_filters) {
  Call call{.method = "GET", .path = "/images/json", .op = "list images"};
  if (!label_filters.empty()) call.query.emplace_back("filters", encode_filters({{"label", label_filters}}));
  auto ex = TRY(open(call));
  auto j = TRY(read_json(*ex, call.op));
  std::vector<ImageSummary> out;
  if (j.is_array()) {
    for (const auto& i : j) out.push_back(parse_image_summary(i));
  }
  return out;
}

Result<ImageInfo> EngineClient::inspect_image(std::string_view reference) {
  Call call{.method = "GET", .path = "/images/" + path_arg(reference) + "/json",
            .op = "inspect image " + std::string(reference)};
  auto ex = TRY(open(call));
  return parse_image_info(TRY(read_json(*ex, call.op)));
}

Status EngineClient::pull_image(std::string_view reference, const std::function<void(std::string_view)>& progress,
                          const StopToken& stop) {
  auto [from, tag] = split_image_reference(reference);
  Call call{.method = "POST", .path = "/images/create", .query = {{"fromImage", from}, {"tag", tag}},
            .streaming = true, .op = "pull image " + std::string(reference)};
  auto ex = TRY(open(call, stop));
  LineReader lines(ex->body(), kMaxEventLine);
  for (;;) {
    auto line = TRY_CTX(lines.next(), call.op);
    if (!line) break;
    if (line->empty()) continue;
    auto j = json::parse(*line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    // A failed pull can answer 200 and end with an error line (notes §4.6).
    std::string message;
    if (j.contains("errorDetail") && j["errorDetail"].is_object() && j["errorDetail"].contains("message") &&
        j["errorDetail"]["message"].is_string()) {
      message = j["errorDetail"]["message"].get<std::string>();
    } else if (j.contains("error") && j["error"].is_string()) {
      message = j["error"].get<std::string>();
    }
    if (!message.empty()) return internal_error(call.op + ": " + message);
    if (progress && j.contains("status") && j["status"].is_string()) {
      std::string text = j["status"].get<std::string>();
      if (j.contains("id") && j["id"].is_string()) text = j["id"].get<std::string>() + ": " + text;
      progress(text);
    }
  }
  return {};
}

}  // namespace stacksnap::docker
