/**
 * WriterIdGen (homeserver/streams/idgen.ts) on its own, against the runner's real PostgreSQL: the
 * persisted-up-to position a writer reports never reaches an ID it has allocated (or is still
 * allocating, inside an `allocateWith` write or a `nextval` batch on the wire) and not finished,
 * and once everything is finished it advances to the highest ID allocated (or heard, or read from
 * the sequence while idle).
 *
 * The only thing between the generator and PostgreSQL is `batchHook`: it lets a `nextval` batch run
 * in PostgreSQL and then holds its result back from the generator (until a test releases it, or for
 * a seeded delay), which is how a batch stays "on the wire" after its IDs exist. Each test uses its own stream, so its sequence starts untouched.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshDatabase } from '../support/env.ts';
import { rng } from '../support/rng.ts';
import { migrate } from '../../homeserver/storage/migrations.ts';
import { WriterIdGen, SEQUENCES } from '../../homeserver/streams/idgen.ts';
import type { StreamName } from '../../homeserver/config/deployment.ts';

let pool: pg.Pool;
/** Called after each `nextval` batch of a generator has run in PostgreSQL, before the generator sees its IDs. */
let batchHook: ((ids: number[]) => Promise<void>) | undefined;

before(async () => {
  pool = new pg.Pool({ connectionString: await freshDatabase('idgen'), max: 20 });
  await migrate(pool);
  const real = pool.query.bind(pool) as (...a: unknown[]) => Promise<pg.QueryResult>;
  (pool as unknown as { query: (...a: unknown[]) => Promise<pg.QueryResult> }).query = async (...a: unknown[]) => {
    const r = await real(...a);
    const q = a[0] as { name?: string };
    if (batchHook && typeof q === 'object' && q.name?.startsWith('nextval_')) {
      await batchHook(r.rows.map((row: { id: string }) => Number(row.id)));
    }
    return r;
  };
});
after(async () => { await pool.end(); });

interface Deferred<T = void> { promise: Promise<T>; resolve(v: T): void }
function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** `n` IDs straight from the stream's sequence, as a write allocating its own IDs takes them. */
async function nextval(stream: StreamName, n = 1): Promise<number[]> {
  const r = await pool.query<{ id: string }>(`SELECT nextval('${SEQUENCES[stream]}') AS id FROM generate_series(1, $1)`, [n]);
  return r.rows.map((x) => Number(x.id)).sort((a, b) => a - b);
}

