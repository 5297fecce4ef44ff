// An API server for the resource-route tests: TestServer's core routes plus the
// appliance and its resource routes, composed as cli/cmd_serve.cpp does.
#pragma once

#include "app/appliance.h"
#include "http/resource_routes.h"
#include "integration/http_test_support.h"

namespace stacksnap::http::testing {

class ApiServer {
 public:
  explicit ApiServer(app::ApplianceOptions o = {}) {
    if (o.data_dir.empty()) o.data_dir = ts.dir->path();
    o.run_scheduler = false;
    o.notify_retry = {.attempts = 2, .backoff = {std::chrono::milliseconds(50)}};
    o.warn = [](const std::string&) {};
    app = std::make_unique<app::Appliance>(*ts.cat, publisher, ts.clock, o);
    // TestServer registered the job events route already; add the rest.
    register_admin_routes(*ts.router, *app);
    register_project_routes(*ts.router, *app);
    register_target_routes(*ts.router, *app);
    register_backup_routes(*ts.router, *app);
    EXPECT_TRUE(app->start().ok());
    EXPECT_TRUE(ts.start().ok());
    auto [c, x] = ts.login();
    cookie = c;
    csrf = x;
  }
  ~ApiServer() {
    ts.server->stop();
    app->stop();
  }

  Reply req(const std::string& method, const std::string& path, const Json& body = nullptr) {
    std::vector<std::string> h{cookie, "X-CSRF-Token: " + csrf};
    if (!body.is_null()) h.push_back("Content-Type: application/json");
    return call({.method = method, .url = ts.url(path), .body = body.is_null() ? "" : body.dump(), .headers = h,
                 .timeout_ms = 60000});
  }
  Reply get(const std::string& path) { return req("GET", path); }

  Json wait_job(int64_t id, std::chrono::seconds limit = std::chrono::seconds(300)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      Json j = get("/api/jobs/" + std::to_string(id)).json();
      std::string st = j.value("state", "");
      if (st != "queued" && st != "running") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }

  TestServer ts;
  http::SsePublisher publisher{ts.hub};
  std::unique_ptr<app::Appliance> app;
  std::string cookie, csrf;
};

}  // namespace stacksnap::http::testing
