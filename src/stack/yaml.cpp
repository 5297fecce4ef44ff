#include "stack/yaml.h"

#include <yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stacksnap::stack {
namespace {

using nlohmann::json;

json plain_scalar(const std::string& s) {
  static const char* kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const char* kFalse[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  for (const char* t : kTrue) {
    if (s == t) return true;
  }
  for (const char* f : kFalse) {
    if (s == f) return false;
  }
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  return s;
}

struct Frame {
  json value;
  std::string anchor;
  std::optional<std::string> key;  // mapping: the key waiting for its value
};

class Builder {
 public:
  Status add(json v, const std::string* raw_key) {
    if (stack_.empty()) {
      root_ = std::move(v);
      done_ = true;
      return {};
    }
    Frame& top = stack_.back();
    if (top.value.is_array()) {
      top.value.push_back(std::move(v));
      return {};
    }
    if (!top.key) {
      if (raw_key) top.key = *raw_key;
      else if (v.is_string()) top.key = v.get<std::string>();
      else top.key = v.dump();
      return {};
    }
    std::string key = std::move(*top.key);
    top.key.reset();
    if (key == "<<") {  // merge key: insert what is not set explicitly
      auto merge_one = [&](const json& m) {
        if (!m.is_object()) return;
        for (auto it = m.begin(); it != m.end(); ++it) {
          if (!top.value.contains(it.key())) top.value[it.key()] = *it;
        }
      };
      if (v.is_array()) {
        for (const auto& m : v) merge_one(m);
      } else {
        merge_one(v);
      }
      return {};
    }
    top.value[key] = std::move(v);
    return {};
  }
  void push(json v, const unsigned char* anchor) {
    stack_.push_back({std::move(v), anchor ? reinterpret_cast<const char*>(anchor) : "", std::nullopt});
  }
  Status pop() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (!f.anchor.empty()) anchors_[f.anchor] = f.value;
    return add(std::move(f.value), nullptr);
  }
  std::map<std::string, json>& anchors() { return anchors_; }
  bool done() const { return done_; }
  json take() { return std::move(root_); }

 private:
  std::vector<Frame> stack_;
  std::map<std::string, json> anchors_;
  json root_;
  bool done_ = false;
};

}  // namespace

Result<nlohmann::json> parse_yaml(std::string_view text) {
  if (text.size() > kMaxYamlBytes) return invalid_argument("YAML document larger than 4 MiB");
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return internal_error("libyaml: cannot initialise a parser");
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  Builder b;
  Status status;
  while (status.ok() && !b.done()) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      status = invalid_argument("YAML syntax error at line " + std::to_string(parser.problem_mark.line + 1) +
                                ", column " + std::to_string(parser.problem_mark.column + 1) + ": " +
                                (parser.problem ? parser.problem : "unknown problem"));
      break;
    }
    switch (ev.type) {
      case YAML_MAPPING_START_EVENT:
        b.push(json::object(), ev.data.mapping_start.anchor);
        break;
      case YAML_SEQUENCE_START_EVENT:
        b.push(json::array(), ev.data.sequence_start.anchor);
        break;
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT:
        status = b.pop();
        break;
      case YAML_SCALAR_EVENT: {
        std::string raw(reinterpret_cast<const char*>(ev.data.scalar.value), ev.data.scalar.length);
        json v = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(raw) : json(raw);
        if (ev.data.scalar.anchor) b.anchors()[reinterpret_cast<const char*>(ev.data.scalar.anchor)] = v;
        status = b.add(std::move(v), &raw);
        break;
      }
      case YAML_ALIAS_EVENT: {
        std::string name = reinterpret_cast<const char*>(ev.data.alias.anchor);
        auto it = b.anchors().find(name);
        if (it == b.anchors().end()) {
          status = invalid_argument("YAML alias *" + name + " names no anchor");
        } else {
          status = b.add(it->second, nullptr);
        }
        break;
      }
      case YAML_STREAM_END_EVENT:
        yaml_event_delete(&ev);
        yaml_parser_delete(&parser);
        if (!status.ok()) return std::move(status).error();
        return b.done() ? b.take() : json(nullptr);  // empty document
      default:
        break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  if (!status.ok()) return std::move(status).error();
  return b.take();
}

}  // namespace stacksnap::stack
