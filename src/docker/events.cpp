// Client: the events stream.
#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/line_reader.h"
#include "docker/parse.h"

namespace stacksnap::docker {

Status EngineClient::events(const EventFilters& filters, int64_t since, int64_t until,
                      const std::function<Result<bool>(const Event&)>& callback, const StopToken& stop) {
  Call call{.method = "GET", .path = "/events", .streaming = true, .op = "watch Docker Engine events"};
  if (since > 0) call.query.emplace_back("since", std::to_string(since));
  if (until > 0) call.query.emplace_back("until", std::to_string(until));
  if (!filters.empty()) call.query.emplace_back("filters", encode_filters(filters));
  auto ex = TRY(open(call, stop));
  LineReader lines(ex->body(), kMaxEventLine);
  for (;;) {
    auto line = lines.next();
    if (!line.ok()) {
      if (stop.stop_requested()) return cancelled(call.op + " cancelled");
      return std::move(line).error().with_context(call.op);
    }
    if (!*line) return {};  // `until` reached: the Engine ended the stream
    std::string_view text = **line;
    if (!text.empty() && text.front() == '\x1e') text.remove_prefix(1);  // json-seq framing
    if (text.empty()) continue;
    auto j = TRY_CTX(parse_json(text, "an event"), call.op);
    bool more = TRY(callback(parse_event(j)));
    if (!more) return {};
  }
}

}  // namespace stacksnap::docker
