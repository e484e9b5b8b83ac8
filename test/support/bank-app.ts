/** The bank example as an app module for the CLI's `--events` (its registry and decider). */
export { bank as decider, bankEvents as events } from "../../examples/bank.ts";
