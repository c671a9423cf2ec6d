// stasis/fleet: many frozen computations, many workers, one database (PostgreSQL, or an
// embedded PGlite store). Node only. See docs/FLEET.md.
export { Fleet, type ComputationDetails, type FleetOpenOptions, type WaitOptions } from "./fleet.ts";
export { FleetWorker, type FleetCall, type FleetEvent, type FleetHandler, type FleetWorkerOptions } from "./worker.ts";
export type { CallRow, ComputationRow, ComputationStatus, FleetStore } from "./store.ts";
export { openEmbeddedStore, openPgStore } from "./open.ts";
export { DEFER } from "../../hostcalls.ts";
