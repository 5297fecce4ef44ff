// Interoperability with Debian's awscli both ways, and a multi-hundred-MB object through
// upload and download with flat memory.
#include <openssl/evp.h>
#include <sys/stat.h>

#include <fstream>

#include "base/fd.h"
#include "base/temp_dir.h"
#include "s3_test_env.h"
#include "storage/s3/s3_target.h"

namespace stacksnap::storage::s3::testing {
namespace {

std::string pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  fill_pattern(s, seed, 0);
  return s;
}

// Runs `aws` against the test bed with its credentials in the environment.
int aws(const S3TestBed& bed, const std::string& args, std::string* out = nullptr) {
  std::string cmd = "AWS_ACCESS_KEY_ID='" + bed.access_key + "' AWS_SECRET_ACCESS_KEY='" + bed.secret_key +
                    "' AWS_DEFAULT_REGION='" + bed.region +
                    "' AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "
                    "aws --endpoint-url '" + bed.endpoint + "' " + args + " 2>&1";
  return run_shell(cmd, out);
}

class S3Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(run_shell("command -v aws", &out), 0) << "awscli is not installed (scripts/deps.sh test installs it)";
  }
};

TEST_F(S3Interop, AwsCliReadsWhatStackSnapWrote) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("to-aws"));
  c.bucket = bed.interop_bucket;
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  std::string big = pattern(12 * kMiB + 321, 21);  // multipart: 3 parts
  std::string small = "sidecar {\"v\":1}\n";
  ASSERT_TRUE(put_small(**t, "backups/20261125T201730Z-3fa2c1d0.stsnap", big).ok());
  ASSERT_TRUE(put_small(**t, "backups/with space+plus=é.json", small).ok());

  std::string listing;
  ASSERT_EQ(aws(bed, "s3 ls --recursive s3://" + bed.interop_bucket + "/" + c.prefix + "/", &listing), 0) << listing;
  EXPECT_NE(listing.find(std::to_string(big.size()) + " " + c.prefix + "/backups/20261125T201730Z-3fa2c1d0.stsnap"),
            std::string::npos) << listing;
  EXPECT_NE(listing.find(c.prefix + "/backups/with space+plus=é.json"), std::string::npos) << listing;

  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  std::string out;
  ASSERT_EQ(aws(bed, "s3 cp --only-show-errors 's3://" + bed.interop_bucket + "/" + c.prefix +
                         "/backups/20261125T201730Z-3fa2c1d0.stsnap' '" + dir->path() + "/big'", &out), 0) << out;
  ASSERT_EQ(aws(bed, "s3 cp --only-show-errors 's3://" + bed.interop_bucket + "/" + c.prefix +
                         "/backups/with space+plus=é.json' '" + dir->path() + "/small'", &out), 0) << out;
  auto got_big = read_small_file(dir->path() + "/big", 64 << 20);
  ASSERT_TRUE(got_big.ok());
  EXPECT_TRUE(*got_big == big);
  EXPECT_EQ(*read_small_file(dir->path() + "/small"), small);
}

TEST_F(S3Interop, StackSnapReadsWhatAwsCliWrote) {
  S3_TEST_BED(bed);
  S3Config c = test_config(bed, fresh_prefix("from-aws"));
  c.bucket = bed.interop_bucket;
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  std::string big = pattern(20 * kMiB + 7, 22);  // above awscli's 8 MiB multipart threshold
  ASSERT_TRUE(write_file_atomic(dir->path() + "/big", big).ok());
  ASSERT_TRUE(write_file_atomic(dir->path() + "/small", "hello from aws s3 cp").ok());
  std::string out;
  std::string base = "s3://" + bed.interop_bucket + "/" + c.prefix;
  ASSERT_EQ(aws(bed, "s3 cp --only-show-errors '" + dir->path() + "/big' '" + base + "/prepared/archive.stsnap'", &out), 0)
      << out;
  ASSERT_EQ(aws(bed, "s3 cp --only-show-errors '" + dir->path() + "/small' '" + base + "/prepared/ä b.txt'", &out), 0)
      << out;

  std::vector<ObjectInfo> listed;
  ASSERT_TRUE((*t)->list("prepared/", [&](const ObjectInfo& o) {
                     listed.push_back(o);
                     return Status{};
                   }).ok());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].key, "prepared/archive.stsnap");
  EXPECT_EQ(listed[0].size, big.size());
  EXPECT_EQ(listed[1].key, "prepared/ä b.txt");
  auto back = get_small(**t, "prepared/archive.stsnap", 64 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(*back == big);
  EXPECT_EQ(*get_small(**t, "prepared/ä b.txt"), "hello from aws s3 cp");
  auto range = (*t)->get("prepared/archive.stsnap", {.offset = 8 * kMiB - 3, .length = 10});
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(*read_all(**range, 100), big.substr(8 * kMiB - 3, 10));
}

