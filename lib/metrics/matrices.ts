/**
 * The plain-matrix form every observational metric computes on: n samples of codes and of ground-truth factors,
 * row-major (sample-major) like the FactorVAE votes. Metrics take this, never a dataset or an encoder, so they can be
 * tested on hand-made matrices and compared number for number with other libraries.
 */

export interface CodesAndFactors {
  /** n x codeDim codes, row-major. */
  codes: Float32Array;
  /** n x numFactors factor values, row-major. */
  factorValues: Float32Array;
  /** n x numFactors integer factor class ids (grid index, or histogram bin of a continuous factor), row-major. */
  factorClasses: Int32Array;
  n: number;
  codeDim: number;
  numFactors: number;
}

export function checkCodesAndFactors(m: CodesAndFactors, who: string): void {
  const { codes, factorValues, factorClasses, n, codeDim, numFactors } = m;
  for (const [name, v] of [["n", n], ["codeDim", codeDim], ["numFactors", numFactors]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${who}: ${name} must be a positive integer, got ${v}`);
  }
  if (codes.length !== n * codeDim) {
    throw new Error(`${who}: codes has length ${codes.length}, expected ${n * codeDim}`);
  }
  if (factorValues.length !== n * numFactors) {
    throw new Error(`${who}: factorValues has length ${factorValues.length}, expected ${n * numFactors}`);
  }
  if (factorClasses.length !== n * numFactors) {
    throw new Error(`${who}: factorClasses has length ${factorClasses.length}, expected ${n * numFactors}`);
  }
  for (let i = 0; i < codes.length; i++) {
    if (!Number.isFinite(codes[i])) throw new Error(`${who}: code value ${codes[i]} at flat index ${i} is not finite`);
  }
}

/** Column j of a row-major n x cols matrix. */
export function column(a: ArrayLike<number>, n: number, cols: number, j: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i * cols + j];
  return out;
}

/** Integer column j of a row-major n x cols matrix. */
export function intColumn(a: Int32Array, n: number, cols: number, j: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i * cols + j];
  return out;
}

/** Each column shifted to mean 0 and divided by its std (ddof 0); a constant column becomes all zeros. */
export function zscoreColumns(a: ArrayLike<number>, n: number, cols: number): Float64Array {
  const out = new Float64Array(n * cols);
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += a[i * cols + j];
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (a[i * cols + j] - mean) ** 2;
    const sd = Math.sqrt(ss / n);
    for (let i = 0; i < n; i++) out[i * cols + j] = sd > 0 ? (a[i * cols + j] - mean) / sd : 0;
  }
  return out;
}

/** Rows [start, start + count) of a CodesAndFactors, as a new one. */
export function sliceRows(m: CodesAndFactors, start: number, count: number): CodesAndFactors {
  return {
    codes: m.codes.slice(start * m.codeDim, (start + count) * m.codeDim),
    factorValues: m.factorValues.slice(start * m.numFactors, (start + count) * m.numFactors),
    factorClasses: m.factorClasses.slice(start * m.numFactors, (start + count) * m.numFactors),
    n: count,
    codeDim: m.codeDim,
    numFactors: m.numFactors,
  };
}
