// The S3 test bed for integration tests: tests/fixtures/s3 (s3rver behind our SigV4-
// verifying, fault-injecting proxy). Started by `make test` (scripts/test-services.sh);
// when it does not answer, the first test starts it with tests/fixtures/s3/start.sh.
// Tests never skip: an unreachable server is a failure with the reason.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"
#include "storage/s3/s3_config.h"

namespace stacksnap::storage::s3::testing {

struct S3TestBed {
  std::string endpoint;      // http://127.0.0.1:4569
  std::string tls_endpoint;  // https://127.0.0.1:4570 (certificate from ca_file)
  std::string ca_file;
  std::string bucket;
  std::string interop_bucket;
  std::string region;
  std::string access_key;
  std::string secret_key;
  std::string fixture_dir;   // tests/fixtures/s3
};

// Loads /tmp/stacksnap-s3.env (STACKSNAP_S3_ENV overrides), starting the bed when needed.
// The error says what failed and where the logs are.
const Result<S3TestBed>& s3_test_bed();

// A fresh key prefix for one test: "it-<pid>-<time>-<n>/<name>".
std::string fresh_prefix(const std::string& name);

// Config for the test bed with fast retries (real sleeps, small delays) and the given prefix.
S3Config test_config(const S3TestBed& bed, const std::string& prefix);

// The proxy's control API (see tests/fixtures/s3/README.md).
Result<nlohmann::json> control(const std::string& method, const std::string& path, const std::string& body = "");
// POST /__faults with one rule.
void inject(const nlohmann::json& rule);
// GET /__stats
nlohmann::json stats();
// Number of requests of one kind ("PUT object?uploadId?partNumber") in a stats snapshot.
int op_count(const nlohmann::json& stats, const std::string& op);

// Runs a shell command; returns its exit status and (with capture) its output.
int run_shell(const std::string& cmd, std::string* output = nullptr);

// Peak RSS (VmHWM) of this process in KiB, and a reset of it (/proc/self/clear_refs).
long vm_hwm_kib();
void reset_vm_hwm();

// Deterministic pseudo-random bytes, cheap enough for hundreds of MB.
void fill_pattern(std::string& buf, uint64_t seed, uint64_t offset);

// A temporary file for Target::put_file: `size` bytes of fill_pattern(seed), written in
// 1 MiB pieces, open for reading; closed and removed on destruction. `sha256` is its hash.
class PatternFile {
 public:
  PatternFile(uint64_t size, uint64_t seed);
  ~PatternFile();
  PatternFile(const PatternFile&) = delete;
  PatternFile& operator=(const PatternFile&) = delete;
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  const std::string& sha256() const { return sha256_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string sha256_;
};

}  // namespace stacksnap::storage::s3::testing

// ASSERT that the bed is up, binding `bed`.
#define S3_TEST_BED(bed)                                                        \
  const auto& bed##_r = ::stacksnap::storage::s3::testing::s3_test_bed();       \
  ASSERT_TRUE(bed##_r.ok()) << "S3 test server unavailable: " << bed##_r.error().message(); \
  const auto& bed = *bed##_r
