#include "backup/growing_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "base/fd.h"
#include "base/temp_dir.h"

namespace stacksnap::backup {
namespace {

struct Spool {
  TempDir dir;
  UniqueFd fd;
  std::string path;
};

Spool make_spool() {
  auto d = TempDir::create("/tmp", "stacksnap-spool-tail-");
  EXPECT_TRUE(d.ok());
  std::string path = d->path() + "/s.partial";
  auto fd = open_file(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  EXPECT_TRUE(fd.ok());
  return {std::move(*d), std::move(*fd), path};
}

std::string read_to_end(Reader& r) {
  std::string out;
  std::vector<std::byte> buf(7);  // odd size: reads straddle writes
  for (;;) {
    auto n = r.read(buf);
    EXPECT_TRUE(n.ok()) << n.error().message();
    if (!n.ok() || *n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

TEST(GrowingFile, ReaderFollowsTheWriterToTheEnd) {
  Spool s = make_spool();
  GrowingFile f(s.fd.get(), s.path);
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += "line " + std::to_string(i) + "\n";
  std::string got;
  std::thread reader([&] {
    GrowingFile::TailReader r(f, {});
    got = read_to_end(r);
  });
  for (size_t i = 0; i < expected.size(); i += 13) {
    ASSERT_TRUE(f.writer().write(as_bytes(std::string_view(expected).substr(i, 13))).ok());
    if (i % 130 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  f.finish();
  reader.join();
  EXPECT_EQ(got, expected);
  EXPECT_EQ(f.size(), expected.size());
}

TEST(GrowingFile, ReaderStartedAfterTheEndReadsEverything) {
  Spool s = make_spool();
  GrowingFile f(s.fd.get(), s.path);
  ASSERT_TRUE(f.writer().write(as_bytes("abc")).ok());
  f.finish();
  GrowingFile::TailReader r(f, {});
  EXPECT_EQ(read_to_end(r), "abc");
}

TEST(GrowingFile, WritersFailureReachesAWaitingReader) {
  Spool s = make_spool();
  GrowingFile f(s.fd.get(), s.path);
  ASSERT_TRUE(f.writer().write(as_bytes("abc")).ok());
  Status result;
  std::thread reader([&] {
    GrowingFile::TailReader r(f, {});
    std::vector<std::byte> buf(16);
    for (;;) {
      auto n = r.read(buf);
      if (!n.ok()) {
        result = std::move(n).error();
        return;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the reader waits for more
  f.fail(data_loss("disk full"));
  reader.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), Code::kDataLoss);
  EXPECT_NE(result.error().message().find("disk full"), std::string::npos) << result.error().message();
}

TEST(GrowingFile, StopRequestWakesAWaitingReader) {
  Spool s = make_spool();
  GrowingFile f(s.fd.get(), s.path);
  StopSource stop;
  Status result;
  std::thread reader([&] {
    GrowingFile::TailReader r(f, stop.get_token());
    std::vector<std::byte> buf(16);
    auto n = r.read(buf);
    result = n.ok() ? Status{} : Status(std::move(n).error());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop.request_stop();
  reader.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), Code::kCancelled);
}

}  // namespace
}  // namespace stacksnap::backup
