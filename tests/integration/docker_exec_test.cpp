// Exec against the real dockerd: demultiplexing, exit codes, stdin streaming, memory.
#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "base/clock.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using docker::CreateContainerOptions;

std::string hex(const unsigned char* d, size_t n) {
  std::string out;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", d[i]);
    out += b;
  }
  return out;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void update(Bytes b) { EVP_DigestUpdate(ctx_, b.data(), b.size()); }
  std::string hex_digest() {
    unsigned char d[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, d, &n);
    return hex(d, n);
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Counts bytes and checks they are the output of `yes` ("y\n" repeated).
class YesChecker final : public Writer {
 public:
  Status write(Bytes data) override {
    for (std::byte b : data) {
      char expect = (count_ % 2 == 0) ? 'y' : '\n';
      if (static_cast<char>(b) != expect) ++bad_;
      ++count_;
    }
    return {};
  }
  uint64_t count() const { return count_; }
  uint64_t bad() const { return bad_; }

 private:
  uint64_t count_ = 0;
  uint64_t bad_ = 0;
};

// Deterministic pseudo-random bytes, hashed as they are handed out (never held whole).
class PatternReader final : public Reader {
 public:
  explicit PatternReader(uint64_t size) : left_(size) {}
  Result<size_t> read(MutableBytes buf) override {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left_, buf.size()));
    for (size_t i = 0; i < n; ++i) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      buf[i] = static_cast<std::byte>(state_ & 0xff);
    }
    sha_.update(Bytes(buf.data(), n));
    left_ -= n;
    return n;
  }
  std::string hex_digest() { return sha_.hex_digest(); }

 private:
  uint64_t left_;
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
  Sha256 sha_;
};

class DockerExec : public ::testing::Test {
 protected:
  void SetUp() override {
    d_ = engine();
    ASSERT_NE(d_, nullptr);
    auto t = Throwaway::create(*d_, "exec", CreateContainerOptions{.cmd = {"sleep", "infinity"}});
    ASSERT_TRUE(t.ok()) << t.error().message();
    box_ = std::move(*t);
  }
  docker::Client* d_ = nullptr;
  std::unique_ptr<Throwaway> box_;
};

TEST_F(DockerExec, StdoutAndStderrStayApart) {
  StringWriter out, err;
  auto rc = d_->exec(box_->id(),
                     {.cmd = {"sh", "-c", "for i in $(seq 1 3000); do echo out-$i; echo err-$i >&2; done"}},
                     nullptr, out, err);
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  std::string want_out, want_err;
  for (int i = 1; i <= 3000; ++i) {
    want_out += "out-" + std::to_string(i) + "\n";
    want_err += "err-" + std::to_string(i) + "\n";
  }
  EXPECT_EQ(out.str(), want_out);
  EXPECT_EQ(err.str(), want_err);
}

TEST_F(DockerExec, NonZeroExitCodesAreSurfaced) {
  auto r = d_->exec_capture(box_->id(), {.cmd = {"sh", "-c", "echo partial; exit 42"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->exit_code, 42);
  EXPECT_EQ(r->out, "partial\n");
  // Env, user and working dir reach the process.
  auto env = d_->exec_capture(box_->id(), {.cmd = {"sh", "-c", "echo $GREETING $(id -u) $(pwd)"},
                                           .env = {"GREETING=hi"}, .user = "999", .working_dir = "/tmp"});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->out, "hi 999 /tmp\n");
  // A missing binary: the Engine writes its error on stdout and the code is 126/127 (notes §2.2).
  auto missing = d_->exec_capture(box_->id(), {.cmd = {"/no/such/binary"}});
  ASSERT_TRUE(missing.ok()) << missing.error().message();
  EXPECT_TRUE(missing->exit_code == 126 || missing->exit_code == 127) << missing->exit_code;
  EXPECT_NE(missing->out.find("no such file"), std::string::npos) << missing->out;
  // An exec into a container that does not exist / is not running.
  StringWriter o, e;
  auto gone = d_->exec("stacksnap-it-no-such-container", {.cmd = {"true"}}, nullptr, o, e);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  EXPECT_EQ(gone.error().message(),
            "exec true in container stacksnap-it-no-such-container: No such container: stacksnap-it-no-such-container");
}

TEST_F(DockerExec, OneGibOfOutputStreamsWithFlatMemory) {
  constexpr uint64_t kSize = 1ull << 30;
  YesChecker out;
  StringWriter err;
  // The process already holds what earlier tests of the suite left resident: the measure
  // is the growth over the resident size at the start, with the peak reset to it.
  ASSERT_TRUE(reset_peak_rss()) << "cannot reset VmHWM (/proc/self/clear_refs)";
  const uint64_t rss_before = current_rss_bytes();
  double t0 = monotonic_seconds();
  auto rc = d_->exec(box_->id(), {.cmd = {"sh", "-c", "yes | head -c 1073741824"}}, nullptr, out, err);
  double secs = monotonic_seconds() - t0;
  uint64_t peak = peak_rss_bytes();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0) << err.str();
  EXPECT_EQ(out.count(), kSize);
  EXPECT_EQ(out.bad(), 0u);
  EXPECT_EQ(err.str(), "");
  double mib = static_cast<double>(peak) / (1 << 20);
  std::printf("[ measure ] exec 1 GiB stdout: %.2f s, %.0f MiB/s, peak RSS (VmHWM) %.1f MiB (%.1f MiB before)\n",
              secs, 1024.0 / secs, mib, static_cast<double>(rss_before) / (1 << 20));
  RecordProperty("exec_1gib_seconds", std::to_string(secs));
  RecordProperty("exec_1gib_peak_rss_mib", std::to_string(mib));
  ASSERT_GE(peak, rss_before);
  EXPECT_LT(peak - rss_before, 48ull << 20) << "peak RSS " << mib << " MiB, "
                                            << static_cast<double>(rss_before) / (1 << 20) << " MiB at the start";
}

