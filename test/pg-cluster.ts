// The fleet tests' PostgreSQL: a throw-away cluster (bench/pg-cluster.ts starts and stops
// it). Without PostgreSQL binaries the tests that need one are skipped with one line
// saying how to enable them — unless CI=true, where a missing PostgreSQL is a failure.
import { postgresBin } from "../bench/pg-cluster.ts";

export { startPgCluster, type PgCluster } from "../bench/pg-cluster.ts";

/** Whether the PostgreSQL tests run here; prints the reason when they do not. */
export function postgresAvailable(): boolean {
  if (postgresBin()) return true;
  if (process.env.CI === "true") throw new Error("CI=true but PostgreSQL is not installed: .ci/run installs Debian's postgresql package");
  console.log("fleet: PostgreSQL tests skipped: no /usr/lib/postgresql/*/bin/initdb (install Debian's `postgresql` package to run them)");
  return false;
}
