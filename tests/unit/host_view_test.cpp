// docker/host_view.h: which paths a container shares with the Engine's host.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "base/temp_dir.h"
#include "docker/host_path.h"
#include "docker/host_view.h"
#include "fake_docker.h"

namespace stacksnap::docker {
namespace {

// /proc/self/mountinfo of `docker run -v /var/run/docker.sock:… -v /srv/a:/srv/a -v data:/var/lib/stacksnap`
// (shortened), and of a process on the host.
constexpr const char* kContainer =
    "918 842 0:59 / / rw,relatime master:357 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X\n"
    "919 918 0:62 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "1301 918 254:0 /var/lib/docker/volumes/data/_data /var/lib/stacksnap rw,relatime master:1 - ext4 /dev/vda rw\n"
    "1302 918 254:0 /srv/a /srv/a rw,relatime - ext4 /dev/vda rw\n"
    "1303 918 254:0 /var/lib/docker/containers/24c7d5b0d6024ae031a67cd2a4a0d9bc82cf5967b4965946620b20dfca2de128/"
    "resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw\n"
    "1304 918 254:0 /var/lib/docker/containers/24c7d5b0d6024ae031a67cd2a4a0d9bc82cf5967b4965946620b20dfca2de128/"
    "hostname /etc/hostname rw,relatime - ext4 /dev/vda rw\n"
    "1305 918 0:26 /docker.sock /run/docker.sock rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw\n"
    "1306 918 254:0 /srv/with\\040space /srv/with\\040space rw,relatime - ext4 /dev/vda rw\n"
    "1307 918 0:70 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw\n";
constexpr const char* kHost =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw\n";

TEST(HostView, ContainerIdFromMountinfo) {
  EXPECT_EQ(container_id_from_mountinfo(kContainer), "24c7d5b0d6024ae031a67cd2a4a0d9bc82cf5967b4965946620b20dfca2de128");
  EXPECT_EQ(container_id_from_mountinfo(kHost), "");
  EXPECT_EQ(container_id_from_mountinfo(""), "");
}

TEST(HostView, MountsFromMountinfo) {
  auto mounts = mounts_from_mountinfo(kContainer);
  ASSERT_EQ(mounts.size(), 8u);  // "/" is left out
  EXPECT_EQ(mounts[1].destination, "/var/lib/stacksnap");
  EXPECT_EQ(mounts[1].source, "/var/lib/docker/volumes/data/_data");
  EXPECT_EQ(mounts[1].type, "ext4");
  EXPECT_EQ(mounts[6].destination, "/srv/with space");
}

TEST(HostView, OnTheHostEveryPathIsTheSame) {
  HostView v = HostView::host();
  EXPECT_FALSE(v.in_container());
  EXPECT_EQ(v.access("/anything/at/all"), PathAccess::kSame);
  EXPECT_TRUE(v.require_same_paths({"/srv/x", "/var/lib/stacksnap"}, "the restore of x").ok());
}

// The mounts as the Engine reports them for the container.
HostView engine_view() {
  return HostView::container("24c7d5b0d602", "stacksnap",
                             {{.type = "bind", .source = "/srv/a", .destination = "/srv/a"},
                              {.type = "bind", .source = "/home/u/stacks", .destination = "/stacks"},
                              {.type = "volume", .name = "data", .source = "/var/lib/docker/volumes/data/_data",
                               .destination = "/var/lib/stacksnap"},
                              {.type = "bind", .source = "/srv/a/inner-elsewhere", .destination = "/srv/a/inner"},
                              {.type = "tmpfs", .destination = "/tmp"}},
                             /*known=*/true);
}

TEST(HostView, SamePathOnlyUnderABindMountedAtItsOwnPath) {
  HostView v = engine_view();
  EXPECT_EQ(v.access("/srv/a"), PathAccess::kSame);
  EXPECT_EQ(v.access("/srv/a/"), PathAccess::kSame);
  EXPECT_EQ(v.access("/srv/a/shop/uploads"), PathAccess::kSame);
  EXPECT_EQ(v.access("/srv/ab"), PathAccess::kPrivate);  // a prefix, not a parent
  EXPECT_EQ(v.access("/srv"), PathAccess::kPrivate);
  EXPECT_EQ(v.access("/stacks/shop"), PathAccess::kElsewhere);
  EXPECT_EQ(v.host_path("/stacks/shop").value_or(""), "/home/u/stacks/shop");
  EXPECT_EQ(v.access("/var/lib/stacksnap/drills"), PathAccess::kElsewhere);
  EXPECT_EQ(v.access("/srv/a/inner/x"), PathAccess::kElsewhere);  // the innermost mount decides
  EXPECT_EQ(v.access("/tmp/x"), PathAccess::kPrivate);
  EXPECT_EQ(v.access("/srv/a/../b"), PathAccess::kPrivate);
}

TEST(HostView, RequireSamePathsNamesEachPathAndTheMountThatFixesIt) {
  HostView v = engine_view();
  EXPECT_TRUE(v.require_same_paths({"/srv/a/shop", "/srv/a/shop/uploads", ""}, "the restore of shop").ok());
  Status st = v.require_same_paths({"/srv/a/shop", "/opt/wiki", "/stacks/wiki", "/opt/wiki"}, "the restore of wiki");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kFailedPrecondition);
  const std::string m = st.error().message();
  EXPECT_NE(m.find("the restore of wiki needs paths that this container (stacksnap)"), std::string::npos) << m;
  EXPECT_NE(m.find("/opt/wiki exists only inside this container"), std::string::npos) << m;
  EXPECT_NE(m.find("/stacks/wiki is /home/u/stacks/wiki on the host"), std::string::npos) << m;
  EXPECT_NE(m.find("-v /opt/wiki:/opt/wiki -v /stacks/wiki:/stacks/wiki"), std::string::npos) << m;
  EXPECT_EQ(m.find("/srv/a/shop"), std::string::npos) << m;
  EXPECT_EQ(m.find("/opt/wiki", m.find("/opt/wiki exists") + 1), m.find("-v /opt/wiki") + 3) << "listed once: " << m;
}

TEST(HostView, WithoutTheEngineOnlyPrivatePathsAreKnown) {
  HostView v = HostView::container("24c7d5b0d602", "", mounts_from_mountinfo(kContainer), /*known=*/false);
  EXPECT_EQ(v.access("/opt/wiki"), PathAccess::kPrivate);
  EXPECT_EQ(v.access("/var/lib/stacksnap"), PathAccess::kUnknown);
  EXPECT_EQ(v.access("/srv/a/shop"), PathAccess::kUnknown);
  EXPECT_EQ(v.access("/run/docker.sock"), PathAccess::kUnknown);  // a bind from the host's tmpfs
  EXPECT_EQ(v.access("/tmp/x"), PathAccess::kPrivate);            // the container's own tmpfs
  EXPECT_FALSE(v.host_path("/srv/a/shop").has_value());
  EXPECT_FALSE(v.require_same_paths({"/opt/wiki"}, "x").ok());
  EXPECT_TRUE(v.require_same_paths({"/srv/a/shop"}, "x").ok());
}

// host_path_of: where a SQLite snapshot may open a volume's or bind's files directly.
TEST(HostPath, OnlyTheSameFileAsTheEngineSees) {
  auto dir = TempDir::create("/tmp", "stacksnap-hostpath-");
  ASSERT_TRUE(dir.ok());
  fake::FakeDocker docker(dir->path() + "/engine");
  const VolumeInfo vol = docker.add_volume("shop_books", "shop");
  const std::string bind = dir->path() + "/srv";
  ASSERT_EQ(::mkdir(bind.c_str(), 0700), 0);

  // On the Engine's host every visible path is the file the Engine has.
  EXPECT_EQ(host_path_of(docker, HostView::host(), MountSpec::Type::kVolume, "shop_books").path, vol.mountpoint);
  EXPECT_EQ(host_path_of(docker, HostView::host(), MountSpec::Type::kBind, bind).path, bind);
  auto missing = host_path_of(docker, HostView::host(), MountSpec::Type::kVolume, "no_such");
  EXPECT_EQ(missing.path, "");
  EXPECT_NE(missing.reason.find("no such volume"), std::string::npos) << missing.reason;

  // In a container: the bind is mounted at its own path, the volumes' directory is not
  // mounted at all (a path that may exist in the container all the same).
  const HostView inside = HostView::container(
      std::string(64, 'a'), "stacksnap",
      {{.type = "bind", .source = bind, .destination = bind},
       {.type = "volume", .name = "state", .source = "/var/lib/docker/volumes/state/_data", .destination = "/var/lib/stacksnap"}},
      /*known=*/true);
  EXPECT_EQ(host_path_of(docker, inside, MountSpec::Type::kBind, bind).path, bind);
  auto vol_inside = host_path_of(docker, inside, MountSpec::Type::kVolume, "shop_books");
  EXPECT_EQ(vol_inside.path, "");
  EXPECT_NE(vol_inside.reason.find("not mounted into this container"), std::string::npos) << vol_inside.reason;
  EXPECT_NE(vol_inside.reason.find("-v " + vol.mountpoint + ":" + vol.mountpoint), std::string::npos);

  // Mounted, but from another host path: not the same file.
  const HostView moved = HostView::container(std::string(64, 'b'), "stacksnap",
                                             {{.type = "bind", .source = "/srv/elsewhere", .destination = bind}}, true);
  auto elsewhere = host_path_of(docker, moved, MountSpec::Type::kBind, bind);
  EXPECT_EQ(elsewhere.path, "");
  EXPECT_NE(elsewhere.reason.find("from elsewhere"), std::string::npos) << elsewhere.reason;
}

}  // namespace
}  // namespace stacksnap::docker
