/** Small statistics for the bench: no library, no surprises. */

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A least-squares line y = intercept + slope * x, with its coefficient of determination. */
export interface LineFit {
  slope: number;
  intercept: number;
  /** R²: 1 is a perfect line; undefined with fewer than 3 points or constant y. */
  r2?: number;
  points: number;
}

/** Fits a least-squares line through at least two points with distinct x. */
export function leastSquares(points: readonly { x: number; y: number }[]): LineFit {
  const n = points.length;
  if (n < 2) throw new Error(`a line needs at least 2 points, got ${n}`);
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (sxx === 0) throw new Error('a line needs points with distinct x');
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssTot = points.reduce((s, p) => s + (p.y - my) ** 2, 0);
  const ssRes = points.reduce((s, p) => s + (p.y - (intercept + slope * p.x)) ** 2, 0);
  const r2 = n >= 3 && ssTot > 0 ? 1 - ssRes / ssTot : undefined;
  return { slope, intercept, r2, points: n };
}

/** Rounds to `digits` decimals (for JSON that people read). */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
