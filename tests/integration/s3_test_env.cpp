#include "s3_test_env.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>

#include "common/build_paths.h"
#include "storage/s3/curl_handle.h"

namespace stacksnap::storage::s3::testing {
namespace {

std::string env_file_path() {
  const char* p = std::getenv("STACKSNAP_S3_ENV");
  return p != nullptr && *p != '\0' ? p : "/tmp/stacksnap-s3.env";
}

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

size_t collect(char* data, size_t size, size_t n, void* p) {
  static_cast<std::string*>(p)->append(data, size * n);
  return size * n;
}

std::string control_base() {
  auto vars = read_env_file(env_file_path());
  auto it = vars.find("STACKSNAP_S3_CONTROL");
  return it == vars.end() ? "http://127.0.0.1:4569" : it->second;
}

bool healthy() {
  auto r = control("GET", "/__health");
  return r.ok();
}

Result<S3TestBed> load() {
  std::string fixture = stacksnap::build_paths::source_dir() + "/tests/fixtures/s3";
  if (!healthy() || read_env_file(env_file_path()).empty()) {
    std::string out;
    int rc = run_shell(fixture + "/start.sh 2>&1", &out);
    if (rc != 0) {
      return unavailable(fixture + "/start.sh failed (exit " + std::to_string(rc) + "): " + out);
    }
    if (!healthy()) {
      return unavailable("the S3 test proxy does not answer on " + control_base() +
                         " after start.sh; see /tmp/stacksnap-s3/proxy.log and s3rver.log");
    }
  }
  auto v = read_env_file(env_file_path());
  S3TestBed bed{v["STACKSNAP_S3_ENDPOINT"], v["STACKSNAP_S3_TLS_ENDPOINT"], v["STACKSNAP_S3_CA_FILE"],
                v["STACKSNAP_S3_BUCKET"], v["STACKSNAP_S3_INTEROP_BUCKET"], v["STACKSNAP_S3_REGION"],
                v["STACKSNAP_S3_ACCESS_KEY"], v["STACKSNAP_S3_SECRET_KEY"], fixture};
  if (bed.endpoint.empty() || bed.bucket.empty() || bed.access_key.empty()) {
    return unavailable(env_file_path() + " is incomplete; rerun " + fixture + "/start.sh");
  }
  return bed;
}

}  // namespace

const Result<S3TestBed>& s3_test_bed() {
  static const Result<S3TestBed> bed = load();
  return bed;
}

std::string fresh_prefix(const std::string& name) {
  static std::atomic<int> n{0};
  static const long stamp = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count() % 100000000);
  return "it-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" + std::to_string(n++) + "/" + name;
}

S3Config test_config(const S3TestBed& bed, const std::string& prefix) {
  S3Config c;
  c.endpoint = bed.endpoint;
  c.bucket = bed.bucket;
  c.region = bed.region;
  c.prefix = prefix;
  c.access_key = bed.access_key;
  c.secret_key = bed.secret_key;
  c.part_size = kMinPartSize;
  c.parallel_parts = 3;
  c.retry = RetryPolicy{.max_attempts = 5, .base_delay = std::chrono::milliseconds(50),
                        .max_delay = std::chrono::milliseconds(500)};
  c.timeouts.connect = std::chrono::milliseconds(2000);
  c.timeouts.stall = std::chrono::milliseconds(10'000);
  c.timeouts.small_request = std::chrono::milliseconds(10'000);
  return c;
}

Result<nlohmann::json> control(const std::string& method, const std::string& path, const std::string& body) {
  auto h = TRY(CurlHandle::create());
  std::string url = control_base() + path, out;
  CurlSlist headers;
  TRY(headers.append("Content-Type: application/json"));
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, 5000L);
  if (!body.empty()) {
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &out);
  CURLcode rc = curl_easy_perform(h.get());
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) return unavailable(method + " " + url + ": " + curl_easy_strerror(rc));
  if (status != 200) return unavailable(method + " " + url + ": HTTP " + std::to_string(status) + ": " + out);
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) return unavailable(method + " " + url + ": not JSON: " + out);
  return j;
}

void inject(const nlohmann::json& rule) {
  auto r = control("POST", "/__faults", rule.dump());
  ASSERT_TRUE(r.ok()) << r.error().message();
}

nlohmann::json stats() {
  auto r = control("GET", "/__stats");
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : nlohmann::json::object();
}

int op_count(const nlohmann::json& s, const std::string& op) {
  if (!s.contains("by_op") || !s["by_op"].contains(op)) return 0;
  return s["by_op"][op].get<int>();
}

int run_shell(const std::string& cmd, std::string* output) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
    if (output != nullptr) output->append(buf.data(), n);
  }
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

long vm_hwm_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void reset_vm_hwm() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

void fill_pattern(std::string& buf, uint64_t seed, uint64_t offset) {
  // splitmix64 of (seed, position / 8): any slice can be regenerated independently.
  for (size_t i = 0; i < buf.size(); i += 8) {
    uint64_t z = seed + (offset + i) / 8 * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    size_t k = std::min<size_t>(8, buf.size() - i);
    std::memcpy(buf.data() + i, &z, k);
  }
}

PatternFile::PatternFile(uint64_t size, uint64_t seed) : size_(size) {
  char tmpl[] = "/tmp/stacksnap-s3-file-XXXXXX";
  int w = ::mkstemp(tmpl);
  if (w < 0) {
    ADD_FAILURE() << "mkstemp: " << std::strerror(errno);
    return;
  }
  path_ = tmpl;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::string chunk;
  for (uint64_t off = 0; off < size; off += kMiB) {
    chunk.resize(static_cast<size_t>(std::min<uint64_t>(kMiB, size - off)));
    fill_pattern(chunk, seed, off);
    EVP_DigestUpdate(ctx.get(), chunk.data(), chunk.size());
    if (::write(w, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
      ADD_FAILURE() << "write " << path_ << ": " << std::strerror(errno);
      break;
    }
  }
  ::close(w);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    sha256_ += kHex[md[i] >> 4];
    sha256_ += kHex[md[i] & 15];
  }
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) ADD_FAILURE() << "open " << path_ << ": " << std::strerror(errno);
}

PatternFile::~PatternFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace stacksnap::storage::s3::testing
