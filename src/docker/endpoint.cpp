#include "docker/endpoint.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace stacksnap::docker {
namespace {

// "connection refused", "no such file or directory": strerror, lower-cased first letter,
// as the one-line message shape the CLI prints.
std::string lower_strerror(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

Error unreachable(const Endpoint& ep, int err) {
  std::string msg = "cannot reach the Docker Engine at " + ep.uri + ": " + lower_strerror(err);
  if (err == EACCES || err == EPERM) return permission_denied(std::move(msg));
  return unavailable(std::move(msg));
}

}  // namespace

Result<Endpoint> parse_docker_host(std::string_view value) {
  Endpoint ep;
  if (value.starts_with("unix://")) {
    ep.kind = Endpoint::Kind::kUnix;
    ep.path = std::string(value.substr(7));
    if (ep.path.empty() || ep.path[0] != '/') {
      return invalid_argument("DOCKER_HOST " + std::string(value) + ": a unix socket path must be absolute");
    }
    if (ep.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return invalid_argument("DOCKER_HOST " + std::string(value) + ": socket path too long");
    }
    ep.uri = "unix://" + ep.path;
    return ep;
  }
  if (value.starts_with("tcp://") || value.starts_with("http://")) {
    std::string_view rest = value.substr(value.find("://") + 3);
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) {
      return invalid_argument("DOCKER_HOST " + std::string(value) + ": a path prefix is not supported");
    }
    std::string_view host = rest, port = "2375";
    if (!rest.empty() && rest.front() == '[') {  // [v6]:port
      auto close = rest.find(']');
      if (close == std::string_view::npos) return invalid_argument("DOCKER_HOST " + std::string(value) + ": bad IPv6 address");
      host = rest.substr(1, close - 1);
      if (close + 1 < rest.size()) {
        if (rest[close + 1] != ':') return invalid_argument("DOCKER_HOST " + std::string(value) + ": bad address");
        port = rest.substr(close + 2);
      }
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (host.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) {
      return invalid_argument("DOCKER_HOST " + std::string(value) + ": expected tcp://HOST:PORT");
    }
    ep.kind = Endpoint::Kind::kTcp;
    ep.host = std::string(host);
    ep.port = static_cast<uint16_t>(p);
    ep.uri = "tcp://" + std::string(rest.front() == '[' ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(p);
    return ep;
  }
  return invalid_argument("DOCKER_HOST " + std::string(value) +
                          ": unsupported scheme (use unix:///path or tcp://host:port)");
}

Result<Endpoint> endpoint_from_environment() {
  const char* host = std::getenv("DOCKER_HOST");
  std::string_view value = host && *host ? std::string_view(host) : kDefaultDockerHost;
  auto ep = TRY(parse_docker_host(value));
  const char* tls = std::getenv("DOCKER_TLS_VERIFY");
  if (ep.kind == Endpoint::Kind::kTcp && tls && *tls && std::string_view(tls) != "0") {
    return unimplemented("DOCKER_TLS_VERIFY is set, but StackSnap speaks plain HTTP to the Docker Engine only");
  }
  return ep;
}

Result<UniqueFd> connect_endpoint(const Endpoint& ep) {
  if (ep.kind == Endpoint::Kind::kUnix) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return errno_error("socket", errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, ep.path.c_str(), ep.path.size() + 1);
    int rc;
    do {
      rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return unreachable(ep, errno);
    return fd;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  int gai = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    return unavailable("cannot reach the Docker Engine at " + ep.uri + ": " + ::gai_strerror(gai));
  }
  int last_err = ECONNREFUSED;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd.valid()) {
      last_err = errno;
      continue;
    }
    int rc;
    do {
      rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::freeaddrinfo(res);
      return fd;
    }
    last_err = errno;
  }
  ::freeaddrinfo(res);
  return unreachable(ep, last_err);
}

}  // namespace stacksnap::docker
