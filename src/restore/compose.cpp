#include "restore/compose.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <regex>

#include "base/fd.h"
#include "base/subprocess.h"
#include "base/text.h"
#include "dbengine/engine.h"
#include "stack/model.h"

namespace stacksnap::restore {

std::string ComposeTool::describe() const {
  std::string s;
  for (const auto& a : argv0) s += (s.empty() ? "" : " ") + a;
  return s + " " + version;
}

std::vector<std::string> compose_environment(const std::string& docker_host) {
  std::vector<std::string> env;
  for (const char* k : {"PATH", "HOME", "LANG", "TMPDIR", "DOCKER_CONFIG", "DOCKER_CONTEXT", "XDG_RUNTIME_DIR"}) {
    const char* v = std::getenv(k);
    if (v && *v) env.push_back(std::string(k) + "=" + v);
  }
  bool has_path = false;
  for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
  if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::string host = docker_host;
  if (host.empty()) {
    const char* v = std::getenv("DOCKER_HOST");
    if (v && *v) host = v;
  }
  if (!host.empty()) env.push_back("DOCKER_HOST=" + host);
  return env;
}

namespace {

// "path inode size mtime_ns" of the executable `name` found on PATH; "" when not found.
std::string executable_identity(const std::string& name) {
  const std::string path = find_in_path(name);
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return {};
  const long long mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return path + " " + std::to_string(st.st_ino) + " " + std::to_string(st.st_size) + " " + std::to_string(mtime_ns);
}

}  // namespace

std::string compose_cache_file(const std::string& data_dir) { return data_dir + "/compose-tool.cache"; }

namespace {

const std::regex& version_regex() {
  static const std::regex kVersion(R"((\d+\.\d+\.\d+))");
  return kVersion;
}

// `ARGV0… version`: the tool, or why not. With `cache_file`, the version of a
// `docker-compose` is cached per executable identity (see find_compose).
Result<ComposeTool> probe_compose(const std::vector<std::string>& argv0, const std::string& cache_file) {
  const auto& kVersion = version_regex();
  std::string identity;
  if (argv0.size() == 1 && !cache_file.empty()) {
    identity = executable_identity(argv0[0]);
    auto cached = read_small_file(cache_file, 4096);
    if (!identity.empty() && cached.ok()) {
      // "<identity>\n<version>\n"
      size_t nl = cached->find('\n');
      if (nl != std::string::npos && cached->substr(0, nl) == identity) {
        const std::string version(trim_space(cached->substr(nl + 1)));
        if (std::regex_match(version, kVersion)) {
          return ComposeTool{.argv0 = argv0, .version = version, .v2 = stack::compose_flavour_of(version) == "v2"};
        }
      }
    }
  }
  std::vector<std::string> argv = argv0;
  argv.push_back("version");
  auto r = run_subprocess({.argv = argv, .env = compose_environment({}), .timeout = std::chrono::seconds(30)});
  if (r.ok() && r->exit_code == 0) {
    std::smatch m;
    std::string out = r->out + r->err;
    ComposeTool t{.argv0 = argv0};
    if (std::regex_search(out, m, kVersion)) t.version = m[1];
    t.v2 = argv0.size() == 2 || stack::compose_flavour_of(t.version) == "v2";
    if (!identity.empty() && !t.version.empty()) {
      (void)write_file_atomic(cache_file, identity + "\n" + t.version + "\n", 0600);  // a cache: failures are harmless
    }
    return t;
  }
  return not_found(argv[0] + (argv0.size() == 2 ? " compose" : "") + ": " +
                   (r.ok() ? dbengine::stderr_tail(r->err.empty() ? r->out : r->err) : r.error().message()));
}

const std::vector<std::string> kV2Argv0 = {"docker", "compose"};
const std::vector<std::string> kV1Argv0 = {"docker-compose"};

}  // namespace

Result<ComposeTool> find_compose(const std::string& cache_file) {
  std::string tried;
  for (const auto& argv0 : {kV2Argv0, kV1Argv0}) {
    auto t = probe_compose(argv0, cache_file);
    if (t.ok()) return t;
    tried += (tried.empty() ? "" : "; ") + t.error().message();
  }
  return not_found("Docker Compose is not installed (" + tried + ")");
}

ComposeTools find_compose_tools(const std::string& cache_file) {
  auto v1 = std::async(std::launch::async, probe_compose, kV1Argv0, cache_file);
  ComposeTools tools;
  auto add = [&](Result<ComposeTool> t) {
    if (!t.ok()) {
      tools.problems += (tools.problems.empty() ? "" : "; ") + t.error().message();
      return;
    }
    auto& slot = t->v2 ? tools.v2 : tools.v1;  // a `docker-compose` may be a v2 build
    if (!slot) slot = std::move(*t);
  };
  add(probe_compose(kV2Argv0, cache_file));
  add(v1.get());
  return tools;
}

Result<std::string> Compose::run(const std::vector<std::string>& args, const StopToken& stop, const std::string& what) {
  std::vector<std::string> argv = tool_.argv0;
  argv.push_back("-p");
  argv.push_back(project_.name);
  argv.push_back("--project-directory");
  argv.push_back(project_.working_dir);
  for (const auto& f : project_.files) {
    argv.push_back("-f");
    argv.push_back(f);
  }
  if (!project_.env_file.empty()) {
    argv.push_back("--env-file");
    argv.push_back(project_.env_file);
  }
  for (const auto& a : args) argv.push_back(a);
  auto r = run_subprocess({.argv = argv,
                           .env = compose_environment(docker_host_),
                           .cwd = project_.working_dir,
                           .timeout = std::chrono::seconds(900),
                           .on_line = [this](bool, const std::string& line) {
                             if (sink_ && !line.empty()) sink_(line);
                           }},
                          stop);
  if (!r.ok()) return std::move(r).error().with_context(what);
  if (r->exit_code != 0) {
    return internal_error(what + ": " + tool_.describe() + " exited " + std::to_string(r->exit_code) + ": " +
                          dbengine::stderr_tail(r->err.empty() ? r->out : r->err));
  }
  return std::move(r->out);
}

Status Compose::up(const std::vector<std::string>& services, Deps deps, const StopToken& stop) {
  std::vector<std::string> args = {"up", "-d"};
  if (deps == Deps::kLeave) args.push_back("--no-deps");
  for (const auto& s : services) args.push_back(s);
  TRY(run(args, stop, "compose up " + project_.name));
  return {};
}

// v2's `down` leaves the containers of services whose profile is not active: every
// profile is made active ("*", v2.20+; an older v2 takes it for a profile name that no
// service has, i.e. changes nothing). v1 removes every container of the project anyway.
std::vector<std::string> Compose::down_args(bool volumes) const {
  std::vector<std::string> args;
  if (tool_.v2) args = {"--profile", "*"};
  args.push_back("down");
  if (volumes) args.push_back("-v");
  args.push_back("--remove-orphans");
  return args;
}

Status Compose::down(const StopToken& stop) {
  TRY(run(down_args(false), stop, "compose down " + project_.name));
  return {};
}

Status Compose::down_with_volumes(const StopToken& stop) {
  TRY(run(down_args(true), stop, "compose down -v " + project_.name));
  return {};
}

Status Compose::stop_services(const std::vector<std::string>& services, const StopToken& stop) {
  std::vector<std::string> args = {"stop"};
  for (const auto& s : services) args.push_back(s);
  TRY(run(args, stop, "compose stop " + project_.name));
  return {};
}

Result<std::string> Compose::config(const StopToken& stop, const std::vector<std::string>& services) {
  std::vector<std::string> args = {"config"};
  if (tool_.v2) args.insert(args.end(), services.begin(), services.end());
  return run(args, stop, "compose config " + project_.name);
}

Result<ComposeChoice> parse_compose_choice(std::string_view s) {
  if (s.empty() || s == "auto") return ComposeChoice::kAuto;
  if (s == "v1") return ComposeChoice::kV1;
  if (s == "v2") return ComposeChoice::kV2;
  return invalid_argument("compose must be v1 or v2 (or auto), not \"" + std::string(s) + "\"");
}

std::string_view compose_choice_name(ComposeChoice c) {
  switch (c) {
    case ComposeChoice::kAuto: return "auto";
    case ComposeChoice::kV1: return "v1";
    case ComposeChoice::kV2: return "v2";
  }
  return "auto";
}

Result<ComposeTool> choose_compose(const ComposeTools& tools, ComposeChoice choice, const std::string& created_by,
                                   std::string* note) {
  if (!tools.v1 && !tools.v2) return not_found("Docker Compose is not installed (" + tools.problems + ")");
  if (choice == ComposeChoice::kV1 || choice == ComposeChoice::kV2) {
    const auto& want = choice == ComposeChoice::kV1 ? tools.v1 : tools.v2;
    if (!want) {
      return failed_precondition(std::string("--compose ") + std::string(compose_choice_name(choice)) +
                                 ": " + (choice == ComposeChoice::kV1 ? "docker-compose (v1)" : "docker compose (v2)") +
                                 " is not installed on this host");
    }
    return *want;
  }
  const std::string flavour = stack::compose_flavour_of(created_by);
  const auto& same = flavour == "v1" ? tools.v1 : tools.v2;
  const auto& other = flavour == "v1" ? tools.v2 : tools.v1;
  if (same) return *same;
  if (note) {
    *note = flavour.empty()
                ? "the Compose that created the project is unknown; using " + other->describe()
                : "the project was created by Compose " + flavour + " " + created_by + ", which is not installed here; using " +
                      other->describe() + (flavour == "v2" ? " (it may not read newer compose files)" : "");
  }
  return *other;
}

}  // namespace stacksnap::restore
