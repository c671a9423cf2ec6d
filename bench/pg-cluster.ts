// A throw-away PostgreSQL cluster (for the fleet tests and benchmark): initdb into a
// temporary directory (as the `postgres` user when running as root: PostgreSQL refuses
// to run as root), pg_ctl start on a free port with its socket in that directory, and
// stop() to shut it down and remove the directory.
import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** The bin directory of the newest installed PostgreSQL, or null. */
export function postgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], "bin") : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  url: string;
  stop(): Promise<void>;
}

export interface PgClusterOptions {
  /** Durable commits (fsync). Default false: tests need no durability. */
  fsync?: boolean;
}

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (Debian: apt-get install postgresql)");
  const dir = await mkdtemp("/tmp/stasis-pg-");
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o755);
    const { stdout: uid } = await exec("id", ["-u", "postgres"]);
    const { stdout: gid } = await exec("id", ["-g", "postgres"]);
    chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  }
  const run = (tool: string, args: string[]) =>
    asRoot ? exec("runuser", ["-u", "postgres", "--", join(bin, tool), ...args]) : exec(join(bin, tool), args);
  await run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  const settings = `-p ${port} -k ${dir} -c max_connections=200 -c listen_addresses=127.0.0.1${options.fsync ? "" : " -c fsync=off"}`;
  await run("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-o", settings, "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
