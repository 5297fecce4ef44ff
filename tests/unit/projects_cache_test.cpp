#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "app/projects_cache.h"

namespace stacksnap::app {
namespace {

using Clock = std::chrono::steady_clock;

TEST(ProjectsCache, OneDiscoveryServesAllWithinTheTtlAndConcurrentCallersShareIt) {
  std::atomic<int> calls{0};
  Clock::time_point now = Clock::now();
  ProjectsCache cache(
      [&]() -> Result<std::vector<stack::Project>> {
        ++calls;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        stack::Project p;
        p.name = "p" + std::to_string(calls.load());
        return std::vector<stack::Project>{p};
      },
      [&] { return now; });
  std::vector<std::thread> burst;
  std::atomic<int> ok{0};
  for (int i = 0; i < 20; ++i) {
    burst.emplace_back([&] {
      auto r = cache.get();
      if (r.ok() && r->size() == 1 && (*r)[0].name == "p1") ++ok;
    });
  }
  for (auto& t : burst) t.join();
  EXPECT_EQ(calls.load(), 1) << "a burst costs one discovery";
  EXPECT_EQ(ok.load(), 20);
  now += kProjectsTtl - std::chrono::milliseconds(1);
  EXPECT_EQ((*cache.get())[0].name, "p1");
  now += std::chrono::milliseconds(2);
  EXPECT_EQ((*cache.get())[0].name, "p2") << "older than the TTL: discovered again";
  cache.invalidate();
  EXPECT_EQ((*cache.get())[0].name, "p3") << "a job ended: discovered again";
}

TEST(ProjectsCache, ErrorsAreNotKept) {
  int calls = 0;
  ProjectsCache cache([&]() -> Result<std::vector<stack::Project>> {
    if (++calls == 1) return unavailable("the Engine is down");
    return std::vector<stack::Project>{};
  });
  EXPECT_EQ(cache.get().error().code(), Code::kUnavailable);
  EXPECT_TRUE(cache.get().ok());
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace stacksnap::app