async function sequenceValue(stream: StreamName): Promise<number> {
  const r = await pool.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${SEQUENCES[stream]}`);
  return r.rows[0]!.is_called ? Number(r.rows[0]!.last_value) : 0;
}

/** A generator whose announced moves are recorded (and checked: strictly increasing, prev = last next). */
function makeGen(stream: StreamName, instance: string, onMove?: (next: number) => void): { gen: WriterIdGen; moves: number[] } {
  const moves: number[] = [];
  const gen = new WriterIdGen(stream, instance, pool, (s, i, prev, next) => {
    assert.equal(s, stream);
    assert.equal(i, instance);
    assert.equal(prev, moves.at(-1) ?? 0, 'prev is the last announced position');
    assert.ok(next > prev, `position only moves forward (${prev} -> ${next})`);
    moves.push(next);
    onMove?.(next);
  });
  return { gen, moves };
}

test('idle: position is the highest ID seen; IDs finished out of order hold it at the lowest unfinished minus one; syncWithSequence claims the sequence', async () => {
  const { gen, moves } = makeGen('presence', 'idle');
  await gen.syncWithSequence();
  assert.equal(gen.position, 0, 'untouched sequence: position 0');
  assert.deepEqual(moves, []);

  const ids = await gen.allocate(3);
  assert.deepEqual(ids, [1, 2, 3]);
  assert.equal(gen.position, 0, 'all three in flight');
  gen.finish([2]);
  assert.equal(gen.position, 0, '1 still in flight');
  gen.finish([1]);
  assert.equal(gen.position, 2, '3 still in flight');
  gen.finish([3]);
  assert.equal(gen.position, 3, 'idle: the highest ID allocated');

  const w = await gen.allocateWith(() => nextval('presence', 2));
  assert.deepEqual(w, [4, 5]);
  assert.equal(gen.position, 3, 'allocateWith IDs are in flight until finished');
  gen.finish(w);
  assert.equal(gen.position, 5);

  await nextval('presence', 5); // another writer's IDs, seen only through the sequence
  await gen.syncWithSequence();
  assert.equal(gen.position, 10, 'idle: the sequence value');
  assert.deepEqual(moves, [2, 3, 5, 10]);

  await gen.flushed();
  const r = await pool.query<{ stream_id: string }>(`SELECT stream_id FROM stream_positions WHERE stream_name = 'presence' AND instance_name = 'idle'`);
  assert.equal(Number(r.rows[0]!.stream_id), 10, 'persisted to stream_positions');
});

test('an allocateWith write held unfinished: position stays below its ID while nextval batches are allocated and finished around it, then reaches the highest ID', async () => {
  const stream: StreamName = 'events';
  const { gen } = makeGen(stream, 'held');
  const start = await gen.allocate(2);
  gen.finish(start);
  const base = gen.position;
  assert.equal(base, 2);

  // 1. The write takes its ID at once, then takes a while to return.
  const took = deferred<number>();
  const release = deferred();
  const write = gen.allocateWith(async () => {
    const [id] = await nextval(stream);
    took.resolve(id!);
    await release.promise;
    return [id!];
  });
  const held = await took.promise;
  assert.equal(held, base + 1);
  /** Until the test finishes it, the position stays below `held`. */
  const check = (what: string): void => {
    assert.ok(gen.position < held, `${what}: position ${gen.position} stays below the held ID ${held}`);
  };

  const others: number[] = [];
  for (let i = 0; i < 5; i++) {
    const ids = await gen.allocate(1 + (i % 3));
    others.push(...ids);
    check(`after allocating ${ids.join(',')}`);
    gen.finish(ids);
    check(`after finishing ${ids.join(',')}`);
  }
  // Several callers at once: one nextval batch for all of them.
  const batch = await Promise.all([gen.allocate(2), gen.allocate(1), gen.allocate(3)]);
  for (const ids of batch) { others.push(...ids); gen.finish(ids); check(`after finishing batched ${ids.join(',')}`); }
  assert.ok(others.every((id) => id > held), 'every other ID was allocated after the held one');

  // A nextval batch is on the wire (its IDs exist in PostgreSQL) when the held write returns.
  const ran = deferred<number[]>();
  const wire = deferred();
  batchHook = async (ids) => { batchHook = undefined; ran.resolve(ids); await wire.promise; };
  const onWire = gen.allocate(2);
  const wireIds = await ran.promise;
  check('batch on the wire');
  release.resolve();
  const w = await write;
  assert.deepEqual(w, [held]);
  assert.equal(gen.position, held - 1, 'write returned, its ID in flight: everything below it is finished');
  gen.finish(w);
  assert.ok(gen.position < wireIds[0]!, `held ID finished, but the batch on the wire still bounds the position (${gen.position} < ${wireIds[0]})`);
  assert.ok(gen.position >= held, 'the held ID itself is now persisted');
  wire.resolve();
  const got = await onWire;
  assert.deepEqual(got, wireIds);
  assert.equal(gen.position, wireIds[0]! - 1);
  gen.finish(got);
  assert.equal(gen.position, Math.max(...others, ...wireIds, held), 'idle: the highest ID allocated and finished');
  assert.equal(gen.position, await sequenceValue(stream));

  // 2. The write has not taken its ID yet while others are allocated and finished: it may take any
  // ID above what was seen when it began, so the position stays there.
  const before = gen.position;
  const go = deferred();
  const write2 = gen.allocateWith(async () => { await go.promise; return nextval(stream); });
  const between: number[] = [];
  for (let i = 0; i < 4; i++) {
    const ids = await gen.allocate(2);
    between.push(...ids);
    gen.finish(ids);
    assert.equal(gen.position, before, `write not yet allocated: position held at ${before}, not ${Math.max(...between)}`);
  }
  go.resolve();
  const w2 = await write2;
  assert.ok(w2[0]! > Math.max(...between));
  assert.equal(gen.position, w2[0]! - 1);
  gen.finish(w2);
  assert.equal(gen.position, w2[0]!);
  await gen.flushed();
});

test('a nextval batch whose IDs exist but have not reached the writer bounds the position while an allocateWith write returns and finishes a higher ID', async () => {
  const stream: StreamName = 'typing';
  const { gen } = makeGen(stream, 'wire');
  gen.finish(await gen.allocate(3));
  const base = gen.position;
  assert.equal(base, 3);

  const ran = deferred<number[]>();
  const wire = deferred();
  batchHook = async (ids) => { batchHook = undefined; ran.resolve(ids); await wire.promise; };
  const onWire = gen.allocate(2);
  const batchIds = await ran.promise;
  assert.deepEqual(batchIds, [base + 1, base + 2]);

  // Another write, started while the batch is on the wire, takes the next ID and finishes.
  const w = await gen.allocateWith(() => nextval(stream));
  assert.deepEqual(w, [base + 3]);
  gen.finish(w);
  assert.equal(gen.position, base, `position stays at ${base}, below the batch's ${batchIds.join(',')} that the writer has not seen`);
  // Repeat with more writes on top.
  for (let i = 0; i < 3; i++) {
    const more = await gen.allocateWith(() => nextval(stream, 2));
    gen.finish(more);
    assert.equal(gen.position, base);
  }

  wire.resolve();
  const got = await onWire;
  assert.deepEqual(got, batchIds);
  assert.equal(gen.position, base, 'batch IDs now in flight');
  gen.finish([got[1]!]);
  assert.equal(gen.position, base);
  gen.finish([got[0]!]);
  assert.equal(gen.position, await sequenceValue(stream), 'all finished: the highest ID allocated');
  await gen.flushed();
});

