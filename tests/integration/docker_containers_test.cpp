// Engine API client against the real dockerd: system, containers, lifecycle, events.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_env.h"

namespace stacksnap::it {
namespace {

using docker::CreateContainerOptions;

TEST(DockerSystem, PingAndVersion) {
  STACKSNAP_REQUIRE_ENGINE(d);
  EXPECT_TRUE(d->ping().ok());
  auto v = d->version();
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_FALSE(v->version.empty());
  auto api = docker::parse_api_version(v->api_version);
  ASSERT_TRUE(api.ok());
  // We speak min(our max, the daemon's max).
  EXPECT_EQ(d->api_version(), std::min(docker::kMaxApiVersion, *api));
  EXPECT_TRUE(d->renegotiate().ok());
}

TEST(DockerContainers, ListWithLabelFiltersAndInspect) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok()) << ensure_sample_stacks().error().message();
  const std::string shop = stack_project("shop");
  // Compose names containers project-service-1 (v2) or project_service_1 (v1).
  const std::string sep = compose_v1_lane() ? "_" : "-";
  auto name = [&](const std::string& service) { return shop + sep + service + sep + "1"; };
  auto list = d->list_containers({.all = true, .labels = {"com.docker.compose.project=" + shop}});
  ASSERT_TRUE(list.ok()) << list.error().message();
  std::vector<std::string> names;
  for (const auto& c : *list) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{name("cache"), name("db"), name("web")}));
  auto both = d->list_containers({.all = true, .labels = {"com.docker.compose.project=" + shop,
                                                          "com.docker.compose.service=db"}});
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->size(), 1u);
  EXPECT_EQ(both->front().name, name("db"));
  EXPECT_EQ(container_of(shop, "db"), name("db"));

  auto info = d->inspect_container(name("web"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->name, name("web"));
  EXPECT_EQ(info->image, "stacksnap-fixture/app:test");
  EXPECT_TRUE(info->state.running);
  EXPECT_EQ(info->labels.at("com.docker.compose.service"), "web");
  EXPECT_EQ(info->labels.at("com.docker.compose.version").substr(0, 2), compose_v1_lane() ? "1." : "2.");
  bool has_bind = false;
  for (const auto& m : info->mounts) has_bind |= m.type == "bind" && m.destination == "/srv/uploads";
  EXPECT_TRUE(has_bind);

  auto missing = d->inspect_container("stacksnap-it-no-such-container");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_EQ(missing.error().message(),
            "inspect container stacksnap-it-no-such-container: No such container: stacksnap-it-no-such-container");
}

TEST(DockerContainers, Top) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto top = d->top(container_of(stack_project("shop"), "db"), "-o pid,comm,args");
  ASSERT_TRUE(top.ok()) << top.error().message();
  EXPECT_EQ(top->titles.front(), "PID");
  bool postgres = false;
  for (const auto& p : top->processes) postgres |= p.size() >= 2 && p[1] == "postgres";
  EXPECT_TRUE(postgres);
}

TEST(DockerContainers, LifecyclePauseUnpauseStopStartWaitRemove) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto t = Throwaway::create(*d, "lifecycle", CreateContainerOptions{.cmd = {"sleep", "infinity"}});
  ASSERT_TRUE(t.ok()) << t.error().message();
  const std::string id = (*t)->id();

  ASSERT_TRUE(d->pause_container(id).ok());
  auto info = d->inspect_container(id);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->state.paused);
  EXPECT_EQ(info->state.status, "paused");
  // A paused container refuses exec (409) and a second pause.
  StringWriter out, err;
  auto rc = d->exec(id, {.cmd = {"true"}}, nullptr, out, err);
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(rc.error().message().find("paused"), std::string::npos) << rc.error().message();
  EXPECT_EQ(d->pause_container(id).error().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(d->unpause_container(id).ok());
  EXPECT_FALSE(d->inspect_container(id)->state.paused);
  // Unpause of a running container: the Engine says 500.
  EXPECT_EQ(d->unpause_container(id).error().code(), Code::kInternal);

  ASSERT_TRUE(d->stop_container(id, 1).ok());
  EXPECT_EQ(d->inspect_container(id)->state.status, "exited");
  EXPECT_TRUE(d->stop_container(id, 1).ok());  // already stopped: 304 is fine
  ASSERT_TRUE(d->start_container(id).ok());
  EXPECT_TRUE(d->start_container(id).ok());  // already running
  EXPECT_TRUE(d->inspect_container(id)->state.running);
}

TEST(DockerContainers, WaitReturnsTheExitCode) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto t = Throwaway::create(*d, "wait", CreateContainerOptions{.cmd = {"sh", "-c", "sleep 0.2; exit 7"}});
  ASSERT_TRUE(t.ok()) << t.error().message();
  auto rc = d->wait_container((*t)->id());
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 7);
}

TEST(DockerContainers, CreateFailsCleanlyForAMissingImageAndATakenName) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto missing = d->create_container({.image = "stacksnap-it/no-such-image:1"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_NE(missing.error().message().find("No such image"), std::string::npos) << missing.error().message();

  auto t = Throwaway::create(*d, "taken", CreateContainerOptions{}, /*start=*/false);
  ASSERT_TRUE(t.ok());
  auto dup = d->create_container({.name = (*t)->name(), .image = kFixtureApp});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(dup.error().message().find("already in use"), std::string::npos) << dup.error().message();
  EXPECT_TRUE(d->remove_container((*t)->id()).ok());
  EXPECT_EQ(d->remove_container((*t)->id()).error().code(), Code::kNotFound);
}

TEST(DockerEvents, PauseAndUnpauseAreSeen) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto t = Throwaway::create(*d, "events", CreateContainerOptions{.cmd = {"sleep", "infinity"}});
  ASSERT_TRUE(t.ok());
  const std::string id = (*t)->id();
  std::vector<std::string> actions;  // read after join
  std::atomic<int> seen_actions{0};
  StopSource stop;
  Status watch;
  std::thread watcher([&] {
    watch = d->events({{"type", {"container"}}, {"container", {id}}, {"event", {"pause", "unpause"}}}, 0, 0,
                      [&](const docker::Event& e) -> Result<bool> {
                        actions.push_back(e.action);
                        ++seen_actions;
                        EXPECT_EQ(e.actor_id, id);
                        return e.action != "unpause";
                      },
                      stop.get_token());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscribed before we act
  ASSERT_TRUE(d->pause_container(id).ok());
  ASSERT_TRUE(d->unpause_container(id).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && seen_actions < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop.request_stop();
  watcher.join();
  EXPECT_TRUE(watch.ok() || watch.error().code() == Code::kCancelled);
  EXPECT_EQ(actions, (std::vector<std::string>{"pause", "unpause"}));

  // A past window is finite: since..until replays and ends by itself.
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  int seen = 0;
  auto st = d->events({{"container", {id}}}, now - 60, now + 1, [&](const docker::Event&) -> Result<bool> {
    ++seen;
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_GE(seen, 3);  // create, start, pause, unpause…
}

}  // namespace
}  // namespace stacksnap::it
