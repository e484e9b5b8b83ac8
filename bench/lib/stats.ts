/** Latency recording (HDR histogram) and number formatting shared by the benchmarks. */
import * as hdr from "hdr-histogram-js";
import { cpus } from "node:os";

export type Histogram = hdr.Histogram;

/** A histogram of nanoseconds from 1 ns to 60 s, 3 significant digits. */
export const newHistogram = (): Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: 3 });

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
}

/** Percentiles in microseconds. */
export function percentiles(histogram: Histogram): Percentiles {
  const us = (ns: number) => Math.round(ns / 10) / 100;
  return {
    count: histogram.totalCount,
    p50: us(histogram.getValueAtPercentile(50)),
    p99: us(histogram.getValueAtPercentile(99)),
    p999: us(histogram.getValueAtPercentile(99.9)),
    p9999: us(histogram.getValueAtPercentile(99.99)),
    max: us(histogram.maxValue),
  };
}

export { detectRuntime as runtimeName } from "../../src/adapter/file/index.ts";

/** The processor and its cores, for a report's heading: figures from two machines do not compare. */
export function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? "unknown processor"}, ${cpu.length} cores`;
}

export const formatRate = (perSecond: number): string =>
  perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M/s` : `${(perSecond / 1e3).toFixed(1)} K/s`;

/** Overwrites one terminal line with progress (only when stdout is a terminal). */
export function progress(text: string): void {
  // deno-lint-ignore no-explicit-any
  const stdout = (globalThis as any).process?.stdout;
  if (stdout?.isTTY) stdout.write(`\r\x1b[2K${text}`);
}

export function endProgress(): void {
  // deno-lint-ignore no-explicit-any
  const stdout = (globalThis as any).process?.stdout;
  if (stdout?.isTTY) stdout.write("\r\x1b[2K");
}
