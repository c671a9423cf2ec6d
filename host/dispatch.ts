// Dispatching host calls to handlers, as an exception boundary.
//
// Handlers are user code and may do anything: throw, reject, return a number, return a
// thenable whose `then` throws, throw an object whose toString throws. Whatever they do
// becomes one of two outcomes for that call — a reply (ok, bytes) or an error result the
// tasklet sees as !ok — and never an exception or an unhandled rejection in the host.
//
// Lookup is by own property only: handlers is a plain object, and a program calling
// hostCall("constructor", …) or hostCall("toString", …) must not reach Object's members.
import { DEFER, type HostCall, type HostHandler } from "./hostcalls.ts";

/** Longest host-call name a handler is looked up for (UTF-16 code units). */
export const MAX_CALL_NAME = 256;
/** Largest payload handed to a handler (bytes). */
export const MAX_CALL_PAYLOAD = 64 << 20;

export type Outcome = { ok: true; bytes: Uint8Array } | { ok: false; bytes: Uint8Array } | { deferred: true };

const encoder = new TextEncoder();

function errorOutcome(message: string): Outcome {
  return { ok: false, bytes: encoder.encode(message) };
}

/** Whether `name` has a handler of its own in `handlers`. */
export function hasHandler(handlers: Record<string, unknown>, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(handlers, name) && typeof handlers[name] === "function";
}

/** The handler registered for the call's name, or the error result the call gets instead. */
export function findHandler(handlers: Record<string, HostHandler>, call: HostCall): HostHandler | Outcome {
  if (call.name.length > MAX_CALL_NAME) return errorOutcome(`host call names are limited to ${MAX_CALL_NAME} characters; this one has ${call.name.length}`);
  if (call.payload.length > MAX_CALL_PAYLOAD) return errorOutcome(`host call payloads are limited to ${MAX_CALL_PAYLOAD} bytes; "${call.name}" sent ${call.payload.length}`);
  if (!hasHandler(handlers, call.name)) return errorOutcome(`no host function named "${call.name}" is registered; pass it in the handlers option`);
  return handlers[call.name];
}

/** Runs a handler; the promise never rejects. */
export function invoke<C extends HostCall>(handler: (call: C) => unknown, call: C): Promise<Outcome> {
  let reply: Promise<unknown>;
  try {
    // Promise.resolve itself can throw (a promise whose `constructor` getter throws).
    reply = Promise.resolve(handler(call));
  } catch (error) {
    return Promise.resolve(errorOutcome(describe(error)));
  }
  return reply.then(
    (value) => toOutcome(value, call.name),
    (error: unknown) => errorOutcome(describe(error)),
  ).catch((error: unknown) => errorOutcome(describe(error)));
}

/** A handler's value as an outcome; a value of the wrong type is an error result. Never throws. */
export function toOutcome(value: unknown, name: string): Outcome {
  try {
    return valueOutcome(value, name);
  } catch (error) {
    return errorOutcome(`the handler for "${name}" returned a value that cannot be read (${describe(error)})`);
  }
}

function valueOutcome(value: unknown, name: string): Outcome {
  if (value === DEFER) return { deferred: true };
  if (typeof value === "string") return { ok: true, bytes: encoder.encode(value) };
  if (value instanceof Uint8Array) return { ok: true, bytes: value.slice() };
  if (value instanceof ArrayBuffer) return { ok: true, bytes: new Uint8Array(value.slice(0)) };
  return errorOutcome(`the handler for "${name}" returned ${kindOf(value)}; a handler returns a string, a Uint8Array or DEFER (or throws to answer with an error)`);
}

/** A thrown value as a message, whatever it is (even an object whose toString throws). */
export function describe(error: unknown): string {
  try {
    if (error instanceof Error) return String(error.message);
    return String(error);
  } catch {
    return "the handler failed with a value that cannot be shown";
  }
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
