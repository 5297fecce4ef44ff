// Client: archive endpoints — HEAD (stat), GET (tar out), PUT (tar in).
#include <vector>

#include "docker/client.h"
#include "docker/client_internal.h"
#include "docker/parse.h"

namespace stacksnap::docker {
namespace {

std::string where(std::string_view container, std::string_view path) {
  return std::string(path) + " in container " + std::string(container.substr(0, 64));
}

class ArchiveReaderImpl final : public ArchiveReader {
 public:
  ArchiveReaderImpl(std::unique_ptr<Exchange> ex, PathStat stat, std::string op)
      : ex_(std::move(ex)), stat_(std::move(stat)), op_(std::move(op)) {}
  Result<size_t> read(MutableBytes buf) override { return TRY_CTX(ex_->body().read(buf), op_); }
  const PathStat& stat() const override { return stat_; }

 private:
  std::unique_ptr<Exchange> ex_;
  PathStat stat_;
  std::string op_;
};

Result<PathStat> stat_of(const Exchange& ex, std::string_view op) {
  auto header = ex.head().headers.get("X-Docker-Container-Path-Stat");
  if (!header) return PathStat{};
  return TRY_CTX(decode_path_stat(*header), op);
}

}  // namespace

Result<PathStat> EngineClient::stat_path(std::string_view container, std::string_view path) {
  Call call{.method = "HEAD", .path = "/containers/" + path_arg(container) + "/archive",
            .query = {{"path", std::string(path)}}, .op = "stat " + where(container, path)};
  auto ex = open(call);
  if (!ex.ok()) {
    // HEAD errors carry no body, so the Engine's message is lost: say what 404 means here.
    if (ex.error().code() == Code::kNotFound) return not_found(call.op + ": no such container or path");
    return std::move(ex).error();
  }
  auto st = TRY(stat_of(**ex, call.op));
  if (st.name.empty()) return internal_error(call.op + ": the Docker Engine sent no path stat");
  return st;
}

Result<std::unique_ptr<ArchiveReader>> EngineClient::open_archive(std::string_view container, std::string_view path,
                                                            const StopToken& stop) {
  // No Accept-Encoding: the Engine would gzip the tar (notes §3.1).
  Call call{.method = "GET", .path = "/containers/" + path_arg(container) + "/archive",
            .query = {{"path", std::string(path)}}, .streaming = true, .op = "read " + where(container, path)};
  auto ex = TRY(open(call, stop));
  auto st = TRY(stat_of(*ex, call.op));
  return std::unique_ptr<ArchiveReader>(new ArchiveReaderImpl(std::move(ex), std::move(st), call.op));
}

Status Client::get_archive(std::string_view container, std::string_view path, Writer& tar_out,
                           const StopToken& stop) {
  auto reader = TRY(open_archive(container, path, stop));
  std::vector<std::byte> buf(kArchiveBuffer);
  for (;;) {
    size_t n = TRY(reader->read(buf));
    if (n == 0) break;
    TRY(tar_out.write(Bytes(buf.data(), n)));
  }
  return {};
}

Status EngineClient::put_archive(std::string_view container, std::string_view path, Reader& tar_in, Overwrite overwrite,
                           const StopToken& stop) {
  Call call{.method = "PUT", .path = "/containers/" + path_arg(container) + "/archive",
            .query = {{"path", std::string(path)}}, .body_stream = &tar_in, .streaming = true,
            .op = "write " + where(container, path)};
  if (overwrite == Overwrite::kNoDirNonDirSwap) call.query.emplace_back("noOverwriteDirNonDir", "1");
  auto ex = TRY(open(call, stop));
  TRY_CTX(read_all(ex->body(), 64 * 1024), call.op);
  return {};
}

}  // namespace stacksnap::docker