test('heard: another writer\'s position is claimed only when idle, never while an ID is in flight or being allocated; syncWithSequence does nothing unless idle', async () => {
  const stream: StreamName = 'account_data';
  let a!: WriterIdGen;
  let b!: WriterIdGen;
  // Each hears the other's announcements, as over the replication bus.
  ({ gen: a } = makeGen(stream, 'a', (next) => b.heard(next)));
  const bMade = makeGen(stream, 'b', (next) => a.heard(next));
  b = bMade.gen;

  const aIds = await a.allocate(1);
  assert.deepEqual(aIds, [1]);
  const bIds = await b.allocate(2);
  b.finish(bIds);
  assert.equal(b.position, 3);
  assert.equal(a.position, 0, 'A has 1 in flight: hearing 3 does not move it');
  await nextval(stream, 4); // the sequence moves on
  await a.syncWithSequence();
  assert.equal(a.position, 0, 'syncWithSequence does nothing while A has an ID in flight');
  a.finish(aIds);
  assert.equal(a.position, 3, 'idle: claims what it heard');
  await a.syncWithSequence();
  assert.equal(a.position, 7, 'idle: claims the sequence');

  // A write allocating its own IDs is pending: hearing a higher position does not move A past it.
  const go = deferred();
  const took = deferred<number>();
  const write = a.allocateWith(async () => { await go.promise; const ids = await nextval(stream); took.resolve(ids[0]!); return ids; });
  const bMore = await b.allocate(3); // 8..10
  b.finish(bMore);
  assert.equal(b.position, 10);
  assert.equal(a.position, 7, 'A has a write pending: heard 10 is not claimed');
  await a.syncWithSequence();
  assert.equal(a.position, 7, 'nor the sequence');
  go.resolve();
  const heldId = await took.promise;
  assert.equal(heldId, 11);
  const w = await write;
  assert.equal(a.position, 10, 'write returned, its 11 in flight: position is one below it, no further');
  a.finish(w);
  assert.equal(a.position, 11);

  // Hearing something lower than what A has seen never moves it back.
  a.heard(5);
  assert.equal(a.position, 11);
  await a.flushed();
  await b.flushed();
});

/**
 * Random interleavings (seeded: the operations and their delays come from the seed; PostgreSQL's
 * timing still varies). Two writers of one stream hear each other, as over the replication bus.
 * Each announced position p of a writer must come after every one of that writer's IDs <= p was
 * finished, and the readers' position (the minimum over both writers) after every ID <= it, of
 * either writer, was; at the end, idle, the position is the sequence's value.
 */
