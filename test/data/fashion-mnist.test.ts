import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { idx, fakeDataset } from './fake-fashion-mnist.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadFashionMnist, imageBatch, parseIdx, DatasetMissingError, DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '../../src/data/fashion-mnist.js';
import { skipUnlessAvailable } from '../skip.js';

test('reads gzipped and plain IDX files, with a limit, and normalises pixels', () => {
  for (const gz of [true, false]) {
    const dir = mkdtempSync(join(tmpdir(), 'glassbox-fm-'));
    try {
      fakeDataset(dir, 20, 28, 28, gz);
      const set = loadFashionMnist('train', { dir, limit: 12 });
      assert.equal(set.count, 12);
      assert.equal(set.rows, 28);
      assert.equal(set.pixels.length, 12 * 784);
      assert.deepEqual(Array.from(set.labels.slice(0, 11)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
      const { pixels, labels } = imageBatch(set, [3]);
      assert.equal(labels[0], 3);
      assert.ok(Math.abs(pixels[0] - (0 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD) < 1e-6);
      const bright = set.pixels.findIndex((v, i) => i >= 3 * 784 && v > 0) - 3 * 784;
      assert.ok(Math.abs(pixels[bright] - (set.pixels[3 * 784 + bright] / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD) < 1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('bad IDX files fail with the file named and the problem said', () => {
  assert.throws(() => parseIdx(idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), 1, 'x.idx'), /x\.idx: bad IDX magic 0x00000803, expected 0x00000801/);
  assert.throws(() => parseIdx(idx([3, 2, 2], [1, 2, 3]), 3, 'y.idx'), /y\.idx: the header promises 3×2×2 = 12 values but the file holds 3/);
  assert.throws(() => parseIdx(Uint8Array.of(0, 0), 1, 'z.idx'), /z\.idx: 2 bytes is too short/);
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-fm-'));
  try {
    fakeDataset(dir, 5, 28, 28, false);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([4], [0, 1, 2, 3]));
    assert.throws(() => loadFashionMnist('train', { dir }), /train-labels-idx1-ubyte: 4 labels for the 5 images/);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([5], [0, 1, 12, 3, 4]));
    assert.throws(() => loadFashionMnist('train', { dir }), /label 12 at index 2 is outside 0-9/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing dataset says how to install it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-fm-empty-'));
  try {
    assert.throws(() => loadFashionMnist('test', { dir }), (e: Error) => e instanceof DatasetMissingError && /no t10k-images-idx3-ubyte/.test(e.message) && /apt-get install dataset-fashion-mnist/.test(e.message) && /--data DIR/.test(e.message));
    assert.throws(() => loadFashionMnist('train', { dir: join(dir, 'nope') }), /apt-get install dataset-fashion-mnist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the installed Debian dataset has the published sizes and a balanced test set', (t) => {
  if (skipUnlessAvailable(t, existsSync(DEFAULT_FASHION_MNIST_DIR), `${DEFAULT_FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)`)) return;
  const test = loadFashionMnist('test');
  assert.equal(test.count, 10000);
  assert.equal(test.rows * test.cols, 784);
  const perClass = new Array(10).fill(0);
  for (const l of test.labels) perClass[l]++;
  assert.deepEqual(perClass, new Array(10).fill(1000));
  const train = loadFashionMnist('train', { limit: 100 });
  assert.equal(train.count, 100);
});
