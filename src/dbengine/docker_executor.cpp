#include "dbengine/docker_executor.h"

#include <thread>

#include "archive/tar_io.h"
#include "base/pipe.h"

namespace stacksnap::dbengine {

Result<int> DockerExecutor::run(const ExecRequest& req, Reader* in, Writer& out, Writer& err,
                                const StopToken& stop) {
  docker::ExecOptions o{.cmd = req.cmd, .env = req.env, .user = req.user};
  return docker_.exec(id_, o, in, out, err, stop);
}

bool DockerExecutor::container_running() {
  auto info = docker_.inspect_container(id_);
  return !info.ok() || info->state.running;
}

Status DockerContainerControl::stop(const StopToken&) { return docker_.stop_container(id_, 30); }
Status DockerContainerControl::start(const StopToken&) { return docker_.start_container(id_); }

Status DockerContainerControl::put_files(const std::string& dir, const std::vector<PutEntry>& entries, int uid,
                                         int gid) {
  // A small tar, produced on a thread into a bounded pipe the upload reads from.
  Pipe pipe(1 << 20);
  Status produced;
  std::thread producer([&] {
    Pipe::WriterEnd w(pipe);
    auto tar = archive::TarWriter::create(w);
    if (!tar.ok()) {
      produced = tar.error();
      pipe.fail(tar.error());
      return;
    }
    for (const auto& e : entries) {
      archive::EntryMeta meta{.path = e.path,
                              .type = e.directory ? archive::EntryType::kDirectory : archive::EntryType::kFile,
                              .mode = static_cast<uint32_t>(e.directory ? 0755 : e.mode),
                              .uid = static_cast<uint32_t>(uid), .gid = static_cast<uint32_t>(gid),
                              .mtime_sec = std::time(nullptr), .size = e.directory ? 0 : e.size};
      produced = archive::write_tar_entry(**tar, meta, e.directory ? nullptr : e.content);
      if (!produced.ok()) break;
    }
    if (produced.ok()) produced = (*tar)->finish();
    if (produced.ok()) pipe.close_write();
    else pipe.fail(produced.error());
  });
  Pipe::ReaderEnd r(pipe);
  Status put = docker_.put_archive(id_, dir, r);
  if (!put.ok()) pipe.fail(put.error());
  producer.join();
  if (!produced.ok()) return produced;
  return put;
}

ContainerFacts facts_from(const docker::ContainerInfo& info) {
  ContainerFacts f{.name = info.name, .cmd = info.cmd, .entrypoint = info.entrypoint, .labels = info.labels};
  for (const auto& kv : info.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) f.env[kv] = "";
    else f.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return f;
}

}  // namespace stacksnap::dbengine
