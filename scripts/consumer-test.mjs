#!/usr/bin/env node
// The package as a user meets it: `npm pack`, install the tarball (and zod) into a fresh
// project, then on each runtime
//   - type-check every TypeScript snippet of README.md and docs/ with tsc, against the
//     installed package, under strict + noUncheckedIndexedAccess with `nodenext` and with
//     `bundler` resolution (bun init's settings), skipLibCheck off;
//   - run README's first app exactly as printed, and README's file-storage app (durable,
//     close, reopen, read back) on Node (compiled by tsc), Deno and Bun;
//   - run the CLI from the install: npx eventfold, bunx --bun eventfold, deno run -A npm:eventfold;
//   - with zod 3 instead of 4 (a separate project): type-check and run the first app;
//   - with the @nats-io packages (a separate project): a replicated app (primary, follower,
//     promotion) type-checked and run on each runtime, against EVENTFOLD_NATS_URL.
// Prints what it ran and each output; exits non-zero on the first failure. `--keep` keeps
// the temporary projects.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const keep = process.argv.includes("--keep");
const work = mkdtempSync(join(tmpdir(), "eventfold-consumer-"));
const devVersion = (name) => JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies[name];
let failures = 0;

function run(label, command, args, { cwd, expect } = {}) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
  const ok = result.status === 0 && (expect === undefined || expect.test(output));
  console.log(`${ok ? "ok  " : "FAIL"} ${label}\n     $ ${[command.split("/").pop(), ...args].join(" ")}`);
  for (const line of output.split("\n").slice(0, ok ? 6 : 40)) if (line) console.log(`     | ${line}`);
  if (!ok) {
    failures++;
    if (expect && result.status === 0) console.log(`     expected output matching ${expect}`);
  }
  return output;
}

/**
 * The ```ts blocks of a markdown file (ignore-tagged ones too: they continue the earlier
 * ones), but for those tagged `service`: they need a database server, and their adapter
 * is tested against one in the suite.
 */
function snippets(file) {
  return [...readFileSync(file, "utf8").matchAll(/```ts( ignore)?( service)?\n([\s\S]*?)```/g)].filter((m) => !m[2]).map((m) => m[3]);
}

/**
 * One module from a document's snippets, in order: each snippet may repeat the imports it
 * needs (so each also reads on its own); the imports are merged at the top.
 */
function moduleOf(blocks) {
  const named = new Map();
  const body = [];
  for (const block of blocks) {
    for (const line of block.split("\n")) {
      const m = /^import \{ (.+) \} from "([^"]+)";/.exec(line);
      if (!m) {
        body.push(line);
        continue;
      }
      const names = named.get(m[2]) ?? new Set();
      for (const name of m[1].split(",").map((n) => n.trim()).filter(Boolean)) names.add(name);
      named.set(m[2], names);
    }
  }
  const imports = [...named].map(([from, names]) => `import { ${[...names].join(", ")} } from "${from}";`);
  return `${imports.join("\n")}\n${body.join("\n")}\nexport {};\n`;
}

const tsconfigs = {
  nodenext: {
    compilerOptions: {
      target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noUncheckedIndexedAccess: true,
      noImplicitOverride: true, skipLibCheck: false, types: ["node"], outDir: "out", rootDir: ".",
    },
    include: ["*.ts"],
  },
  bundler: {
    compilerOptions: {
      lib: ["ESNext"], target: "ESNext", module: "Preserve", moduleDetection: "force", moduleResolution: "bundler",
      allowImportingTsExtensions: true, verbatimModuleSyntax: true, noEmit: true, strict: true, skipLibCheck: false,
      noFallthroughCasesInSwitch: true, noUncheckedIndexedAccess: true, noImplicitOverride: true, types: ["node"],
    },
    include: ["*.ts"],
  },
};

