// Where the Docker Engine listens, and how to open a connection to it.
//
// DOCKER_HOST is honoured: "unix:///path/to.sock" or "tcp://host:port" (plain
// HTTP; TLS — DOCKER_TLS_VERIFY / DOCKER_CERT_PATH — is not supported and gives
// Unimplemented). Without DOCKER_HOST: unix:///var/run/docker.sock.
//
// Thread-safety: Endpoint is a value; connect() may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace stacksnap::docker {

inline constexpr std::string_view kDefaultDockerHost = "unix:///var/run/docker.sock";

struct Endpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;   // kUnix: socket path
  std::string host;   // kTcp: host name or address
  uint16_t port = 0;  // kTcp
  std::string uri;    // as the user wrote it, normalised: "unix:///var/run/docker.sock"
};

// Parses a DOCKER_HOST value. InvalidArgument on anything else (ssh://, npipe://, fd://…).
Result<Endpoint> parse_docker_host(std::string_view value);

// DOCKER_HOST from the environment, or the default socket.
// Unimplemented when DOCKER_TLS_VERIFY is set (we speak plain HTTP only).
Result<Endpoint> endpoint_from_environment();

// Opens a stream socket to the endpoint (O_CLOEXEC, SIGPIPE suppressed per send).
// A missing socket, a refused connection or an unknown host is Unavailable with the
// message "cannot reach the Docker Engine at <uri>: connection refused";
// EACCES on the socket is PermissionDenied with the same shape.
Result<UniqueFd> connect_endpoint(const Endpoint& endpoint);

}  // namespace stacksnap::docker
