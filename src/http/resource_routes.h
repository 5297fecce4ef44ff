// The resource routes of the REST API (docs/API.md, "Resource routes"): onboarding and
// key, projects, targets, backups, jobs, schedules, retention, notifications, settings.
// Every route is Access::kUser (session + CSRF, or a Bearer token) and runs on the
// worker pool (SQLite, Docker, storage).
//
// These handlers sit on top of the composition root (app::Appliance): they are the one
// place in src/http that knows concrete services, and only through it.
#pragma once

#include "http/router.h"

namespace stacksnap::app {
class Appliance;
}

namespace stacksnap::http {

// `app` must outlive the router's use. Includes GET /api/jobs/{id}/events.
void register_resource_routes(Router& router, app::Appliance& app);

// Split per resource (resource_routes_*.cpp).
void register_project_routes(Router& router, app::Appliance& app);  // projects, schedules, retention
void register_target_routes(Router& router, app::Appliance& app);
void register_backup_routes(Router& router, app::Appliance& app);   // backups, jobs
void register_admin_routes(Router& router, app::Appliance& app);    // onboarding, key, notifications, settings

}  // namespace stacksnap::http
