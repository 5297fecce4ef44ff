// The exec stream demultiplexer.
#include <gtest/gtest.h>

#include "docker/frames.h"

namespace stacksnap::docker {
namespace {

std::string frame(uint8_t type, std::string_view payload) {
  std::string f(8, '\0');
  f[0] = static_cast<char>(type);
  uint32_t n = static_cast<uint32_t>(payload.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  return f + std::string(payload);
}

TEST(DockerFrames, SplitsStreamsAtEveryReadBoundary) {
  std::string wire = frame(1, "hello ") + frame(2, "oops") + frame(1, "") + frame(1, "world") +
                     frame(0, "!") + frame(2, std::string(300, 'e'));
  for (size_t piece = 1; piece <= wire.size(); ++piece) {
    StringWriter out, err;
    FrameDemuxer d(out, err);
    for (size_t i = 0; i < wire.size(); i += piece) {
      ASSERT_TRUE(d.feed(as_bytes(std::string_view(wire).substr(i, piece))).ok());
    }
    ASSERT_TRUE(d.finish().ok());
    EXPECT_EQ(out.str(), "hello world!") << "piece " << piece;
    EXPECT_EQ(err.str(), "oops" + std::string(300, 'e'));
    EXPECT_EQ(d.stdout_bytes(), 12u);
    EXPECT_EQ(d.stderr_bytes(), 304u);
  }
}

TEST(DockerFrames, SeveralFramesInOneReadAndZeroLengthFrames) {
  StringWriter out, err;
  FrameDemuxer d(out, err);
  std::string wire = frame(1, "") + frame(1, "a") + frame(2, "") + frame(2, "b") + frame(1, "c");
  ASSERT_TRUE(d.feed(as_bytes(wire)).ok());
  EXPECT_TRUE(d.finish().ok());
  EXPECT_EQ(out.str(), "ac");
  EXPECT_EQ(err.str(), "b");
}

TEST(DockerFrames, TruncatedStreamIsDataLoss) {
  StringWriter out, err;
  FrameDemuxer d(out, err);
  std::string wire = frame(1, "abcdef");
  ASSERT_TRUE(d.feed(as_bytes(std::string_view(wire).substr(0, 10))).ok());
  auto st = d.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDataLoss);

  FrameDemuxer d2(out, err);
  ASSERT_TRUE(d2.feed(as_bytes(std::string_view(wire).substr(0, 5))).ok());  // inside a header
  EXPECT_FALSE(d2.finish().ok());
}

TEST(DockerFrames, UnknownTypeIsDataLoss) {
  StringWriter out, err;
  FrameDemuxer d(out, err);
  auto st = d.feed(as_bytes("Hello from a TTY"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDataLoss);
}

TEST(DockerFrames, SystemErrorFramesAreCollected) {
  StringWriter out, err;
  FrameDemuxer d(out, err);
  ASSERT_TRUE(d.feed(as_bytes(frame(3, "engine says no") + frame(1, "x"))).ok());
  EXPECT_EQ(d.system_error(), "engine says no");
  EXPECT_EQ(out.str(), "x");
}

TEST(DockerFrames, SinkErrorsPassThrough) {
  FunctionWriter out([](Bytes) -> Status { return resource_exhausted("disk full"); });
  StringWriter err;
  FrameDemuxer d(out, err);
  auto st = d.feed(as_bytes(frame(1, "data")));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kResourceExhausted);
}

}  // namespace
}  // namespace stacksnap::docker
