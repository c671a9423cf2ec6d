// The fleet's schema, as numbered migrations. A store applies the ones it has not
// applied yet, in order, inside one transaction, the first time it opens a database
// (several processes opening it at once serialize on an advisory lock). The version
// lives in fleet_schema; a database written by a newer Stasis is refused, not touched.
//
// Tables (docs/FLEET.md explains each column and the claim protocol):
//   fleet_modules        the programs, content-addressed by module id (SHA-256 of the .wasm)
//   fleet_computations   one row per computation: status, claim (owner, lease, epoch),
//                        attempts, wake_at, last error, and its latest image
//   fleet_calls          the host calls each computation waits on (from its latest image)
//   fleet_completions    answers to those calls; `consumed` once a commit took them in
//   fleet_output         console output, one row per committed step
//   fleet_secrets        the fleet's image key (HMAC-SHA-256, made on first use): every image
//                        a worker commits is signed with it and verified before a thaw

export const MIGRATIONS: readonly string[] = [
  // 1: the initial schema.
  `
  CREATE TABLE fleet_modules (
    id text PRIMARY KEY,
    bytes bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE fleet_computations (
    id text PRIMARY KEY,
    module_id text NOT NULL REFERENCES fleet_modules (id),
    status text NOT NULL CHECK (status IN ('runnable', 'running', 'waiting', 'done', 'failed')),
    seed double precision NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    wake_at timestamptz,
    owner text,
    lease_until timestamptz,
    epoch integer NOT NULL DEFAULT 0,
    last_error text,
    steps integer NOT NULL DEFAULT 0,
    output_seq integer NOT NULL DEFAULT 0,
    image bytea,
    image_ref text,
    image_bytes integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX fleet_computations_wake ON fleet_computations (status, wake_at);
  CREATE INDEX fleet_computations_lease ON fleet_computations (status, lease_until);
  CREATE TABLE fleet_calls (
    computation_id text NOT NULL REFERENCES fleet_computations (id) ON DELETE CASCADE,
    call_id integer NOT NULL,
    name text NOT NULL,
    tasklet integer NOT NULL,
    payload bytea NOT NULL,
    deferred boolean NOT NULL DEFAULT false,
    PRIMARY KEY (computation_id, call_id)
  );
  CREATE TABLE fleet_completions (
    computation_id text NOT NULL REFERENCES fleet_computations (id) ON DELETE CASCADE,
    call_id integer NOT NULL,
    ok boolean NOT NULL,
    value bytea NOT NULL,
    consumed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (computation_id, call_id)
  );
  CREATE TABLE fleet_output (
    computation_id text NOT NULL REFERENCES fleet_computations (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (computation_id, seq)
  );
  `,
  // 2: the image key.
  `
  CREATE TABLE fleet_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL
  );
  `,
  // 3: delta images after a computation's image (docs/IMAGE-FORMAT.md): its chain, in seq order.
  `
  CREATE TABLE fleet_deltas (
    computation_id text NOT NULL REFERENCES fleet_computations (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    image bytea NOT NULL,
    PRIMARY KEY (computation_id, seq)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
