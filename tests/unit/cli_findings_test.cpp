// The command line prints a job summary's findings (restore and drill problems, warnings,
// notes) after the result line, whatever the kind of job.
#include <gtest/gtest.h>

#include "cli/event_printer.h"

namespace stacksnap::cli {
namespace {

TEST(CliFindings, ProblemsAndWarningsWarnInfoIsANote) {
  job::Json s{{"result", "succeeded"},
              {"problems", {"volume shop_appdata: 3 files fewer than the backup"}},
              {"warnings", {"rows: public.orders 2000 → 1998", 7}},
              {"info", {"cache: 12 keys with a TTL expired since the backup"}}};
  EXPECT_EQ(render_findings(s),
            "\nWARNING: volume shop_appdata: 3 files fewer than the backup"
            "\nWARNING: rows: public.orders 2000 → 1998"
            "\nnote: cache: 12 keys with a TTL expired since the backup");
  EXPECT_EQ(render_findings(job::Json{{"problems", job::Json::array()}, {"info", "not a list"}}), "");
  EXPECT_EQ(render_findings(job::Json()), "");
}

}  // namespace
}  // namespace stacksnap::cli
