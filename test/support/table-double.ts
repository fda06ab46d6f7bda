import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { TABLES } from '../../lib/definitions';

/**
 * One DynamoDB table in memory, answering the document client's commands through
 * aws-sdk-client-mock: keys, condition expressions, update expressions, ALL_OLD on a failed
 * condition, transactions with their cancellation reasons, sparse secondary indexes, and Query's
 * filter and pages. It lets the ledger adapters' unit tests assert what their writes *mean* (a
 * second claim is refused, a refund stops at zero) instead of copying the adapters' expression strings.
 *
 * Strict, as DynamoDB is: an empty, unparsable or unsupported expression, a placeholder that is
 * undefined or unused, a key that is not exactly the table's, a duplicate key in a batch, or a
 * batch over DynamoDB's size limits is a ValidationException. It understands only the subset the
 * ledger uses (comparisons = < <= > >=, = on booleans, attribute_exists/attribute_not_exists, AND/OR/NOT,
 * parentheses; SET path = value, ADD path number, REMOVE path; ReturnValues NONE, ALL_NEW,
 * UPDATED_NEW; begins_with on the sort key in a Query) and refuses anything else rather
 * than guess. Held to DynamoDB Local by running the same ledger contract against both
 * (test/support/ledger-contract.ts: test/unit/adapters/dynamodb-ledger-contract.test.ts here,
 * test/integration/ledger-contract.test.ts there).
 *
 * TTL is not applied: DynamoDB deletes expired items lazily (within days) and returns them until
 * then, so no adapter may rely on an item being gone at `expiresAt`.
 */
type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

const LEDGER = TABLES.ledger;

export class ValidationException extends Error {
  override readonly name = 'ValidationException';
}

function invalid(message: string): never {
  throw new ValidationException(message);
}

/** The placeholders one request used, to refuse unused ones as DynamoDB does. */
class Placeholders {
  readonly usedNames = new Set<string>();
  readonly usedValues = new Set<string>();
  constructor(
    readonly names: Names,
    readonly values: Values,
  ) {}

  name(token: string): string {
    if (!token.startsWith('#')) return token;
    const name = this.names?.[token];
    if (name === undefined) invalid(`An expression attribute name used in the document path is not defined; attribute name: ${token}`);
    this.usedNames.add(token);
    return name;
  }

  value(token: string): unknown {
    if (!this.values || !(token in this.values)) invalid(`An expression attribute value used in expression is not defined; attribute value: ${token}`);
    this.usedValues.add(token);
    return this.values[token];
  }

