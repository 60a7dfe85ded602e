import test from 'node:test';
import assert from 'node:assert/strict';
import {
  VOCAB, VOCAB_SIZE, encode, decode, sequenceLength, predictedLength, targetPositions,
  lossFloor, floorBitsPerProblem, perPositionFloor, LN10, LN9, LOG2_10, LOG2_9, LOG2_14,
  AdditionTask, XorShift128, allCarryCases, parseProblem, encodeProblem, sequenceString,
  answerString,
  EDGE_DIGITS, streamFloorBitsPerProblem,
  type IntRng,
} from '../../src/data/addition.js';

test('vocabulary: 14 symbols with the documented ids', () => {
  assert.equal(VOCAB.length, 14);
  assert.equal(VOCAB_SIZE, 14);
  assert.deepEqual([...encode('0123456789se+=')], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assert.equal(decode([10, 1, 12, 2, 13, 0, 3, 11]), 's1+2=03e');
  assert.throws(() => encode('1x'), /cannot encode "x"/);
  assert.throws(() => decode([14]), /token id 14/);
});

test('the literal constants match the logarithms they stand for', () => {
  assert.equal(LN10, Math.log(10));
  assert.equal(LN9, Math.log(9));
  assert.ok(Math.abs(LOG2_10 - Math.log2(10)) < 1e-15);
  assert.ok(Math.abs(LOG2_9 - Math.log2(9)) < 1e-15);
  assert.ok(Math.abs(LOG2_14 - Math.log2(14)) < 1e-15);
});

test('sequence layout: s a + b = c e, 3k+5 tokens, msf answer zero-padded to k+1 digits', () => {
  const k = 8;
  assert.equal(sequenceLength(k), 29);
  assert.equal(predictedLength(k), 28);
  const p = { a: 12345678, b: 87654321 };
  assert.equal(sequenceString(p, k), 's12345678+87654321=099999999e');
  assert.equal(sequenceString({ a: 1, b: 2 }, 4), 's0001+0002=00003e');
  const ids = encodeProblem(p, k);
  assert.equal(ids.length, 29);
  assert.equal(decode(ids), 's12345678+87654321=099999999e');

  const task = new AdditionTask({ digits: 4, seed: 3 });
  const batch = task.trainBatch(5);
  assert.equal(batch.T, 16);
  assert.equal(batch.inputs.length, 5 * 16);
  assert.equal(batch.targets.length, 5 * 16);
  for (let i = 0; i < 5; i++) {
    const inp = decode(batch.inputs.subarray(i * 16, (i + 1) * 16));
    const tgt = decode(batch.targets.subarray(i * 16, (i + 1) * 16));
    assert.equal(inp.slice(1), tgt.slice(0, -1), 'targets are the inputs shifted by one');
    const full = inp + tgt.at(-1);
    const m = /^s(\d{4})\+(\d{4})=(\d{5})e$/.exec(full);
    assert.ok(m, full);
    assert.equal(Number(m[1]) + Number(m[2]), Number(m[3]));
  }
});

test('target positions name each predicted token and its kind', () => {
  const pos = targetPositions(2);
  assert.deepEqual(pos.map((p) => p.target), ['a1', 'a2', '+', 'b1', 'b2', '=', 'c1', 'c2', 'c3', 'e']);
  assert.deepEqual(pos.map((p) => p.kind), ['operand', 'operand', 'operator', 'operand', 'operand', 'operator', 'answer', 'answer', 'answer', 'end']);
  assert.deepEqual(pos.map((p) => p.position), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('loss floors: k = 8 values 16·ln10/28 and the nonzero variant, to 4 decimals', () => {
  assert.ok(Math.abs(lossFloor(8, 'uniform') - 1.3157) < 1e-4); // 1.31576: quoted truncated to 4 decimals
  assert.equal(lossFloor(8, 'nonzero').toFixed(4), '1.3082');
  assert.equal(floorBitsPerProblem(8, 'uniform').toFixed(2), '53.15');
  assert.ok(Math.abs(lossFloor(8) - (16 * Math.log(10)) / 28) < 1e-15);
  assert.ok(Math.abs(lossFloor(4, 'uniform') - (8 * Math.log(10)) / 16) < 1e-15);
  assert.ok(Math.abs(floorBitsPerProblem(5, 'nonzero') - (8 * Math.log2(10) + 2 * Math.log2(9))) < 1e-12);
});

test('per-position floor: ln10 at operand digits, ln9 at a nonzero first digit, 0 elsewhere; it averages to the floor', () => {
  for (const mode of ['uniform', 'nonzero'] as const) {
    const f = perPositionFloor(3, mode);
    assert.equal(f.length, 13);
    const expected = [LN10, LN10, LN10, 0, LN10, LN10, LN10, 0, 0, 0, 0, 0, 0];
    if (mode === 'nonzero') expected[0] = expected[4] = LN9;
    assert.deepEqual([...f], expected);
    const mean = f.reduce((s, x) => s + x, 0) / f.length;
    assert.ok(Math.abs(mean - lossFloor(3, mode)) < 1e-15);
  }
});

test('held-out set: 10,000 distinct problems, fixed across training seeds; at k = 8 a drawn held-out problem is rejected and redrawn', () => {
  const task = new AdditionTask({ digits: 8, seed: 1 });
  assert.equal(task.heldOut.length, 10_000);
  const keys = new Set(task.heldOut.map((p) => `${p.a}+${p.b}`));
  assert.equal(keys.size, 10_000);
  for (const p of task.heldOut.slice(0, 100)) assert.ok(task.isHeldOut(p.a, p.b));
  const other = new AdditionTask({ digits: 8, seed: 2 });
  assert.deepEqual(other.heldOut.slice(0, 50), task.heldOut.slice(0, 50));

  // Every held-out problem is recognised as reserved (the nested (a, b) key: a·10^8 + b would overflow 2^53).
  for (const p of task.heldOut) assert.ok(task.isHeldOut(p.a, p.b) && task.isReserved(p.a, p.b));
  // Drawing training problems at k = 8 hits the held-out set with probability ~1e-12 a draw, so a loop of draws
  // would pass whatever nextProblem did. Instead, script the generator to produce a held-out problem first:
  // it must be rejected, counted, and redrawn, and the redraw returned.
  const target = task.heldOut[1234]!;
  const digitsOf = (x: number) => String(x).padStart(8, '0').split('').map(Number);
  const script = [...digitsOf(target.a), ...digitsOf(target.b), ...digitsOf(31415926), ...digitsOf(27182818)];
  const scripted = { int: (n: number) => { const v = script.shift(); assert.ok(v !== undefined && v < n, 'scripted draw'); return v; } };
  const plain = new AdditionTask({ digits: 8, seed: 1, edgeMix: 0 }); // no edge-mix draw in the script
  assert.ok(!plain.isReserved(31415926, 27182818), 'the redraw is an ordinary training problem');
  const before = plain.rejected;
  assert.deepEqual(plain.nextProblem(scripted), { a: 31415926, b: 27182818 });
  assert.equal(plain.rejected, before + 1, 'the held-out draw was rejected');
  assert.equal(script.length, 0);
});

test('held-out collisions are rejected: with k = 2 the held-out tenth is hit often and never returned', () => {
  const task = new AdditionTask({ digits: 2, seed: 5 });
  assert.equal(task.heldOut.length, 1000); // capped at a tenth of the 10^4 problems
  const keys = new Set(task.heldOut.map((p) => `${p.a}+${p.b}`));
  for (let i = 0; i < 20_000; i++) {
    const p = task.nextProblem();
    assert.ok(!keys.has(`${p.a}+${p.b}`));
    assert.ok(!task.carryCases.some((c) => c.a === p.a && c.b === p.b));
  }
  assert.ok(task.rejected > 1000, `rejected ${task.rejected}`);
  const batch = task.heldOutBatch(10, 3);
  assert.equal(decode(batch.inputs.subarray(0, 1)), 's');
  assert.equal(batch.targets.length, 3 * 10);
});

test('determinism: the same seed gives the same batches, another seed different ones', () => {
  const a = new AdditionTask({ digits: 5, seed: 42 });
  const b = new AdditionTask({ digits: 5, seed: 42 });
  const c = new AdditionTask({ digits: 5, seed: 43 });
  for (let i = 0; i < 3; i++) {
    const x = a.trainBatch(64);
    const y = b.trainBatch(64);
    const z = c.trainBatch(64);
    assert.deepEqual(x.inputs, y.inputs);
    assert.deepEqual(x.targets, y.targets);
    assert.notDeepEqual(x.inputs, z.inputs);
  }
  // A pinned draw: the data stream is part of what a run's bits depend on.
  const r = new XorShift128(123);
  const first = [r.int(10), r.int(10), r.int(10), r.int(10), r.int(10), r.int(10)];
  const r2 = new XorShift128(123);
  assert.deepEqual([r2.int(10), r2.int(10), r2.int(10), r2.int(10), r2.int(10), r2.int(10)], first);
});

test('an external rng (anything with int(n)) drives the batch', () => {
  let calls = 0;
  const rng: IntRng = { int: (n) => { calls++; return (calls * 7) % n; } };
  const task = new AdditionTask({ digits: 3, seed: 0 });
  const b1 = task.trainBatch(4, rng);
  assert.equal(calls, 4 * 6);
  calls = 0;
  const b2 = task.trainBatch(4, rng);
  assert.deepEqual(b1.inputs, b2.inputs);
});

test('XorShift128.int is uniform enough and in range', () => {
  const r = new XorShift128(7);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[r.int(10)]++;
  for (const c of counts) assert.ok(c > 9_500 && c < 10_500, String(counts));
  for (let i = 0; i < 1000; i++) {
    const x = r.int(9);
    assert.ok(x >= 0 && x < 9 && Number.isInteger(x));
  }
  assert.throws(() => r.int(0), /int\(n\)/);
});

test('nonzero first digit: operands never start with 0', () => {
  const task = new AdditionTask({ digits: 4, seed: 9, firstDigit: 'nonzero' });
  for (let i = 0; i < 5000; i++) {
    const p = task.nextProblem();
    assert.ok(p.a >= 1000 && p.b >= 1000);
  }
  for (const p of task.heldOut) assert.ok(p.a >= 1000 && p.b >= 1000);
});

test('lsf writes the answer least-significant digit first', () => {
  const p = { a: 9999, b: 1 };
  assert.equal(answerString(p, 4, 'msf'), '10000');
  assert.equal(answerString(p, 4, 'lsf'), '00001');
  assert.equal(sequenceString({ a: 1234, b: 1 }, 4, 'lsf'), 's1234+0001=53210e');
  const task = new AdditionTask({ digits: 4, seed: 1, answerOrder: 'lsf' });
  const batch = task.trainBatch(20);
  for (let i = 0; i < 20; i++) {
    const tgt = decode(batch.targets.subarray(i * 16, (i + 1) * 16));
    const m = /^(\d{4})\+(\d{4})=(\d{5})e$/.exec(tgt)!;
    assert.equal(Number(m[1]) + Number(m[2]), Number([...m[3]!].reverse().join('')));
  }
});

test('carry cases: the four classic ones, and more, all distinct', () => {
  const cases = allCarryCases(8);
  const byProblem = new Map(cases.map((c) => [c.problem, c.expected]));
  assert.equal(byProblem.get('99999999+00000001='), '100000000');
  assert.equal(byProblem.get('99999999+99999999='), '199999998');
  assert.equal(byProblem.get('00000000+00000000='), '000000000');
  assert.equal(byProblem.get('50000000+50000000='), '100000000');
  assert.ok(cases.length >= 8);
  assert.equal(new Set(cases.map((c) => c.problem)).size, cases.length);
  for (const c of cases) {
    assert.equal(Number(c.expected), c.a + c.b, c.name);
    assert.equal(c.expected.length, 9);
  }
  assert.equal(allCarryCases(4, 'lsf').find((c) => c.problem === '9999+0001=')!.expected, '00001');
  for (let k = 1; k <= 15; k++) {
    const cs = allCarryCases(k);
    assert.ok(cs.length >= 4, `k=${k}`);
    for (const c of cs) assert.equal(BigInt(c.a) + BigInt(c.b), BigInt(c.expected));
  }
});

test('parseProblem accepts the problem form and explains what is wrong otherwise', () => {
  const p = parseProblem('12345678+87654321=', 8);
  assert.equal(p.a, 12345678);
  assert.equal(p.b, 87654321);
  assert.equal(decode(p.prompt), 's12345678+87654321=');
  assert.equal(parseProblem(' s00000001+99999999= ', 8).b, 99999999);
  assert.equal(parseProblem('1234+5678', 4).a, 1234);
  const msg = /^Error: expected 8-digit operands like 12345678\+87654321=, got /;
  assert.throws(() => parseProblem('1234567+87654321=', 8), (e: Error) => msg.test(String(e)) && /first operand has 7 digits/.test(e.message));
  assert.throws(() => parseProblem('12345678+876543210=', 8), /second operand has 9 digits/);
  assert.throws(() => parseProblem('12345678-87654321=', 8), /unexpected character "-"/);
  assert.throws(() => parseProblem('1234a678+87654321=', 8), /unexpected character "a"/);
  assert.throws(() => parseProblem('12345678+8765+4321=', 8), /exactly one '\+'/);
  assert.throws(() => parseProblem('', 8), /expected 8-digit operands/);
  assert.throws(() => parseProblem('12+34=', 0), /digits must be an integer/);
  assert.throws(() => parseProblem('12+34=', 3), /expected 3-digit operands like 123\+876=/);
});

// ------------------------------------------------------------- edge mix

const isEdge = (n: number, k: number) => [...String(n).padStart(k, '0')].every((d) => EDGE_DIGITS.includes(Number(d)));

test('edge mix 0 leaves the seed stream untouched; a mix draws edge problems at its rate and never a reserved one', () => {
  const k = 3;
  const plain = new AdditionTask({ digits: k, seed: 7 });
  const zero = new AdditionTask({ digits: k, seed: 7, edgeMix: 0 });
  assert.deepEqual(zero.trainProblems(500), plain.trainProblems(500));

  const q = 0.25;
  const mixed = new AdditionTask({ digits: k, seed: 7, edgeMix: q });
  const n = 40_000;
  const problems = mixed.trainProblems(n);
  const edge = problems.filter((p) => isEdge(p.a, k) && isEdge(p.b, k)).length / n;
  // Uniform problems are all-edge with probability (5/10)^(2k) = 1/64.
  const expected = q + (1 - q) / 64;
  assert.ok(Math.abs(edge - expected) < 0.01, `edge share ${edge} vs ${expected}`);
  for (const p of problems) assert.equal(mixed.isReserved(p.a, p.b), false);
  // Every carry case of k = 3 is made of edge digits except the 123+876 pattern: all are reserved, so all are redrawn.
  const all = new AdditionTask({ digits: k, seed: 3, edgeMix: 1 });
  const drawn = all.trainProblems(20_000);
  assert.ok(all.rejected > 0, 'pure edge draws hit reserved problems and redraw them');
  for (const p of drawn) {
    assert.ok(isEdge(p.a, k) && isEdge(p.b, k));
    assert.equal(all.isReserved(p.a, p.b), false);
  }
  assert.throws(() => new AdditionTask({ digits: k, edgeMix: 1.5 }), /edgeMix must be in \[0, 1\]/);
});

test('stream floor with an edge mix equals the entropy of the mixture, by brute force over every problem', () => {
  for (const firstDigit of ['uniform', 'nonzero'] as const) {
    for (const k of [1, 2]) {
      for (const q of [0, 0.0625, 0.5, 1]) {
        const lo = firstDigit === 'nonzero' ? 10 ** (k - 1) : 0;
        const operands: number[] = [];
        for (let a = lo; a < 10 ** k; a++) operands.push(a);
        const edgeOps = operands.filter((a) => isEdge(a, k));
        const N = operands.length ** 2;
        const M = edgeOps.length ** 2;
        let h = 0;
        for (const a of operands) {
          for (const b of operands) {
            const p = (1 - q) / N + (isEdge(a, k) && isEdge(b, k) ? q / M : 0);
            if (p > 0) h -= p * Math.log2(p);
          }
        }
        const got = streamFloorBitsPerProblem(k, firstDigit, q);
        assert.ok(Math.abs(got - h) < 1e-9, `${firstDigit} k=${k} q=${q}: ${got} vs ${h}`);
      }
    }
  }
  assert.equal(streamFloorBitsPerProblem(8, 'uniform', 0), floorBitsPerProblem(8, 'uniform'));
  assert.ok(streamFloorBitsPerProblem(8, 'uniform', 0.0625) < floorBitsPerProblem(8, 'uniform'));
});
