/**
 * A bank account, event sourced: the framework with nothing but its public API.
 * Run: `npm run demo:bank` (Deno, Bun and Node), or `deno run -A examples/bank.ts`, `bun examples/bank.ts`.
 */
import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  createCommandHandler,
  type Decider,
  defineEvent,
  type EventOf,
  eventRegistry,
  inlineProjection,
  openEventStore,
} from "../mod.ts";

export const AccountOpened = defineEvent("AccountOpened", z.object({ owner: z.string().min(1) }));
export const MoneyDeposited = defineEvent("MoneyDeposited", z.object({ cents: z.number().int().positive() }));
export const MoneyWithdrawn = defineEvent("MoneyWithdrawn", z.object({ cents: z.number().int().positive() }));
export const bankEvents = eventRegistry(AccountOpened, MoneyDeposited, MoneyWithdrawn);
export type BankEvent = EventOf<typeof AccountOpened | typeof MoneyDeposited | typeof MoneyWithdrawn>;

export const BankCommand = z.discriminatedUnion("type", [
  z.object({ type: z.literal("open"), account: z.string().min(1), owner: z.string().min(1) }),
  z.object({ type: z.literal("deposit"), account: z.string().min(1), cents: z.number().int().positive() }),
  z.object({ type: z.literal("withdraw"), account: z.string().min(1), cents: z.number().int().positive() }),
]);
export type BankCommand = z.infer<typeof BankCommand>;
export interface Account {
  open: boolean;
  balance: number;
}

/** A business rule broken: decide throws it and nothing is appended. */
export class BankRuleError extends Error {}

export const bank: Decider<BankCommand, Account, BankEvent> = {
  initialState: () => ({ open: false, balance: 0 }),
  decide(command, account) {
    if (command.type === "open") {
      if (account.open) throw new BankRuleError(`account ${command.account} is already open`);
      return [AccountOpened.create({ owner: command.owner })];
    }
    if (!account.open) throw new BankRuleError(`account ${command.account} is not open`);
    if (command.type === "deposit") return [MoneyDeposited.create({ cents: command.cents })];
    if (command.cents > account.balance) throw new BankRuleError(`insufficient funds in ${command.account}`);
    return [MoneyWithdrawn.create({ cents: command.cents })];
  },
  evolve(account, event) {
    switch (event.type) {
      case "AccountOpened":
        return { open: true, balance: 0 };
      case "MoneyDeposited":
        return { ...account, balance: account.balance + event.data.cents };
      case "MoneyWithdrawn":
        return { ...account, balance: account.balance - event.data.cents };
    }
  },
};

/** Total money held by the bank, kept current by an inline projection. */
export const totalDeposits = () =>
  inlineProjection<number, BankEvent>({
    name: "total-deposits",
    initialState: () => 0,
    apply: (total, event) =>
      event.type === "MoneyDeposited"
        ? total + event.data.cents
        : event.type === "MoneyWithdrawn"
        ? total - event.data.cents
        : total,
  });

export async function main(): Promise<void> {
  const total = totalDeposits();
  const store = await openEventStore({ events: bankEvents, projections: [total] });
  const accounts = createCommandHandler({
    store,
    decider: bank,
    command: BankCommand,
    streamId: (command) => `account-${command.account}`,
  });
  await accounts.handle({ type: "open", account: "alice", owner: "Alice" });
  await accounts.handle({ type: "deposit", account: "alice", cents: 10_000 });
  const { state } = await accounts.handle({ type: "withdraw", account: "alice", cents: 2_500 });
  console.log(`alice's balance: ${state.balance} cents; the bank holds ${total.state} cents`);
  await accounts.handle({ type: "withdraw", account: "alice", cents: 1_000_000 }).catch((error) => {
    console.log(`refused: ${error.message}`);
  });
  for (const event of await store.readStream("account-alice")) {
    console.log(`  #${event.streamVersion} ${event.type} ${JSON.stringify(event.data)}`);
  }
  await store.close();
}

// Run as a program, not when the tests import the domain (Node 20 has no import.meta.main).
const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) await main();
