// Candidate explanations for SAE latents on the addition GPT, and how well
// each latent matches them. A label is a yes/no property of one token
// position of one problem (the token it reads, its position, the answer digit
// it must predict, whether a carry runs into that digit's column, an operand
// digit held once all operands are read). A latent "is" a label to the degree its firing predicts it: F1 of
// (latent > 0) against (label true) over the evaluation tokens.

import { targetPositions, type AnswerOrder, type Problem, VOCAB } from '../data/addition.js';

export interface LabelSet {
  names: string[];
  /** For each label, the evaluation tokens (row indices, ascending) where it holds. */
  rows: Int32Array[];
}

function digitsLsd(x: number, width: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    out.push(x % 10);
    x = Math.floor(x / 10);
  }
  return out;
}

/** Labels over rows r = problem·T + position for the given problems. */
export function additionLabels(problems: readonly Problem[], inputs: Int32Array, k: number, order: AnswerOrder): LabelSet {
  const T = 3 * k + 4;
  const pos = targetPositions(k);
  const lists = new Map<string, number[]>();
  const add = (name: string, r: number) => {
    let l = lists.get(name);
    if (!l) lists.set(name, (l = []));
    l.push(r);
  };
  problems.forEach((p, s) => {
    const a = digitsLsd(p.a, k), b = digitsLsd(p.b, k);
    const carry = [0];
    for (let i = 0; i < k; i++) carry.push(a[i] + b[i] + carry[i] >= 10 ? 1 : 0);
    const c = digitsLsd(p.a + p.b, k + 1);
    for (let t = 0; t < T; t++) {
      const r = s * T + t;
      add(`input token '${VOCAB[inputs[r]]}'`, r);
      add(`position ${t} (predicts ${pos[t].target})`, r);
      // Operand digits, from the last operand token on (the model must hold them to write the answer).
      if (t >= 2 * k + 1) {
        for (let i = 0; i < k; i++) {
          add(`operand a digit ${k - i} (10^${i}) = ${a[i]}, once all operands are read`, r);
          add(`operand b digit ${k - i} (10^${i}) = ${b[i]}, once all operands are read`, r);
        }
      }
      if (pos[t].kind !== 'answer') continue;
      const j = Number(pos[t].target.slice(1)); // written answer digit j = 1..k+1
      const col = order === 'msf' ? k + 1 - j : j - 1; // its column, 0 = least significant
      add(`answer digit ${c[col]} next`, r);
      // Column 0 never receives a carry: a label for it would only restate the position.
      if (col > 0) {
        add(`carry into column ${col} (predicting ${pos[t].target})`, carry[col] ? r : -1);
        add(`no carry into column ${col} (predicting ${pos[t].target})`, carry[col] ? -1 : r);
        add(`any carry into the predicted column`, carry[col] ? r : -1);
      }
      if (col < k) {
        add(`a[col]+b[col] >= 10 at predicted column`, a[col] + b[col] >= 10 ? r : -1);
        add(`a[col]+b[col] = 9 at predicted column`, a[col] + b[col] === 9 ? r : -1);
      }
    }
  });
  const names = [...lists.keys()].sort();
  return { names, rows: names.map((n) => Int32Array.from(lists.get(n)!.filter((r) => r >= 0))) };
}

export interface LatentMatch {
  feature: number;
  label: string;
  f1: number;
  precision: number;
  recall: number;
  density: number;
}

/** For each latent that fires, its best-matching label by F1. */
export function matchLatents(z: Float32Array, N: number, n: number, labels: LabelSet): LatentMatch[] {
  const firesCount = new Int32Array(n);
  for (let r = 0; r < N; r++) for (let i = 0; i < n; i++) if (z[r * n + i] > 0) firesCount[i]++;
  const out: LatentMatch[] = [];
  const hits = new Int32Array(n);
  const best = Array.from({ length: n }, () => ({ f1: -1, label: '', precision: 0, recall: 0 }));
  labels.names.forEach((name, li) => {
    const rows = labels.rows[li];
    if (rows.length === 0) return;
    hits.fill(0);
    for (const r of rows) for (let i = 0; i < n; i++) if (z[r * n + i] > 0) hits[i]++;
    for (let i = 0; i < n; i++) {
      if (firesCount[i] === 0 || hits[i] === 0) continue;
      const precision = hits[i] / firesCount[i], recall = hits[i] / rows.length;
      const f1 = (2 * precision * recall) / (precision + recall);
      if (f1 > best[i].f1) best[i] = { f1, label: name, precision, recall };
    }
  });
  for (let i = 0; i < n; i++) if (firesCount[i] > 0 && best[i].f1 >= 0) out.push({ feature: i, ...best[i], density: firesCount[i] / N });
  return out.sort((x, y) => y.f1 - x.f1 || x.feature - y.feature);
}
