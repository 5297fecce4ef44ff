// Volumes and images against the real dockerd.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

TEST(DockerVolumes, CreateInspectListRemove) {
  STACKSNAP_REQUIRE_ENGINE(d);
  std::string name = unique_name("vol");
  std::string owner = std::to_string(::getpid());
  auto v = d->create_volume({.name = name, .labels = {{kTestLabel, owner}, {"purpose", "first"}}});
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->name, name);
  EXPECT_EQ(v->driver, "local");
  EXPECT_EQ(v->labels.at("purpose"), "first");

  // An existing name answers with the existing volume; its labels are kept (notes §4.4).
  auto again = d->create_volume({.name = name, .labels = {{kTestLabel, owner}, {"purpose", "second"}}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->labels.at("purpose"), "first");

  auto info = d->inspect_volume(name);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->mountpoint, "/var/lib/docker/volumes/" + name + "/_data");

  auto listed = d->list_volumes({std::string(kTestLabel) + "=" + owner, "purpose=first"});
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(), [&](const auto& x) { return x.name == name; }));
  auto none = d->list_volumes({"purpose=stacksnap-it-nothing-has-this"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // In use: 409.
  {
    auto t = Throwaway::create(*d, "vol-user",
                               {.cmd = {"true"}, .mounts = {docker::MountSpec{.source = name, .target = "/v"}}}, false);
    ASSERT_TRUE(t.ok()) << t.error().message();
    auto busy = d->remove_volume(name);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code(), Code::kFailedPrecondition);
    EXPECT_NE(busy.error().message().find("in use"), std::string::npos) << busy.error().message();
  }
  ASSERT_TRUE(d->remove_volume(name).ok());
  auto gone = d->inspect_volume(name);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  EXPECT_EQ(d->remove_volume(name).error().code(), Code::kNotFound);

  auto bad = d->create_volume({.name = "-bad name-"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
}

TEST(DockerImages, ListAndInspect) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_fixture_images().ok());
  auto list = d->list_images({"org.stacksnap.fixture.recipe"});
  ASSERT_TRUE(list.ok()) << list.error().message();
  bool found = false;
  for (const auto& i : *list) {
    found |= std::find(i.repo_tags.begin(), i.repo_tags.end(), kFixtureApp) != i.repo_tags.end();
  }
  EXPECT_TRUE(found);
  auto info = d->inspect_image(kFixtureApp);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_TRUE(info->id.starts_with("sha256:"));
  EXPECT_EQ(info->entrypoint.front(), "/usr/bin/tini");
  EXPECT_GT(info->size, 0);
  auto missing = d->inspect_image("stacksnap-it/no-such-image:1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_NE(missing.error().message().find("No such image"), std::string::npos);
}

// No registry is reachable here: a pull must fail fast and say which image and why.
TEST(DockerImages, PullOfAMissingImageFailsCleanly) {
  STACKSNAP_REQUIRE_ENGINE(d);
  for (std::string ref : {"localhost:1/stacksnap-it/missing:1", "stacksnap-it/definitely-missing:1"}) {
    double t0 = monotonic_seconds();
    std::vector<std::string> progress;
    auto st = d->pull_image(ref, [&](std::string_view s) { progress.emplace_back(s); });
    double secs = monotonic_seconds() - t0;
    ASSERT_FALSE(st.ok()) << ref;
    EXPECT_NE(st.error().message().find("pull image " + ref + ": "), std::string::npos) << st.error().message();
    EXPECT_GT(st.error().message().size(), ("pull image " + ref + ": ").size());
    EXPECT_LT(secs, 30.0) << ref;
  }
}

}  // namespace
}  // namespace stacksnap::it
