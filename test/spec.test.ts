import { test } from "node:test";
import assert from "node:assert/strict";
import { spec } from "../src/testing/spec.ts";
import { AccountOpened, bank, BankRuleError, main, MoneyDeposited, MoneyWithdrawn } from "../examples/bank.ts";

const opened = AccountOpened.create({ owner: "Ann" });

test("given/when/then: a deposit into an open account", () => {
  spec(bank).given([opened]).when({ type: "deposit", account: "a", cents: 5 }).then([MoneyDeposited.create({ cents: 5 })]);
});

test("given/when/then: withdrawing more than the balance throws", () => {
  spec(bank).given([opened, MoneyDeposited.create({ cents: 5 })])
    .when({ type: "withdraw", account: "a", cents: 6 }).thenThrows(BankRuleError);
  spec(bank).given([]).when({ type: "deposit", account: "a", cents: 6 })
    .thenThrows((error) => /not open/.test(String(error)));
});

test("given/when/then: the state after the decided events", () => {
  spec(bank).given([opened, MoneyDeposited.create({ cents: 9 })])
    .when({ type: "withdraw", account: "a", cents: 4 })
    .thenState((state) => assert.equal(state.balance, 5));
});

test("the spec helper fails when the decided events differ", () => {
  assert.throws(() =>
    spec(bank).given([opened]).when({ type: "deposit", account: "a", cents: 5 })
      .then([MoneyWithdrawn.create({ cents: 5 })]), assert.AssertionError);
  assert.throws(() =>
    spec(bank).given([opened]).when({ type: "deposit", account: "a", cents: 5 }).thenThrows(), assert.AssertionError);
});

test("the bank example runs end to end", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await main();
  } finally {
    console.log = log;
  }
  assert.equal(lines[0], "alice's balance: 7500 cents; the bank holds 7500 cents");
  assert.match(lines[1], /refused: insufficient funds/);
  assert.equal(lines.length, 5);
});
