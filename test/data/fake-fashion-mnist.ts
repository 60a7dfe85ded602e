// Test helpers: IDX files and a fake Fashion-MNIST folder written by hand.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** An IDX file written by hand: magic 0x000008NN, big-endian sizes, u8 values. */
export function idx(dims: number[], values: ArrayLike<number>): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x800 | dims.length, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(Uint8Array.from(values))]);
}

/** A fake Fashion-MNIST folder: n images of rows×cols per split whose pixels encode (image, position). */
export function fakeDataset(dir: string, n: number, rows = 28, cols = 28, gz = true): void {
  for (const [img, lab] of [['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'], ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']]) {
    const labels = Array.from({ length: n }, (_, i) => i % 10);
    // Class c lights up the rows band c·(rows/10): learnable, and 0 background elsewhere.
    const px = new Uint8Array(n * rows * cols);
    for (let i = 0; i < n; i++) for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) {
      if (Math.floor((y * 10) / rows) === labels[i] && x > 3 && x < cols - 4) px[(i * rows + y) * cols + x] = 200 + ((i + x) % 50);
    }
    const write = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
    write(img, idx([n, rows, cols], px));
    write(lab, idx([n], labels));
  }
}

