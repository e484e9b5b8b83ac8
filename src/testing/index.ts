/**
 * Test helpers: Given/When/Then specs for deciders, and the storage conformance suite
 * that every adapter (yours included) must pass. Both use `node:test` / `node:assert`,
 * which Node, Deno and Bun all run natively.
 * @module
 */
export { type Given, spec, type Spec, type Then } from "./spec.ts";
export { conformanceSuite, type StorageFixture } from "./conformance.ts";
export { conformanceEvents, type ConformanceEvent, Noted, noted, Tagged } from "./conformance-events.ts";
