#include <gtest/gtest.h>

#include <cstring>

#include "archive_testutil.h"
#include "codec/prefetch.h"
#include "codec/zstd.h"

namespace stacksnap::codec {
namespace {

using testutil::random_text;

Result<std::string> compress(const std::string& s, ZstdOptions o = {}) {
  StringWriter out;
  auto w = TRY(ZstdWriter::create(out, o));
  for (size_t i = 0; i < s.size(); i += 100000) TRY(w->write(as_bytes(std::string_view(s).substr(i, 100000))));
  TRY(w->close());
  return out.take();
}

TEST(CodecZstd, RoundTripThreadedAndNot) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "line " + std::to_string(i % 977) + "\n";
  text += random_text(3 << 20, 4);
  for (int threads : {-1, 0, 2}) {
    auto z = compress(text, {.level = 3, .threads = threads});
    ASSERT_TRUE(z.ok()) << z.error().to_string();
    MemoryReader in(*z);
    auto r = ZstdReader::create(in);
    ASSERT_TRUE(r.ok());
    auto back = testutil::read_all_odd(**r);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_TRUE(*back == text) << threads;
  }
  EXPECT_EQ(testutil::code_of(compress("x", {.level = 0})), Code::kInvalidArgument);
  EXPECT_EQ(testutil::code_of(compress("x", {.level = 22})), Code::kInvalidArgument);
}

TEST(CodecZstd, DamageIsDataLoss) {
  auto z = compress(random_text(100000, 1) + std::string(100000, 'a'));
  ASSERT_TRUE(z.ok());
  for (auto bad : {z->substr(0, z->size() / 2), std::string("not zstd at all"), std::string()}) {
    MemoryReader in(bad);
    auto r = ZstdReader::create(in);
    ASSERT_TRUE(r.ok());
    auto back = testutil::read_all_odd(**r);
    ASSERT_FALSE(back.ok());
    EXPECT_EQ(back.error().code(), Code::kDataLoss) << back.error().to_string();
  }
}

class FailingReader final : public Reader {
 public:
  FailingReader(std::string data) : data_(std::move(data)) {}
  Result<size_t> read(MutableBytes buf) override {
    if (pos_ >= data_.size()) return data_loss("injected failure at " + std::to_string(pos_));
    size_t n = std::min(buf.size(), data_.size() - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

TEST(CodecPrefetch, DeliversDataThenTheError) {
  std::string data = random_text(5 << 20, 2);
  {
    MemoryReader in(data);
    PrefetchReader p(in, 64 << 10, 3);
    auto back = testutil::read_all_odd(p);
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(*back == data);
  }
  {
    FailingReader in(data);
    PrefetchReader p(in, 64 << 10, 3);
    std::string got;
    std::array<std::byte, 10000> buf;
    Status st;
    for (;;) {
      auto n = p.read(buf);
      if (!n.ok()) {
        st = n.error();
        break;
      }
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), Code::kDataLoss);
    EXPECT_TRUE(got == data);
  }
  {
    MemoryReader in(data);
    PrefetchReader p(in);  // destroyed while the thread runs ahead
    std::array<std::byte, 10> buf;
    ASSERT_TRUE(p.read(buf).ok());
  }
}

class CountingFailingWriter final : public Writer {
 public:
  explicit CountingFailingWriter(size_t limit) : limit_(limit) {}
  Status write(Bytes data) override {
    if (out.size() + data.size() > limit_) return resource_exhausted("full");
    out.append(as_chars(data));
    return {};
  }
  std::string out;

 private:
  size_t limit_;
};

TEST(CodecWriteBehind, ForwardsEverythingAndReportsErrors) {
  std::string data = random_text(3 << 20, 3);
  {
    CountingFailingWriter down(SIZE_MAX);
    WriteBehindWriter w(down, 64 << 10, 3);
    for (size_t i = 0; i < data.size(); i += 7777) ASSERT_OK(w.write(as_bytes(std::string_view(data).substr(i, 7777))));
    ASSERT_OK(w.finish());
    EXPECT_TRUE(down.out == data);
  }
  {
    CountingFailingWriter down(1 << 20);
    WriteBehindWriter w(down, 64 << 10, 3);
    Status st;
    for (size_t i = 0; i < data.size() && st.ok(); i += 7777) st = w.write(as_bytes(std::string_view(data).substr(i, 7777)));
    if (st.ok()) st = w.finish();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), Code::kResourceExhausted);
  }
  {
    CountingFailingWriter down(SIZE_MAX);
    WriteBehindWriter w(down, 64 << 10, 3);  // destroyed unfinished
    ASSERT_OK(w.write(as_bytes(data)));
  }
}

}  // namespace
}  // namespace stacksnap::codec
