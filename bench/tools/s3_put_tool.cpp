// s3_put_tool: uploads one file with S3Target::put_file (as a backup's promote step does),
// for bench/s3_upload.sh. Endpoint and credentials come from the S3 test bed's variables:
//   STACKSNAP_S3_ENDPOINT STACKSNAP_S3_BUCKET STACKSNAP_S3_REGION
//   STACKSNAP_S3_ACCESS_KEY STACKSNAP_S3_SECRET_KEY (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
// Usage: s3_put_tool [--sha256=HEX] [--multipart-threshold-mib=N] [--stream]
//                    FILE KEY [PART_SIZE_MIB [PARALLEL_PARTS]]
//   --sha256     the file's SHA-256, as a backup knows it from writing the spool (without it
//                put_file hashes the file first when it sends a single PUT)
//   --multipart-threshold-mib  S3Config::multipart_threshold (0: always multipart)
//   --stream     the Writer path instead (put() + write() + commit(): always multipart
//                above one part), as uploads of unknown size take
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/fd.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_target.h"

using namespace stacksnap;
using namespace stacksnap::storage::s3;

namespace {

constexpr size_t kReadBuffer = 1 << 20;

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

struct Options {
  std::string sha256;
  long long threshold_mib = -1;
  bool stream = false;
};

Status run(const std::string& file, const std::string& key, uint64_t part_mib, int parallel, const Options& o) {
  auto creds = TRY(resolve_credentials({.access_key = env_or("STACKSNAP_S3_ACCESS_KEY", ""),
                                        .secret_key = env_or("STACKSNAP_S3_SECRET_KEY", ""),
                                        .region = env_or("STACKSNAP_S3_REGION", "")}));
  S3Config config{.endpoint = env_or("STACKSNAP_S3_ENDPOINT", "http://127.0.0.1:4569"),
                  .bucket = env_or("STACKSNAP_S3_BUCKET", "stacksnap-test"),
                  .region = creds.region,
                  .access_key = creds.access_key,
                  .secret_key = creds.secret_key,
                  .session_token = creds.session_token};
  if (part_mib > 0) config.part_size = part_mib * kMiB;
  if (parallel > 0) config.parallel_parts = parallel;
  if (o.threshold_mib >= 0) config.multipart_threshold = static_cast<uint64_t>(o.threshold_mib) * kMiB;
  auto target = TRY(S3Target::create(config));
  auto fd = TRY(open_file(file, O_RDONLY));
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + file, errno);
  auto start = std::chrono::steady_clock::now();
  if (o.stream) {
    auto up = TRY(target->put(key, static_cast<uint64_t>(st.st_size)));
    FdReader in(fd.get(), file);
    std::string buf(kReadBuffer, '\0');
    for (;;) {
      size_t n = TRY(in.read({reinterpret_cast<std::byte*>(buf.data()), buf.size()}));
      if (n == 0) break;
      TRY(up->write(as_bytes(std::string_view(buf.data(), n))));
    }
    TRY(up->commit());
  } else {
    TRY(target->put_file(key, fd.get(), static_cast<uint64_t>(st.st_size), {.sha256 = o.sha256}));
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("uploaded %s (%lld bytes) to %s/%s in %.2f s: %.1f MiB/s\n", file.c_str(),
              static_cast<long long>(st.st_size), target->describe().c_str(), key.c_str(), s,
              static_cast<double>(st.st_size) / static_cast<double>(kMiB) / s);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.starts_with("--sha256=")) o.sha256 = a.substr(9);
    else if (a.starts_with("--multipart-threshold-mib=")) o.threshold_mib = std::atoll(a.c_str() + 26);
    else if (a == "--stream") o.stream = true;
    else pos.push_back(a);
  }
  if (pos.size() < 2) {
    std::fprintf(stderr,
                 "usage: %s [--sha256=HEX] [--multipart-threshold-mib=N] [--stream] FILE KEY [PART_SIZE_MIB "
                 "[PARALLEL_PARTS]]\n",
                 argv[0]);
    return 2;
  }
  Status st = run(pos[0], pos[1], pos.size() > 2 ? std::strtoull(pos[2].c_str(), nullptr, 10) : 0,
                  pos.size() > 3 ? std::atoi(pos[3].c_str()) : 0, o);
  if (!st.ok()) {
    std::fprintf(stderr, "s3_put_tool: %s\n", st.error().to_string().c_str());
    return 1;
  }
  return 0;
}
