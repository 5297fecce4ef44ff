#include "stack/compose_file.h"

#include <algorithm>
#include <cctype>

namespace stacksnap::stack {
namespace {

using nlohmann::json;

std::string scalar_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  if (j.is_null()) return "";
  return j.dump();
}

std::map<std::string, std::string> string_map(const json& j, const EnvMap& env) {
  std::map<std::string, std::string> out;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = interpolate(scalar_text(*it), env);
  } else if (j.is_array()) {  // ["k=v", …]
    for (const auto& e : j) {
      std::string s = interpolate(scalar_text(e), env);
      auto eq = s.find('=');
      out[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
    }
  }
  return out;
}

bool is_var_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (!first && std::isdigit(static_cast<unsigned char>(c)));
}

}  // namespace

EnvMap parse_dotenv(std::string_view text) {
  EnvMap env;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line.remove_prefix(7);
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string key(line.substr(0, eq));
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string_view v = line.substr(eq + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    std::string value;
    if (v.size() >= 2 && v.front() == '\'' && v.find('\'', 1) != std::string_view::npos) {
      value = std::string(v.substr(1, v.find('\'', 1) - 1));
    } else if (v.size() >= 2 && v.front() == '"') {
      for (size_t i = 1; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          char n = v[++i];
          value.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : n);
        } else {
          value.push_back(v[i]);
        }
      }
    } else {
      if (auto hash = v.find(" #"); hash != std::string_view::npos) v = v.substr(0, hash);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      value = std::string(v);
    }
    env[key] = value;
  }
  return env;
}

std::string interpolate(std::string_view s, const EnvMap& env) {
  std::string out;
  auto lookup = [&](const std::string& name) -> const std::string* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : &it->second;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char n = s[i + 1];
    if (n == '$') {
      out.push_back('$');
      ++i;
    } else if (n == '{') {
      auto close = s.find('}', i + 2);
      if (close == std::string_view::npos) {
        out.append(s.substr(i));
        break;
      }
      std::string_view body = s.substr(i + 2, close - i - 2);
      size_t k = 0;
      while (k < body.size() && is_var_char(body[k], k == 0)) ++k;
      std::string name(body.substr(0, k));
      std::string_view op = body.substr(k);
      const std::string* v = lookup(name);
      if (op.starts_with(":-")) out += (v && !v->empty()) ? *v : interpolate(op.substr(2), env);
      else if (op.starts_with("-")) out += v ? *v : interpolate(op.substr(1), env);
      else if (op.starts_with(":+")) out += (v && !v->empty()) ? interpolate(op.substr(2), env) : "";
      else if (op.starts_with("+")) out += v ? interpolate(op.substr(1), env) : "";
      else if (v) out += *v;  // plain, or :? / ? (an error for Compose; empty here)
      i = close;
    } else if (is_var_char(n, true)) {
      size_t k = i + 1;
      while (k < s.size() && is_var_char(s[k], k == i + 1)) ++k;
      if (const std::string* v = lookup(std::string(s.substr(i + 1, k - i - 1)))) out += *v;
      i = k - 1;
    } else {
      out.push_back('$');
    }
  }
  return out;
}

