// Opening a store, loading its database driver only then: `pg` (PostgreSQL) and
// `@electric-sql/pglite` (the embedded store) are optional peer dependencies, so a project
// that only thaws images does not install them. A missing driver is FLEET_DB, naming the
// package to install.
import { StasisError } from "../../errors.ts";
import type { PgStoreOptions } from "./pg-store.ts";
import type { SqlFleetStore } from "./sql-store.ts";

async function driver<T>(load: () => Promise<T>, pkg: string, what: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = (error as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(pkg);
    if (!missing) throw error;
    throw new StasisError("FLEET_DB", `${what} needs the ${pkg} package, which is not installed; run \`npm install ${pkg}\``, { cause: error });
  }
}

/** A store on PostgreSQL at `url` (needs `pg`). */
export async function openPgStore(url: string, options: PgStoreOptions = {}): Promise<SqlFleetStore> {
  const { openPgStore: open } = await driver(() => import("./pg-store.ts"), "pg", "a fleet on PostgreSQL");
  return open(url, options);
}

/** The embedded store in `dir` (needs `@electric-sql/pglite`). */
export async function openEmbeddedStore(dir: string): Promise<SqlFleetStore> {
  const { openEmbeddedStore: open } = await driver(() => import("./embedded-store.ts"), "@electric-sql/pglite", "the embedded fleet store");
  return open(dir);
}