TEST_F(DockerExec, HundredMibOfStdinReachesTheProcessIntact) {
  constexpr uint64_t kSize = 100ull << 20;
  PatternReader in(kSize);
  StringWriter out, err;
  double t0 = monotonic_seconds();
  auto rc = d_->exec(box_->id(), {.cmd = {"sh", "-c", "sha256sum | cut -d' ' -f1; echo done >&2"}}, &in, out, err);
  double secs = monotonic_seconds() - t0;
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(out.str(), in.hex_digest() + "\n");
  EXPECT_EQ(err.str(), "done\n");
  std::printf("[ measure ] exec 100 MiB stdin → sha256sum: %.2f s, %.0f MiB/s\n", secs, 100.0 / secs);
}

TEST_F(DockerExec, StdinAndStdoutFlowConcurrently) {
  // `cat` echoes everything back: without concurrent reading and writing this deadlocks
  // once the socket buffers fill.
  constexpr uint64_t kSize = 32ull << 20;
  PatternReader in(kSize);
  Sha256 got;
  uint64_t count = 0;
  FunctionWriter out([&](Bytes b) -> Status {
    got.update(b);
    count += b.size();
    return {};
  });
  StringWriter err;
  auto rc = d_->exec(box_->id(), {.cmd = {"cat"}}, &in, out, err);
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(count, kSize);
  EXPECT_EQ(got.hex_digest(), in.hex_digest());
}

TEST_F(DockerExec, FailingStdinAbortsWithItsError) {
  class Failing final : public Reader {
   public:
    Result<size_t> read(MutableBytes buf) override {
      if (sent_ >= (1 << 20)) return data_loss("tag mismatch in segment 3");
      size_t n = std::min<size_t>(buf.size(), 64 * 1024);
      std::fill(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n), std::byte{'a'});
      sent_ += n;
      return n;
    }

   private:
    size_t sent_ = 0;
  } in;
  NullWriter out, err;
  auto rc = d_->exec(box_->id(), {.cmd = {"sh", "-c", "cat > /dev/null"}}, &in, out, err);
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.error().code(), Code::kDataLoss);
  EXPECT_NE(rc.error().message().find("tag mismatch"), std::string::npos) << rc.error().message();
}

TEST_F(DockerExec, FailingSinkAbortsWithItsError) {
  FunctionWriter out([](Bytes) -> Status { return resource_exhausted("disk full"); });
  StringWriter err;
  auto rc = d_->exec(box_->id(), {.cmd = {"sh", "-c", "yes | head -c 100000000"}}, nullptr, out, err);
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.error().code(), Code::kResourceExhausted);
}

TEST_F(DockerExec, StopTokenCancelsPromptly) {
  StopSource stop;
  NullWriter out, err;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.request_stop();
  });
  double t0 = monotonic_seconds();
  auto rc = d_->exec(box_->id(), {.cmd = {"sh", "-c", "echo started; sleep 30"}}, nullptr, out, err,
                     stop.get_token());
  stopper.join();
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.error().code(), Code::kCancelled);
  EXPECT_LT(monotonic_seconds() - t0, 5.0);
}

TEST_F(DockerExec, SeveralExecsAtOnceOnOneClient) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto r = d_->exec_capture(box_->id(), {.cmd = {"sh", "-c", "echo " + std::to_string(i) + "; exit " +
                                                                       std::to_string(i)}});
      if (r.ok() && r->exit_code == i && r->out == std::to_string(i) + "\n") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
}

}  // namespace
}  // namespace stacksnap::it