function project(name, zodVersion, extra = []) {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `consumer-${name}`, private: true, type: "module" }, null, 2));
  const output = run(`${name}: install the tarball, zod ${zodVersion}, @types/node${extra.map((spec) => `, ${spec}`).join("")}`, "npm", [
    "install", "--no-audit", "--no-fund", "--prefer-offline", tarball, `zod@${zodVersion}`, `@types/node@${devVersion("@types/node")}`, ...extra,
  ], { cwd: dir });
  if (/eventfold@[^ ]* \((pre|post)?install|eventfold@[^ ]* \(prepare/.test(output)) {
    console.log("FAIL installing eventfold runs a script of its own (users must approve it)");
    failures++;
  }
  return dir;
}

console.log(`consumer test in ${work}`);
const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8" }).replace(/^[^[]*/, ""))[0];
const tarball = join(work, packed.filename);
console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KiB (unpacked ${(packed.unpackedSize / 1024).toFixed(0)} KiB)`);
const shipped = packed.files.map((file) => file.path);
const unwanted = shipped.filter((path) => /^(src|test|bench|docs\/api|build|\.scratch)\//.test(path) || path.endsWith(".ts") && !path.endsWith(".d.ts"));
if (unwanted.length > 0) {
  console.log(`FAIL the tarball ships what users do not need: ${unwanted.slice(0, 5).join(", ")}${unwanted.length > 5 ? ", ..." : ""}`);
  failures++;
}

// The documents' snippets, and README's two apps.
// Node 20 has no node:sqlite: docs/sqlite.md tells its users to add better-sqlite3@12.
const app = project("app", devVersion("zod"), [`better-sqlite3@${devVersion("better-sqlite3")}`]);
const readme = snippets(join(root, "README.md"));
writeFileSync(join(app, "first-app.ts"), readme[0]);
writeFileSync(join(app, "file-app.ts"), moduleOf(readme));
const docs = readdirSync(join(root, "docs"), { recursive: true }).filter((file) => file.endsWith(".md")).map((file) => join("docs", file));
for (const doc of docs) {
  const blocks = snippets(join(root, doc));
  if (blocks.length > 0) writeFileSync(join(app, `doc-${doc.replace(/[/.]/g, "-")}.ts`), moduleOf(blocks));
}
for (const [name, config] of Object.entries(tsconfigs)) {
  writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
  run(`tsc --noEmit, ${name} resolution, strict + noUncheckedIndexedAccess, skipLibCheck off: README and docs snippets`, bin("tsc"), ["-p", `tsconfig.${name}.json`, "--noEmit"], { cwd: app });
}
run("tsc: compile the snippets for Node 20 (which cannot run TypeScript)", bin("tsc"), ["-p", "tsconfig.nodenext.json"], { cwd: app });

const first = /^500$/m;
const readBack = /\[ 700(, 700)* \]/;
run("node: README's first app", process.execPath, ["out/first-app.js"], { cwd: app, expect: first });
run("deno: README's first app", bin("deno"), ["run", "-A", "first-app.ts"], { cwd: app, expect: first });
run("bun: README's first app", bin("bun"), ["run", "first-app.ts"], { cwd: app, expect: first });
for (const [runtime, command, args] of [
  ["node", process.execPath, ["out/file-app.js"]],
  ["deno", bin("deno"), ["run", "-A", "file-app.ts"]],
  ["bun", bin("bun"), ["run", "file-app.ts"]],
]) {
  rmSync(join(app, "data"), { recursive: true, force: true });
  run(`${runtime}: README's file-storage app (durable append, close, reopen, read back)`, command, args, { cwd: app, expect: readBack });
}
// A replay long enough for the read-ahead thread (docs/wal-format.md): its worker module must
// load from the installed package on every runtime, and serve the reads. The reader does not
// wait for a thread still loading (by design: that read is its own), so on a busy machine one
// replay of this size (~150 ms) can end before the thread is up (the likely cause of a CI run's
// failure on Node, which did not recur here): the app replays with a fresh store up to five
// times. A module that cannot load fails them all.
writeFileSync(join(app, "replay-app.ts"), `import { defineEvent, EventStore, eventRegistry } from "eventfold";
import { fileStorage } from "eventfold/adapter/file";
import { z } from "zod";

const Deposited = defineEvent("Deposited", z.object({ cents: z.number().int() }));
const directory = \`replay-\${process.pid}\`;
const writer = new EventStore({ events: eventRegistry(Deposited), storage: fileStorage(directory) });
await writer.open();
for (let i = 0; i < 200; i++) writer.enqueue("account", Array.from({ length: 1000 }, () => Deposited.create({ cents: 1 })));
await writer.durable(200_000);
await writer.close();
for (let attempt = 1; attempt <= 5; attempt++) {
  const storage = fileStorage(directory);
  const reader = new EventStore({ events: eventRegistry(Deposited), storage });
  await reader.open();
  let cents = 0;
  await reader.visitStream("account", 1, (event) => {
    cents += event.data.cents;
  });
  await reader.close();
  const readAhead = storage.readAheadSpans > 0;
  if (readAhead || attempt === 5) {
    console.log(cents, readAhead ? "read ahead" : "not read ahead");
    break;
  }
}
(await import("node:fs")).rmSync(directory, { recursive: true });
`);
run("tsc: compile the replay app for Node 20", bin("tsc"), ["-p", "tsconfig.nodenext.json"], { cwd: app });
for (const [runtime, command, args] of [
  ["node", process.execPath, ["out/replay-app.js"]],
  ["deno", bin("deno"), ["run", "-A", "replay-app.ts"]],
  ["bun", bin("bun"), ["run", "replay-app.ts"]],
]) {
  run(`${runtime}: a replay of 200,000 events, read ahead on a second thread`, command, args, { cwd: app, expect: /^200000 read ahead$/m });
}
for (const doc of readdirSync(join(app, "out")).filter((file) => file.startsWith("doc-"))) {
  run(`node: docs snippet module ${doc}`, process.execPath, [join("out", doc)], { cwd: app });
}
// SQLite storage on the other two runtimes (node:sqlite), from the same doc.
run("deno: docs/sqlite.md's app", bin("deno"), ["run", "-A", "doc-docs-sqlite-md.ts"], { cwd: app });
run("bun: docs/sqlite.md's app", bin("bun"), ["run", "doc-docs-sqlite-md.ts"], { cwd: app });

