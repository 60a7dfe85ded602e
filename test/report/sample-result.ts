// A synthetic but plausible AdditionResult for report tests and for looking at
// a rendered report without training a model:
//   node -e "import('./dist/test/report/sample-result.js').then((m) => m.writeSample('/tmp/report-sample.html'))"

import { writeFileSync } from 'node:fs';
import type { AdditionResult, AdditionHistoryPoint } from '../../src/experiments/addition-result.js';
import { renderAdditionReport } from '../../src/report/addition-report.js';
import { lossFloor, floorBitsPerProblem, perPositionFloor, targetPositions, allCarryCases, sequenceString, LOG2_14 } from '../../src/data/addition.js';

export function sampleResult(opts: { digits?: number; layers?: number; heads?: number; points?: number } = {}): AdditionResult {
  const k = opts.digits ?? 4;
  const layers = opts.layers ?? 2;
  const heads = opts.heads ?? 4;
  const T = 3 * k + 4;
  const batch = 256;
  const floor = lossFloor(k);
  const steps = 3000;
  const n = opts.points ?? 300;
  const history: AdditionHistoryPoint[] = [];
  let cum = 0;
  let prevStep = 0;
  let prevLoss = Math.log(14);
  for (let i = 1; i <= n; i++) {
    const step = Math.round((i * steps) / n);
    const t = step / steps;
    const excess = (Math.log(14) - floor) * (0.55 * Math.exp(-t * 9) + 0.45 * Math.exp(-t * 3) / (1 + Math.exp((t - 0.35) * 25))) + 0.004;
    const noise = 0.015 * Math.sin(i * 12.9898) * (1 - t * 0.8);
    const loss = floor + excess + noise;
    cum += ((loss + prevLoss) / 2 / Math.LN2) * (step - prevStep) * batch * T;
    prevStep = step;
    prevLoss = loss;
    const p: AdditionHistoryPoint = { step, tokens: step * batch * T, seconds: step * 0.12, train_loss: loss, lr: 1e-3 * Math.min(1, step / 200), cum_bits: cum };
    if (i % 10 === 0) {
      p.eval_loss = floor + excess * 0.98 + 0.002;
      p.exact_match = 1 / (1 + Math.exp(-(t - 0.4) * 22)) * 0.999;
    }
    history.push(p);
  }
  const ppFloor = perPositionFloor(k);
  const per_position = targetPositions(k).map((p) => ({
    position: p.position, target: p.target, kind: p.kind,
    loss: ppFloor[p.position]! + (p.kind === 'answer' ? 0.004 * (1 + (p.position % 3)) : p.kind === 'operand' ? 0.002 : 0.0003),
    floor: ppFloor[p.position]!,
  }));
  const example = { a: 4821, b: 7390 };
  const tokens = [...sequenceString(example, k).slice(0, T)];
  const attnLayers = Array.from({ length: layers }, (_, l) => ({
    layer: l,
    heads: Array.from({ length: heads }, (_, h) =>
      Array.from({ length: T }, (_, q) => {
        const row = Array.from({ length: T }, (_, key) => (key > q ? 0 : Math.exp(-Math.abs(q - key - (h + l) % 5) * 1.3)));
        const z = row.reduce((s, x) => s + x, 0);
        return row.map((x) => x / z);
      })),
  }));
  const carry = allCarryCases(k).map((c, i) => {
    const predicted = i === 1 ? c.expected.slice(0, 2) + '7' + c.expected.slice(3) : c.expected;
    return { problem: c.problem, expected: c.expected, predicted, correct: predicted === c.expected, name: c.name };
  });
  const problems = steps * batch;
  return {
    experiment: 'addition',
    glassbox_version: '0.1.0',
    digits: k,
    answer_order: 'msf',
    first_digit: 'uniform',
    edge_mix: 0.0625,
    eval_loss: history.at(-1)!.eval_loss!,
    loss_floor: floor,
    exact_match: 0.9967,
    carry_cases: carry,
    carry_exact_match: carry.filter((c) => c.correct).length / carry.length,
    seconds: steps * 0.12,
    steps,
    tokens: steps * batch * T,
    steps_to_99: 2100,
    tokens_to_99: 2100 * batch * T,
    checkpoint: 'runs/addition-2025-01-01T00-00-00/checkpoints/step-3000.safetensors',
    report: 'runs/addition-2025-01-01T00-00-00/report.html',
    run_dir: 'runs/addition-2025-01-01T00-00-00',
    bits: {
      area_under_loss_bits: cum,
      raw_bits: problems * (T + 1) * 8,
      uniform_bits: problems * T * LOG2_14,
      floor_bits: problems * floorBitsPerProblem(k),
      problems_seen: problems,
    },
    config: { digits: k, steps, batch, lr: 1e-3, warmup: 200, seed: 1, model: { layers, d_model: 64, heads, mlp_ratio: 4, tie_weights: true }, note: '<script>alert("x")</script> & co' },
    params: 104_832,
    history,
    per_position,
    attention: { tokens, layers: attnLayers, example: `${String(example.a).padStart(k, '0')}+${String(example.b).padStart(k, '0')}=` },
    seed: 1,
    preset: null,
    started_at: '2025-01-01T00:00:00Z',
  };
}

export function writeSample(path: string, opts?: Parameters<typeof sampleResult>[0]): void {
  writeFileSync(path, renderAdditionReport(sampleResult(opts)));
}
