/**
 * What the prequential compressor needs from a model. Encoder and decoder
 * drive a predictor through exactly the same sequence of calls:
 *
 *   for each chunk:
 *     for each byte b of the chunk:  p = predict();  (code b with p);  observe(b)
 *     endChunk(chunk)                              // the learning step
 *
 * so a deterministic predictor yields bit-identical probabilities on both
 * sides. The interface is per byte because decoding byte t + 1 needs byte t;
 * a transformer can keep a KV cache across predict/observe calls.
 */
export interface Predictor {
  /**
   * Probabilities of the 256 byte values for the next byte, given everything
   * observed so far (this chunk and earlier). Length 256; need not sum exactly
   * to 1; zeros are allowed (they are raised to the minimum frequency). Must
   * be deterministic. The codec reads it before the next call and never keeps it.
   */
  predict(): Float32Array;
  /** The actual next byte; advances the predictor's context. */
  observe(byte: number): void;
  /** Called after each chunk is coded (encoder) or decoded (decoder): the learning step. */
  endChunk(chunk: Uint8Array): void | Promise<void>;
}

/**
 * Builds the predictor for a file. `config` is the caller's header object,
 * stored in the compressed file; the decoder calls the factory with the
 * object read back from the file, so it must be enough to rebuild the same
 * initial predictor (model config, seed, optimiser, ...).
 */
export type PredictorFactory = (config: Record<string, unknown>) => Predictor | Promise<Predictor>;
