/** The generic event the crash child appends: its content is a function of its position. */
import { z } from "zod";
import { defineEvent, eventRegistry } from "../../mod.ts";

/** `last` marks the final event of each append: a recovered log must end on one. */
export const CrashProbe = defineEvent("CrashProbe", z.object({ n: z.number().int(), text: z.string(), last: z.boolean() }));
export const crashProbeEvents = () => eventRegistry(CrashProbe);

/** Small segments: a run rolls several times, so kills land mid-roll too. */
export const CRASH_SEGMENT_BYTES = 64 * 1024;

/** Lengths vary (16-271 bytes) so records straddle sectors. */
export const probeText = (n: number) => `${n}:`.padEnd(16 + ((n * 131) % 256), "0123456789abcdef");

export const probe = (n: number, last: boolean) => CrashProbe.create({ n, text: probeText(n), last });