std::string sha256_final(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

// 300 MiB up and down with default part settings (16 MiB × (4 + 1) buffers at most).
TEST(S3LargeObject, ThreeHundredMegabytesWithFlatMemory) {
  S3_TEST_BED(bed);
  constexpr uint64_t kTotal = 300 * kMiB;
  constexpr size_t kChunk = kMiB;
  S3Config c = test_config(bed, fresh_prefix("large"));
  c.part_size = kDefaultPartSize;
  c.parallel_parts = kDefaultParallelParts;
  auto t = S3Target::create(c);
  ASSERT_TRUE(t.ok());
  std::string chunk(kChunk, '\0');
  EVP_MD_CTX* up_hash = EVP_MD_CTX_new();
  EVP_MD_CTX* down_hash = EVP_MD_CTX_new();
  EVP_DigestInit_ex(up_hash, EVP_sha256(), nullptr);
  EVP_DigestInit_ex(down_hash, EVP_sha256(), nullptr);

  reset_vm_hwm();
  long base_kib = vm_hwm_kib();
  auto start = std::chrono::steady_clock::now();
  {
    auto up = (*t)->put("large.bin", kTotal);
    ASSERT_TRUE(up.ok());
    for (uint64_t off = 0; off < kTotal; off += kChunk) {
      fill_pattern(chunk, 33, off);
      EVP_DigestUpdate(up_hash, chunk.data(), chunk.size());
      ASSERT_TRUE((*up)->write(as_bytes(chunk)).ok());
    }
    Status st = (*up)->commit();
    ASSERT_TRUE(st.ok()) << st.error().message();
  }
  double up_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long up_growth_kib = vm_hwm_kib() - base_kib;

  reset_vm_hwm();
  base_kib = vm_hwm_kib();
  start = std::chrono::steady_clock::now();
  uint64_t got = 0;
  {
    auto r = (*t)->get("large.bin", {});
    ASSERT_TRUE(r.ok()) << r.error().message();
    std::string buf(256 * 1024, '\0');
    for (;;) {
      auto n = (*r)->read({reinterpret_cast<std::byte*>(buf.data()), buf.size()});
      ASSERT_TRUE(n.ok()) << n.error().message();
      if (*n == 0) break;
      EVP_DigestUpdate(down_hash, buf.data(), *n);
      got += *n;
    }
  }
  double down_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long down_growth_kib = vm_hwm_kib() - base_kib;
  EXPECT_EQ(got, kTotal);
  EXPECT_TRUE(sha256_final(up_hash) == sha256_final(down_hash));
  EVP_MD_CTX_free(up_hash);
  EVP_MD_CTX_free(down_hash);

  std::cout << "[ s3 300 MiB ] upload " << up_s << " s (" << kTotal / kMiB / up_s << " MiB/s), peak RSS growth "
            << up_growth_kib / 1024 << " MiB; download " << down_s << " s (" << kTotal / kMiB / down_s
            << " MiB/s), peak RSS growth " << down_growth_kib / 1024 << " MiB\n";
  ::testing::Test::RecordProperty("upload_rss_growth_kib", static_cast<int>(up_growth_kib));
  ::testing::Test::RecordProperty("download_rss_growth_kib", static_cast<int>(down_growth_kib));
  // (parallel_parts + 1) part buffers + curl and allocator slack.
  EXPECT_LT(up_growth_kib, static_cast<long>((kDefaultParallelParts + 1) * kDefaultPartSize / 1024 + 24 * 1024));
  EXPECT_LT(down_growth_kib, 16 * 1024);
  EXPECT_TRUE((*t)->remove("large.bin").ok());
}

}  // namespace
}  // namespace stacksnap::storage::s3::testing