// The CLI from the install, on each runtime, reading the log the file app left.
const inspected = /records|segments/i;
run("npx eventfold inspect (Node)", "npx", ["--no-install", "eventfold", "inspect", "data"], { cwd: app, expect: inspected });
run("bunx --bun eventfold inspect (Bun)", bin("bun"), ["x", "--bun", "eventfold", "inspect", "data"], { cwd: app, expect: inspected });
run("deno run -A npm:eventfold inspect (Deno)", bin("deno"), ["run", "-A", "npm:eventfold", "inspect", "data"], { cwd: app, expect: inspected });
run("npx eventfold verify (Node)", "npx", ["--no-install", "eventfold", "verify", "data"], { cwd: app });

// Replication over NATS (docs/scale-out.md tells users to add the two @nats-io packages):
// a primary in the replicated mode, a follower, promotion; against EVENTFOLD_NATS_URL (the
// machine's NATS by default: .ci/run makes sure there is one).
const nats = project("nats", devVersion("zod"), [
  `@nats-io/transport-node@${devVersion("@nats-io/transport-node")}`,
  `@nats-io/jetstream@${devVersion("@nats-io/jetstream")}`,
]);
writeFileSync(join(nats, "replicated-app.ts"), `import { defineEvent, EventStore, eventRegistry } from "eventfold";
import { fileStorage } from "eventfold/adapter/file";
import { Follower, natsLog, replicatedStorage } from "eventfold/adapter/nats";
import { z } from "zod";

const Deposited = defineEvent("Deposited", z.object({ cents: z.number().int() }));
const events = eventRegistry(Deposited);
const servers = process.env.EVENTFOLD_NATS_URL ?? "nats://127.0.0.1:4222";
const stream = \`consumer_\${process.pid}_\${Date.now()}\`;
const primary = new EventStore({ events, storage: replicatedStorage(fileStorage(\`data/\${stream}/primary\`), natsLog({ servers, stream })) });
await primary.open();
for (let i = 1; i <= 3; i++) await primary.append("account-1", [Deposited.create({ cents: 100 * i })]);
await primary.close();

const follower = new Follower({ log: natsLog({ servers, stream }), local: fileStorage(\`data/\${stream}/standby\`) });
const standby = new EventStore({ events, storage: follower.storage });
await standby.open();
await follower.start(standby);
await follower.promote();
const { position } = await standby.append("account-1", [Deposited.create({ cents: 400 })], { expectedVersion: 3 });
const cents = (await standby.readStream("account-1")).map((event) => event.data.cents);
console.log(\`replicated \${standby.durability} \${position} \${cents.join(",")}\`);
await standby.close();
const cleanup = natsLog({ servers, stream });
await cleanup.open();
await cleanup.remove();
await cleanup.close();
`);
writeFileSync(join(nats, "tsconfig.json"), JSON.stringify(tsconfigs.nodenext, null, 2));
run("nats: tsc, nodenext, strict: a replicated app (primary, follower, promotion)", bin("tsc"), ["-p", "tsconfig.json"], { cwd: nats });
const replicated = /^replicated replicated 4 100,200,300,400$/m;
run("node: the replicated app", process.execPath, ["out/replicated-app.js"], { cwd: nats, expect: replicated });
run("deno: the replicated app", bin("deno"), ["run", "-A", "replicated-app.ts"], { cwd: nats, expect: replicated });
run("bun: the replicated app", bin("bun"), ["run", "replicated-app.ts"], { cwd: nats, expect: replicated });

// An app still on zod 3.
const zod3 = project("zod3", "^3.25.0");
writeFileSync(join(zod3, "first-app.ts"), readme[0]);
writeFileSync(join(zod3, "tsconfig.json"), JSON.stringify(tsconfigs.nodenext, null, 2));
run("zod 3: tsc, nodenext, strict: README's first app", bin("tsc"), ["-p", "tsconfig.json"], { cwd: zod3 });
run("zod 3: node: README's first app", process.execPath, ["out/first-app.js"], { cwd: zod3, expect: first });

if (!keep) rmSync(work, { recursive: true, force: true });
console.log(failures === 0 ? "consumer test: all passed" : `consumer test: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