Result<ComposeFile> read_compose_document(const json& doc, const EnvMap& env) {
  ComposeFile f;
  if (doc.is_null()) return f;
  if (!doc.is_object()) return invalid_argument("a compose file must be a mapping at the top level");
  if (auto vols = doc.find("volumes"); vols != doc.end() && vols->is_object()) {
    for (auto it = vols->begin(); it != vols->end(); ++it) {
      ComposeVolume v;
      v.key = it.key();
      const json& d = *it;
      if (d.is_object()) {
        if (auto n = d.find("name"); n != d.end() && !n->is_null()) v.name = interpolate(scalar_text(*n), env);
        if (auto e = d.find("external"); e != d.end()) {
          if (e->is_boolean()) {
            v.external = e->get<bool>();
          } else if (e->is_object()) {  // legacy `external: {name: x}`
            v.external = true;
            if (auto n = e->find("name"); n != e->end()) v.name = interpolate(scalar_text(*n), env);
          } else if (e->is_string()) {
            v.external = interpolate(e->get<std::string>(), env) == "true";
          }
        }
        if (auto dr = d.find("driver"); dr != d.end()) v.driver = interpolate(scalar_text(*dr), env);
        if (auto o = d.find("driver_opts"); o != d.end()) v.driver_opts = string_map(*o, env);
        if (auto l = d.find("labels"); l != d.end()) v.labels = string_map(*l, env);
      }
      f.volumes[v.key] = std::move(v);
    }
  }
  if (auto svcs = doc.find("services"); svcs != doc.end() && svcs->is_object()) {
    for (auto it = svcs->begin(); it != svcs->end(); ++it) {
      ComposeService s;
      if (it->is_object()) {
        if (auto ef = it->find("env_file"); ef != it->end()) {
          auto add = [&](const json& e) {
            std::string p;
            bool required = true;
            if (e.is_object()) {
              if (auto path = e.find("path"); path != e.end()) p = scalar_text(*path);
              if (auto req = e.find("required"); req != e.end()) {
                const std::string r = interpolate(scalar_text(*req), env);
                required = !(r == "false" || r == "False" || r == "no");
              }
            } else {
              p = scalar_text(e);
            }
            if (p.empty()) return;
            p = interpolate(p, env);
            s.env_files.push_back(p);
            if (!required) s.optional_env_files.insert(p);
          };
          if (ef->is_array()) {
            for (const auto& e : *ef) add(e);
          } else {
            add(*ef);
          }
        }
      }
      f.services[it.key()] = std::move(s);
    }
  }
  if (auto inc = doc.find("include"); inc != doc.end() && inc->is_array()) {
    auto strings = [&](const json& j) {
      std::vector<std::string> out;
      if (j.is_array()) {
        for (const auto& e : j) out.push_back(interpolate(scalar_text(e), env));
      } else if (!j.is_null()) {
        out.push_back(interpolate(scalar_text(j), env));
      }
      return out;
    };
    for (const auto& e : *inc) {
      ComposeInclude ci;
      if (e.is_object()) {
        if (auto p = e.find("path"); p != e.end()) ci.paths = strings(*p);
        if (auto d = e.find("project_directory"); d != e.end()) ci.project_directory = interpolate(scalar_text(*d), env);
        if (auto ef = e.find("env_file"); ef != e.end()) ci.env_files = strings(*ef);
      } else {
        ci.paths = strings(e);
      }
      std::erase(ci.paths, std::string());
      if (!ci.paths.empty()) f.includes.push_back(std::move(ci));
    }
  }
  return f;
}

void merge_compose(ComposeFile& base, const ComposeFile& next) {
  for (const auto& [key, v] : next.volumes) {
    auto it = base.volumes.find(key);
    if (it == base.volumes.end()) {
      base.volumes[key] = v;
      continue;
    }
    ComposeVolume& b = it->second;
    if (v.name) b.name = v.name;
    if (v.external) b.external = true;
    if (!v.driver.empty()) b.driver = v.driver;
    for (const auto& [k, o] : v.driver_opts) b.driver_opts[k] = o;
    for (const auto& [k, l] : v.labels) b.labels[k] = l;
  }
  for (const auto& [name, s] : next.services) {
    auto& b = base.services[name];
    for (const auto& e : s.env_files) {
      if (std::find(b.env_files.begin(), b.env_files.end(), e) == b.env_files.end()) b.env_files.push_back(e);
    }
    b.optional_env_files.insert(s.optional_env_files.begin(), s.optional_env_files.end());
  }
  base.includes.insert(base.includes.end(), next.includes.begin(), next.includes.end());
}

std::string volume_engine_name(const ComposeVolume& v, std::string_view project) {
  if (v.name && !v.name->empty()) return *v.name;
  if (v.external) return v.key;
  while (!project.empty() && (project.front() == '-' || project.front() == '_')) project.remove_prefix(1);
  return std::string(project) + "_" + v.key;
}

}  // namespace stacksnap::stack