  /** DynamoDB refuses a request that defines a placeholder none of its expressions uses. */
  checkAllUsed(): void {
    const unusedNames = Object.keys(this.names ?? {}).filter((n) => !this.usedNames.has(n));
    if (unusedNames.length) invalid(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`);
    const unusedValues = Object.keys(this.values ?? {}).filter((v) => !this.usedValues.has(v));
    if (unusedValues.length) invalid(`Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`);
  }
}

const TOKEN = /\s*(attribute_not_exists|attribute_exists|AND|OR|NOT|<=|>=|=|<|>|\(|\)|,|[#:]?[A-Za-z_][A-Za-z0-9_]*)/y;

function tokenize(expression: string, what: string): string[] {
  if (!expression.trim()) invalid(`Invalid ${what}: The expression can not be empty;`);
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expression.length) {
    if (!expression.slice(TOKEN.lastIndex).trim()) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(expression);
    if (!match) invalid(`Invalid ${what}: Syntax error; token: "${expression.slice(at, at + 10)}"`);
    tokens.push(match[1]);
  }
  return tokens;
}

type Operand = { kind: 'path'; name: string } | { kind: 'value'; value: unknown };

/** A condition expression (the ledger's subset), evaluated against `item` (undefined: no item). */
function evaluateCondition(expression: string, item: Item | undefined, p: Placeholders): boolean {
  const tokens = tokenize(expression, 'ConditionExpression');
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const token = tokens[i++];
    if (token === undefined || (expected && token !== expected)) invalid(`Invalid ConditionExpression: Syntax error; expected ${expected ?? 'a token'} in "${expression}"`);
    return token;
  };
  const operand = (): Operand => {
    const token = take();
    if (token.startsWith(':')) return { kind: 'value', value: p.value(token) };
    if (/^[#A-Za-z_]/.test(token) && !['AND', 'OR', 'NOT'].includes(token)) return { kind: 'path', name: p.name(token) };
    return invalid(`Invalid ConditionExpression: Syntax error; token: "${token}"`);
  };
  const valueOf = (o: Operand) => (o.kind === 'value' ? o.value : item?.[o.name]);
  const compare = (op: string, a: unknown, b: unknown): boolean => {
    // A missing attribute, or operands of different types, make every comparison false; booleans compare only for equality.
    if (op === '=' && typeof a === 'boolean') return a === b;
    if (a === undefined || b === undefined || typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
    const [x, y] = [a as number | string, b as number | string];
    return op === '=' ? x === y : op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
  };
  const primary = (): boolean => {
    const token = peek();
    if (token === '(') {
      take('(');
      const inner = or();
      take(')');
      return inner;
    }
    if (token === 'attribute_exists' || token === 'attribute_not_exists') {
      take();
      take('(');
      const path = operand();
      if (path.kind !== 'path') invalid(`Invalid ConditionExpression: ${token} takes a document path`);
      take(')');
      const present = item !== undefined && item[path.name] !== undefined;
      return token === 'attribute_exists' ? present : !present;
    }
    const left = operand();
    const op = take();
    if (!['=', '<', '<=', '>', '>='].includes(op)) invalid(`Invalid ConditionExpression: Syntax error; token: "${op}"`);
    return compare(op, valueOf(left), valueOf(operand()));
  };
  const not = (): boolean => {
    if (peek() === 'NOT') {
      take();
      return !not();
    }
    return primary();
  };
  const and = (): boolean => {
    let result = not();
    while (peek() === 'AND') {
      take();
      result = not() && result;
    }
    return result;
  };
  const or = (): boolean => {
    let result = and();
    while (peek() === 'OR') {
      take();
      result = and() || result;
    }
    return result;
  };
  const result = or();
  if (i !== tokens.length) invalid(`Invalid ConditionExpression: Syntax error; token: "${tokens[i]}"`);
  return result;
}

/** Applies an update expression (SET path = value, ADD path number, REMOVE path) to a copy of `item`; `touched` gets the paths it names. */
function applyUpdate(expression: string, item: Item, p: Placeholders, keyNames: readonly string[], touched = new Set<string>()): Item {
  const tokens = tokenize(expression, 'UpdateExpression');
  const next: Item = { ...item };
  const seenClauses = new Set<string>();
  const path = (token: string) => {
    if (token.startsWith(':') || !/^[#A-Za-z_]/.test(token)) invalid(`Invalid UpdateExpression: Syntax error; token: "${token}"`);
    const name = p.name(token);
    if (keyNames.includes(name)) invalid(`One or more parameter values were invalid: Cannot update attribute ${name}. This attribute is part of the key`);
    if (touched.has(name)) invalid(`Invalid UpdateExpression: Two document paths overlap with each other; ${name}`);
    touched.add(name);
    return name;
  };
  const value = (token: string | undefined) => {
    if (!token?.startsWith(':')) invalid(`Invalid UpdateExpression: Syntax error; token: "${token}"`);
    return p.value(token);
  };
  let i = 0;
  while (i < tokens.length) {
    const clause = tokens[i++];
    if (!['SET', 'ADD', 'REMOVE'].includes(clause)) invalid(`Invalid UpdateExpression: Syntax error; token: "${clause}"`);
    if (seenClauses.has(clause)) invalid(`Invalid UpdateExpression: The "${clause}" section can only be used once in an update expression;`);
    seenClauses.add(clause);
    do {
      if (i > 0 && tokens[i] === ',') i++;
      const name = path(tokens[i++] ?? invalid('Invalid UpdateExpression: Syntax error; unexpected end'));
      if (clause === 'SET') {
        if (tokens[i++] !== '=') invalid('Invalid UpdateExpression: Syntax error; SET needs "="');
        next[name] = value(tokens[i++]);
      } else if (clause === 'ADD') {
        const amount = value(tokens[i++]);
        const current = next[name] ?? 0;
        if (typeof amount !== 'number' || typeof current !== 'number') invalid('Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD');
        next[name] = current + amount;
      } else {
        delete next[name];
      }
    } while (tokens[i] === ',');
  }
  return next;
}

export interface CancellationReason {
  Code: string;
  Message?: string;
}

/** The ledger table (pk/sk, its two sparse GSIs) held in memory; `wire(mock)` makes a mocked document client answer from it. */
export class TableDouble {
  private readonly items = new Map<string, Item>();

  /**
   * @param queryPageItems how many items one Query page reads at most before its filter, standing
   * in for DynamoDB's 1 MB page (so a test can make a few records span pages); Limit lowers it.
   */
  constructor(
    readonly tableName = 'ledger',
    private readonly queryPageItems = Infinity,
  ) {}

  /** The item stored under `key`, as GetItem would return it. */
  stored(key: Item): Item | undefined {
    const item = this.items.get(this.keyOf(key, true));
    return item && structuredClone(item);
  }

  /** Every item, for a test to look for ones it did not expect. */
  all(): Item[] {
    return [...this.items.values()].map((item) => structuredClone(item));
  }

  /** Answers every DynamoDB command the ledger adapters send on `mock`, from this table. */
  wire(mock: AwsClientStub<DynamoDBDocumentClient>): void {
    mock.on(GetCommand).callsFake(async (input) => this.get(input));
    mock.on(PutCommand).callsFake(async (input) => this.put(input));
    mock.on(UpdateCommand).callsFake(async (input) => this.update(input));
    mock.on(DeleteCommand).callsFake(async (input) => this.delete(input));
    mock.on(BatchGetCommand).callsFake(async (input) => this.batchGet(input));
    mock.on(BatchWriteCommand).callsFake(async (input) => this.batchWrite(input));
    mock.on(TransactWriteCommand).callsFake(async (input) => this.transactWrite(input));
    mock.on(QueryCommand).callsFake(async (input) => this.query(input));
  }

  private checkTable(name: string | undefined): void {
    if (name !== this.tableName) invalid(`Requested resource not found: Table: ${name} not found`);
  }

  /** The storage key of `key`; with `exact`, `key` must hold the table's key attributes and nothing else. */
  private keyOf(key: Item | undefined, exact: boolean): string {
    const names: string[] = [LEDGER.partitionKey.name, LEDGER.sortKey.name];
    if (!key) return invalid('One or more parameter values were invalid: Missing the key');
    for (const name of names) {
      const value = key[name];
      if (typeof value !== 'string' || value === '') invalid(`One or more parameter values were invalid: the key attribute ${name} must be a non-empty string`);
    }
    if (exact && Object.keys(key).some((name) => !names.includes(name))) invalid('The provided key element does not match the schema');
    return JSON.stringify(names.map((name) => key[name]));
  }

  /** Evaluates an optional condition; true when there is none. */
  private holds(condition: string | undefined, old: Item | undefined, p: Placeholders): boolean {
    return condition === undefined ? true : evaluateCondition(condition, old, p);
  }

  private conditionFailed(old: Item | undefined, returnValues: string | undefined): never {
    if (returnValues !== undefined && returnValues !== 'ALL_OLD' && returnValues !== 'NONE') invalid(`1 validation error: ReturnValuesOnConditionCheckFailure '${returnValues}' is not one of [ALL_OLD, NONE]`);
    throw new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      ...(returnValues === 'ALL_OLD' && old ? { Item: marshall(old) } : {}),
    });
  }

  private checkReturnValues(returnValues: string | undefined): void {
    if (returnValues !== undefined && returnValues !== 'ALL_OLD' && returnValues !== 'NONE') invalid(`1 validation error: ReturnValuesOnConditionCheckFailure '${returnValues}' is not one of [ALL_OLD, NONE]`);
  }

  private get(input: GetCommand['input']) {
    this.checkTable(input.TableName);
    return { Item: this.stored(input.Key as Item) };
  }

  /** Checks a put (condition first) and returns the item it would write, without writing it. */
  private planPut(input: { TableName?: string; Item?: Item; ConditionExpression?: string; ExpressionAttributeNames?: Names; ExpressionAttributeValues?: Values }) {
    this.checkTable(input.TableName);
    const item = input.Item as Item;
    const key = this.keyOf(item, false);
    const old = this.items.get(key);
    const p = new Placeholders(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const ok = this.holds(input.ConditionExpression, old, p);
    p.checkAllUsed();
    return { key, old, ok, next: structuredClone(item) };
  }

  private put(input: PutCommand['input']) {
    this.checkReturnValues(input.ReturnValuesOnConditionCheckFailure);
    const { key, old, ok, next } = this.planPut(input as never);
    if (!ok) this.conditionFailed(old, input.ReturnValuesOnConditionCheckFailure);
    this.items.set(key, next);
    return {};
  }

  /** Checks an update (condition first) and returns the item it would write, without writing it. */
  private planUpdate(input: { TableName?: string; Key?: Item; UpdateExpression?: string; ConditionExpression?: string; ExpressionAttributeNames?: Names; ExpressionAttributeValues?: Values }) {
    this.checkTable(input.TableName);
    const key = this.keyOf(input.Key, true);
    const old = this.items.get(key);
    const p = new Placeholders(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const ok = this.holds(input.ConditionExpression, old, p);
    if (input.UpdateExpression === undefined) invalid('UpdateExpression is required');
    const touched = new Set<string>();
    const next = applyUpdate(input.UpdateExpression, old ?? { ...(input.Key as Item) }, p, [LEDGER.partitionKey.name, LEDGER.sortKey.name], touched);
    p.checkAllUsed();
    return { key, old, ok, next, touched };
  }

  /** ReturnValues NONE, ALL_NEW or UPDATED_NEW (the new values of the attributes the update named); the *_OLD ones are refused as unsupported. */
  private update(input: UpdateCommand['input']) {
    this.checkReturnValues(input.ReturnValuesOnConditionCheckFailure);
    const returnValues = input.ReturnValues ?? 'NONE';
    if (!['NONE', 'ALL_NEW', 'UPDATED_NEW'].includes(returnValues)) invalid(`This test double supports ReturnValues NONE, ALL_NEW and UPDATED_NEW only, not ${returnValues}`);
    const { key, old, ok, next, touched } = this.planUpdate(input as never);
    if (!ok) this.conditionFailed(old, input.ReturnValuesOnConditionCheckFailure);
    this.items.set(key, next);
    if (returnValues === 'NONE') return {};
    const names = returnValues === 'ALL_NEW' ? Object.keys(next) : [...touched].filter((name) => name in next);
    return { Attributes: structuredClone(Object.fromEntries(names.map((name) => [name, next[name]]))) };
  }

  private delete(input: DeleteCommand['input']) {
    this.checkTable(input.TableName);
    this.checkReturnValues(input.ReturnValuesOnConditionCheckFailure);
    const key = this.keyOf(input.Key as Item, true);
    const old = this.items.get(key);
    const p = new Placeholders(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const ok = this.holds(input.ConditionExpression, old, p);
    p.checkAllUsed();
    if (!ok) this.conditionFailed(old, input.ReturnValuesOnConditionCheckFailure);
    this.items.delete(key);
    return {};
  }

  private batchGet(input: BatchGetCommand['input']) {
    const tables = Object.keys(input.RequestItems ?? {});
    if (tables.length !== 1) invalid('This test double serves one table per BatchGetItem');
    this.checkTable(tables[0]);
    const request = input.RequestItems![this.tableName];
    const keys = (request.Keys ?? []) as Item[];
    if (keys.length === 0 || keys.length > 100) invalid('Too many items requested for the BatchGetItem call (1 to 100 keys)');
    const storageKeys = keys.map((key) => this.keyOf(key, true));
    if (new Set(storageKeys).size !== storageKeys.length) invalid('Provided list of item keys contains duplicates');
    const projection = request.ProjectionExpression === undefined ? undefined : tokenize(request.ProjectionExpression, 'ProjectionExpression').filter((t) => t !== ',');
    const p = new Placeholders(request.ExpressionAttributeNames, undefined);
    const names = projection?.map((token) => p.name(token));
    p.checkAllUsed();
    const found = storageKeys.flatMap((key) => {
      const item = this.items.get(key);
      if (!item) return [];
      return [names ? Object.fromEntries(names.filter((n) => n in item).map((n) => [n, structuredClone(item[n])])) : structuredClone(item)];
    });
    return { Responses: { [this.tableName]: found }, UnprocessedKeys: {} };
  }

  private batchWrite(input: BatchWriteCommand['input']) {
    const tables = Object.keys(input.RequestItems ?? {});
    if (tables.length !== 1) invalid('This test double serves one table per BatchWriteItem');
    this.checkTable(tables[0]);
    const requests = input.RequestItems![this.tableName];
    if (requests.length === 0 || requests.length > 25) invalid('1 validation error: RequestItems member must have length between 1 and 25');
    const writes = requests.map((request) => {
      if (request.PutRequest) return { key: this.keyOf(request.PutRequest.Item as Item, false), item: structuredClone(request.PutRequest.Item as Item) };
      if (request.DeleteRequest) return { key: this.keyOf(request.DeleteRequest.Key as Item, true), item: undefined };
      return invalid('A write request has neither PutRequest nor DeleteRequest');
    });
    if (new Set(writes.map((w) => w.key)).size !== writes.length) invalid('Provided list of item keys contains duplicates');
    for (const write of writes) {
      if (write.item) this.items.set(write.key, write.item);
      else this.items.delete(write.key);
    }
    return { UnprocessedItems: {} };
  }

  /** All or nothing: every condition is checked before anything is written; a failed one cancels the lot with a reason per item. */
  private transactWrite(input: TransactWriteCommand['input']) {
    const actions = input.TransactItems ?? [];
    if (actions.length === 0 || actions.length > 100) invalid('1 validation error: TransactItems member must have length between 1 and 100');
    const plans = actions.map((action) => {
      if (Object.values(action).filter((a) => a !== undefined).length !== 1) invalid('Each TransactWriteItem must hold exactly one action');
      if (action.Update) return this.planUpdate(action.Update as never);
      if (action.Put) return this.planPut(action.Put as never);
      return invalid('This test double supports Update and Put actions only in TransactWriteItems');
    });
    if (new Set(plans.map((plan) => plan.key)).size !== plans.length) invalid('Transaction request cannot include multiple operations on one item');
    if (plans.some((plan) => !plan.ok)) {
      const reasons: CancellationReason[] = plans.map((plan) => (plan.ok ? { Code: 'None' } : { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }));
      throw new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    for (const plan of plans) this.items.set(plan.key, plan.next);
    return {};
  }

  /**
   * Query on the table's partition key or one of its GSIs: `<partition key> = :value`, optionally
   * `AND begins_with(<sort key>, :prefix)`, sorted
   * by the sort key. As DynamoDB: a page reads up to Limit items (or `queryPageItems`), then drops
   * those the FilterExpression refuses, and returns LastEvaluatedKey (the item's table and index
   * keys) when more may follow; ExclusiveStartKey resumes after that item.
   */
  private query(input: QueryCommand['input']) {
    this.checkTable(input.TableName);
    const index = input.IndexName === undefined ? LEDGER : LEDGER.globalSecondaryIndexes.find((gsi) => gsi.indexName === input.IndexName);
    if (!index) return invalid(`The table does not have the specified index: ${input.IndexName}`);
    const p = new Placeholders(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const tokens = tokenize(input.KeyConditionExpression ?? '', 'KeyConditionExpression');
    const prefixed = tokens.length === 10 && tokens.slice(3, 6).join(' ') === 'AND begins_with (' && tokens[7] === ',' && tokens[9] === ')';
    if ((tokens.length !== 3 && !prefixed) || tokens[1] !== '=') invalid('This test double supports only "<partition key> = :value [AND begins_with(<sort key>, :prefix)]" key conditions');
    const attribute = p.name(tokens[0]);
    if (attribute !== index.partitionKey.name) invalid(`Query condition missed key schema element: ${index.partitionKey.name}`);
    const wanted = p.value(tokens[2]);
    const sortKey = index.sortKey!.name;
    if (prefixed && p.name(tokens[6]) !== sortKey) invalid(`Query key condition not supported: begins_with takes the sort key ${sortKey}`);
    const prefix = prefixed ? p.value(tokens[8]) : '';
    if (typeof prefix !== 'string') invalid('Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with');
    const keyNames: string[] = [...new Set([LEDGER.partitionKey.name, LEDGER.sortKey.name, attribute, sortKey])];
    const filter = input.FilterExpression;
    if (filter !== undefined) {
      // Parsed once even when nothing matches, so a bad filter or an unused placeholder is refused regardless.
      evaluateCondition(filter, undefined, p);
      const used = tokenize(filter, 'FilterExpression').map((token) => (token.startsWith('#') ? p.name(token) : token));
      const keyInFilter = used.find((token) => keyNames.slice(2).includes(token));
      if (keyInFilter) invalid(`Filter Expression can only contain non-primary key attributes: Primary key attribute: ${keyInFilter}`);
    }
    p.checkAllUsed();
    const keyOf = (item: Item) => JSON.stringify(keyNames.map((name) => item[name]));
    // A GSI holds only the items that carry both of its key attributes (sparse).
    const matches = [...this.items.values()]
      .filter((item) => item[attribute] === wanted && item[sortKey] !== undefined && String(item[sortKey]).startsWith(prefix))
      .sort((a, b) => (String(a[sortKey]) < String(b[sortKey]) ? -1 : String(a[sortKey]) > String(b[sortKey]) ? 1 : 0));
    const start = input.ExclusiveStartKey ? matches.findIndex((item) => keyOf(item) === keyOf(input.ExclusiveStartKey as Item)) + 1 : 0;
    if (input.ExclusiveStartKey && start === 0) invalid('The provided starting key is invalid');
    const size = Math.min(input.Limit ?? Infinity, this.queryPageItems);
    const page = matches.slice(start, start + size);
    const last = page.at(-1);
    // DynamoDB returns LastEvaluatedKey whenever a page is full, even when nothing follows it.
    const more = last !== undefined && (page.length === size || start + page.length < matches.length);
    const items = page.filter((item) => filter === undefined || evaluateCondition(filter, item, p)).map((item) => structuredClone(item));
    return {
      Items: items,
      Count: items.length,
      ...(more ? { LastEvaluatedKey: Object.fromEntries(keyNames.map((name) => [name, last[name]])) } : {}),
    };
  }
}