async function randomRun(stream: StreamName, seed: number): Promise<void> {
  const random = rng(seed);
  type Op =
    | { kind: 'allocate'; n: number; before: number; hold: number }
    | { kind: 'with'; n: number; before: number; pre: number; post: number; hold: number }
    | { kind: 'other'; n: number; before: number; hold: number }
    | { kind: 'sync'; before: number };
  const ops: Op[] = [];
  for (let i = 0; i < 250; i++) {
    const x = random();
    const before = random() * 3;
    const n = 1 + Math.floor(random() * 3);
    if (x < 0.4) ops.push({ kind: 'allocate', n, before, hold: random() * 6 });
    else if (x < 0.75) ops.push({ kind: 'with', n, before, pre: random() * 4, post: random() * 6, hold: random() * 4 });
    else if (x < 0.9) ops.push({ kind: 'other', n, before, hold: random() * 6 });
    else ops.push({ kind: 'sync', before });
  }
  const wireDelays = Array.from({ length: 64 }, () => random() * 4);
  let wireCount = 0;

  // The log: every finish (of either writer, recorded before the generator learns of it) and every move of `gen`.
  const finishedAt = new Map<number, number>();
  const moves: { at: number; next: number }[] = [];
  const otherMoves: { at: number; next: number }[] = [];
  const safeMoves: { at: number; next: number }[] = [];
  let clock = 0;
  let gen!: WriterIdGen;
  let other!: WriterIdGen;
  const moved = (list: { at: number; next: number }[], next: number): void => {
    list.push({ at: clock, next });
    const safe = Math.min(moves.at(-1)?.next ?? 0, otherMoves.at(-1)?.next ?? 0);
    if (safe > (safeMoves.at(-1)?.next ?? 0)) safeMoves.push({ at: clock, next: safe });
    clock++;
  };
  ({ gen } = makeGen(stream, `r${seed}`, (next) => { moved(moves, next); other.heard(next); }));
  ({ gen: other } = makeGen(stream, `o${seed}`, (next) => { moved(otherMoves, next); gen.heard(next); }));
  const own: number[] = [];
  const theirs: number[] = [];
  const finish = (g: WriterIdGen, ids: number[]): void => {
    for (const id of ids) finishedAt.set(id, clock);
    clock++;
    g.finish(ids);
  };
  /** Records `ids` as `g`'s (in `into`), keeps them in flight for `hold` ms, then finishes them. */
  const hold = async (g: WriterIdGen, ids: number[], into: number[], ms: number): Promise<void> => {
    into.push(...ids);
    await sleep(ms);
    finish(g, ids);
  };

  batchHook = async () => { await sleep(wireDelays[wireCount++ % wireDelays.length]!); };
  try {
    const running: Promise<void>[] = [];
    for (const op of ops) {
      await sleep(op.before);
      running.push((async () => {
        switch (op.kind) {
          case 'allocate':
            await hold(gen, await gen.allocate(op.n), own, op.hold);
            break;
          case 'with':
            await hold(gen, await gen.allocateWith(async () => { await sleep(op.pre); const ids = await nextval(stream, op.n); await sleep(op.post); return ids; }), own, op.hold);
            break;
          case 'other':
            await hold(other, await other.allocate(op.n), theirs, op.hold);
            break;
          case 'sync':
            await gen.syncWithSequence();
            break;
        }
      })());
    }
    await Promise.all(running);
  } finally {
    batchHook = undefined;
  }

  const top = await sequenceValue(stream);
  assert.equal(finishedAt.size, top, `seed ${seed}: every ID 1..${top} was allocated by one of the writers and finished`);
  const check = (who: string, list: { at: number; next: number }[], ids: number[] | undefined): void => {
    const mine = ids && new Set(ids);
    for (const { at, next } of list) {
      for (let id = 1; id <= next; id++) {
        if (mine && !mine.has(id)) continue;
        const f = finishedAt.get(id);
        assert.ok(f !== undefined && f < at, `seed ${seed}: ${who} position ${next} announced (at ${at}) while ID ${id} was unfinished (finished at ${f})`);
      }
    }
  };
  check('writer under test', moves, own);
  check('other writer', otherMoves, theirs);
  check('readers\' (minimum)', safeMoves, undefined);
  assert.ok(gen.position >= Math.max(...own), `seed ${seed}: idle, position ${gen.position} reaches its highest ID ${Math.max(...own)}`);
  await gen.syncWithSequence();
  assert.equal(gen.position, top, `seed ${seed}: idle, position is the sequence value`);
  assert.ok(moves.length > 10, `seed ${seed}: the position moved many times (${moves.length})`);
  await gen.flushed();
  await other.flushed();
}

for (const [stream, seed] of [['to_device', 1], ['receipts', 2], ['device_lists', 3]] as const) {
  test(`random interleavings, seed ${seed}: no writer position passes its own unfinished ID, nor the minimum any unfinished ID`, () => randomRun(stream, seed));
}
