// A page that colours every byte of a file by its code length under the LM:
// white is predictable, red is surprising. A person sees what the model finds
// hard at a glance.

import { page, escapeHtml, formatFixed } from './html.js';

/** Bytes shown on the page; past this the page says how much it left out. */
export const PAGE_BYTES = 200_000;

function colour(bits: number): string {
  const t = Math.max(0, Math.min(1, bits / 8));
  const g = Math.round(255 - 200 * t);
  return `rgb(255,${g},${g})`;
}

export function renderScorePage(name: string, data: Uint8Array, bits: Float64Array, modelName: string): string {
  const n = Math.min(data.length, PAGE_BYTES);
  let total = 0;
  for (let i = 0; i < bits.length; i++) total += bits[i];
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = data[i];
    const ch = b === 10 ? '↵\n' : b === 9 ? '→' : b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    parts.push(`<span style="background:${colour(bits[i])}" title="${formatFixed(bits[i], 2)} bits">${escapeHtml(ch)}</span>`);
  }
  const more = data.length > n ? `<p>The first ${n.toLocaleString('en-US')} of ${data.length.toLocaleString('en-US')} bytes are shown.</p>` : '';
  const body = `<header><h1>${escapeHtml(name)}</h1><p class="lede">${escapeHtml(`${formatFixed(total / Math.max(1, data.length), 3)} bits per byte under ${modelName}. Each byte's background shows its code length, from white (0 bits) to red (8 bits or more); hover for the figure.`)}</p>${more}</header><pre class="scored">${parts.join('')}</pre>`;
  return page({ title: `glassbox · ${name}`, body, css: 'pre.scored { white-space: pre-wrap; word-break: break-all; font-size: 13px; line-height: 1.5; }' });
}
