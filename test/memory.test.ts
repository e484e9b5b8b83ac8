import { createMemoryLog, memoryStorage } from "../mod.ts";
import { conformanceSuite } from "../src/testing/index.ts";

conformanceSuite("memory", () => {
  const log = createMemoryLog();
  return Promise.resolve({ open: () => memoryStorage(log), cleanup: () => Promise.resolve() });
});
