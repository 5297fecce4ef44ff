#include "base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/clock.h"
#include "base/fd.h"

extern char** environ;

namespace stacksnap {

std::string find_in_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty()) {
      std::string cand = dir + "/" + program;
      struct stat st{};
      if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(cand.c_str(), X_OK) == 0) return cand;
    }
    start = end + 1;
  }
  return {};
}

namespace {

struct Stream {
  UniqueFd fd;
  std::string* capture;
  std::string line;
  bool is_err;
};

void append_bounded(std::string& s, const char* data, size_t n, size_t limit) {
  s.append(data, n);
  if (s.size() > limit) s.erase(0, s.size() - limit);
}

}  // namespace

Result<SubprocessResult> run_subprocess(const SubprocessOptions& o, const StopToken& stop) {
  if (o.argv.empty()) return invalid_argument("run: empty command");
  std::string exe = find_in_path(o.argv[0]);
  if (exe.empty()) return not_found(o.argv[0] + " not found in PATH");

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return errno_error("pipe", errno);
  }
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, o.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> argv, envp;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exe.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return errno_error("run " + o.argv[0], rc);
  out_w.reset();
  err_w.reset();

  SubprocessResult res;
  Stream streams[2] = {{std::move(out_r), &res.out, {}, false}, {std::move(err_r), &res.err, {}, true}};
  double deadline = monotonic_seconds() + static_cast<double>(o.timeout.count());
  double kill_at = 0;
  bool timed_out = false, cancelled_run = false;
  char buf[16384];
  while (streams[0].fd.valid() || streams[1].fd.valid()) {
    pollfd pfd[2];
    int n = 0;
    int map[2];
    for (int i = 0; i < 2; ++i) {
      if (streams[i].fd.valid()) {
        pfd[n] = {streams[i].fd.get(), POLLIN, 0};
        map[n++] = i;
      }
    }
    int pr = ::poll(pfd, static_cast<nfds_t>(n), 200);
    if (pr < 0 && errno != EINTR) break;
    for (int k = 0; k < n && pr > 0; ++k) {
      if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Stream& s = streams[map[k]];
      ssize_t got = ::read(s.fd.get(), buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        if (o.on_line && !s.line.empty()) o.on_line(s.is_err, s.line);
        s.fd.reset();
        continue;
      }
      append_bounded(*s.capture, buf, static_cast<size_t>(got), o.capture_limit);
      if (o.on_line) {
        for (ssize_t i = 0; i < got; ++i) {
          if (buf[i] == '\n') {
            o.on_line(s.is_err, s.line);
            s.line.clear();
          } else if (s.line.size() < 65536) {
            s.line += buf[i];
          }
        }
      }
    }
    double now = monotonic_seconds();
    if (!kill_at && (stop.stop_requested() || now > deadline)) {
      timed_out = !stop.stop_requested();
      cancelled_run = stop.stop_requested();
      ::kill(-pid, SIGTERM);
      kill_at = now + 5;
    } else if (kill_at && now > kill_at) {
      ::kill(-pid, SIGKILL);
      kill_at = now + 3600;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (cancelled_run) return cancelled(o.argv[0] + " cancelled");
  if (timed_out) return deadline_exceeded(o.argv[0] + " did not finish within " + std::to_string(o.timeout.count()) + " s");
  return res;
}

}  // namespace stacksnap
