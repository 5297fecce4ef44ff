// Client: exec — create, start on a hijacked connection, demux, stdin, exit code.
#include <algorithm>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/frames.h"
#include "docker/parse.h"

namespace stacksnap::docker {

using nlohmann::json;

namespace {

// What the stdin thread reports back.
struct StdinOutcome {
  Status status;
  bool reader_failed = false;  // the caller's Reader failed (its error is `status`)
  bool completed = false;      // EOF reached and the socket half-closed
  uint64_t bytes = 0;
};

// A Writer that keeps at most `limit` bytes.
class BoundedStringWriter final : public Writer {
 public:
  BoundedStringWriter(size_t limit, const char* what) : limit_(limit), what_(what) {}
  Status write(Bytes data) override {
    if (s_.size() + data.size() > limit_) {
      return resource_exhausted(std::string(what_) + " is larger than " + std::to_string(limit_) + " bytes");
    }
    s_.append(as_chars(data));
    return {};
  }
  std::string take() { return std::move(s_); }

 private:
  size_t limit_;
  const char* what_;
  std::string s_;
};

std::string describe(std::string_view container, const ExecOptions& o) {
  std::string cmd = o.cmd.empty() ? std::string("(no command)") : o.cmd.front();
  return "exec " + cmd + " in container " + std::string(container);
}

}  // namespace

Result<ExecInspect> EngineClient::inspect_exec(std::string_view exec_id) {
  Call call{.method = "GET", .path = "/exec/" + path_arg(exec_id) + "/json",
            .op = "inspect exec " + std::string(exec_id.substr(0, 12))};
  auto ex = TRY(open(call));
  return parse_exec_inspect(TRY(read_json(*ex, call.op)));
}

Result<int> EngineClient::exec(std::string_view container, const ExecOptions& options, Reader* stdin, Writer& out,
                         Writer& err, const StopToken& stop) {
  const std::string op = describe(container, options);
  if (options.cmd.empty()) return invalid_argument(op + ": no command given");
  TRY(check_cancel(stop, op));

  // 1. Create. Tty is always false: a TTY merges the streams and breaks stdin EOF (notes §2.4).
  json create = {{"AttachStdin", stdin != nullptr}, {"AttachStdout", true}, {"AttachStderr", true},
                 {"Tty", false}, {"Cmd", options.cmd}};
  if (!options.env.empty()) create["Env"] = options.env;
  if (!options.user.empty()) create["User"] = options.user;
  if (!options.working_dir.empty()) create["WorkingDir"] = options.working_dir;
  Call create_call{.method = "POST", .path = "/containers/" + path_arg(container) + "/exec",
                   .json_body = create.dump(), .op = op};
  auto create_ex = TRY(open(create_call));
  auto created = TRY(read_json(*create_ex, op));
  std::string id = created.is_object() && created.contains("Id") && created["Id"].is_string()
                       ? created["Id"].get<std::string>()
                       : "";
  if (id.empty()) return internal_error(op + ": the Docker Engine returned no exec ID");

  // 2. Start on a hijacked connection. open() returns after the whole response head,
  //    so stdin bytes are never sent early (the daemon would drop them).
  Call start_call{.method = "POST", .path = "/exec/" + id + "/start",
                  .json_body = std::string(R"({"Detach":false,"Tty":false})"), .upgrade = true,
                  .streaming = true, .op = op};
  auto ex = TRY(open(start_call, stop));
  auto& conn = ex->conn();

  StdinOutcome in;
  std::thread writer;
  if (stdin) {
    writer = std::thread([&conn, &in, stdin] {
      std::vector<std::byte> buf(kExecBuffer);
      for (;;) {
        auto n = stdin->read(buf);
        if (!n.ok()) {
          in.status = std::move(n).error();
          in.reader_failed = true;
          conn.abort();  // never signal a clean EOF for input that failed
          return;
        }
        if (*n == 0) {
          in.status = conn.shutdown_write();
          in.completed = in.status.ok();
          return;
        }
        in.status = conn.send_all(Bytes(buf.data(), *n));
        if (!in.status.ok()) return;
        in.bytes += *n;
      }
    });
  }
  auto join_writer = [&] {
    if (writer.joinable()) writer.join();
  };

  // 3. Demultiplex the output until the Engine closes the stream.
  FrameDemuxer demux(out, err);
  Status read_status;
  {
    std::vector<std::byte> buf(kExecBuffer);
    for (;;) {
      auto n = conn.recv_some(buf);
      if (!n.ok()) {
        read_status = std::move(n).error();
        break;
      }
      if (*n == 0) {
        read_status = demux.finish();
        break;
      }
      read_status = demux.feed(Bytes(buf.data(), *n));
      if (!read_status.ok()) break;
    }
  }
  // The output is over (or failed): unblock a writer still sending, then collect it.
  conn.abort();
  join_writer();
  if (stop.stop_requested()) return cancelled(op + " cancelled");
  if (in.reader_failed) return std::move(in.status).error().with_context(op + ": standard input");
  if (!read_status.ok()) return std::move(read_status).error().with_context(op);
  if (!demux.system_error().empty()) return internal_error(op + ": " + demux.system_error());

  // 4. The exit code: poll until Running=false and ExitCode is set (notes §2.5).
  // A process whose container was killed can stay "Running" in the exec's record, so
  // after a second of polling the container itself is asked too: when it has stopped,
  // the command died with it, and waiting out the deadline would only delay the news.
  const auto polling_since = std::chrono::steady_clock::now();
  auto deadline = polling_since + options.exit_code_deadline;
  auto delay = std::chrono::milliseconds(2);
  int exit_code = 0;
  for (;;) {
    auto info = TRY_CTX(inspect_exec(id), op);
    if (!info.running && info.exit_code) {
      exit_code = *info.exit_code;
      break;
    }
    if (std::chrono::steady_clock::now() - polling_since >= std::chrono::seconds(1)) {
      auto c = inspect_container(container);
      if (c.ok() && !c->state.running) {
        return unavailable(op + ": container " + std::string(container) + " stopped (" + c->state.status +
                           (c->state.exit_code ? ", exit code " + std::to_string(c->state.exit_code) : std::string()) +
                           ") before the command finished");
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return deadline_exceeded(op + ": no exit code within " +
                               std::to_string(options.exit_code_deadline.count() / 1000) + " s after its output ended");
    }
    if (stop.stop_requested()) return cancelled(op + " cancelled");
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(200));
  }
  if (stdin && !in.completed && exit_code == 0) {
    return aborted(op + ": exited 0 before reading all of its standard input (" + std::to_string(in.bytes) +
                   " bytes sent" + (in.status.ok() ? std::string() : ": " + in.status.error().message()) + ")");
  }
  return exit_code;
}

Result<ExecOutput> Client::exec_capture(std::string_view container, const ExecOptions& options, size_t limit,
                                        const StopToken& stop) {
  BoundedStringWriter out(limit, "standard output"), err(limit, "standard error");
  int rc = TRY(exec(container, options, nullptr, out, err, stop));
  return ExecOutput{.exit_code = rc, .out = out.take(), .err = err.take()};
}

}  // namespace stacksnap::docker
