/**
 * The Utah teapot as a triangle mesh: Newell's 32 bicubic Bezier patches (data/utah-teapot.json) evaluated on an n x n
 * parameter grid per patch, with normals from the patch's own partial derivatives, so shading is smooth across the
 * seams without welding vertices.
 */
import { z } from "zod";

const TeapotJson = z.object({
  patches: z.array(z.array(z.number().int().nonnegative()).length(16)).min(1),
  vertices: z.array(z.array(z.number()).length(3)).min(4),
});

export interface TriangleMesh {
  /** Vertex positions, xyz interleaved, centred on the bounding-box centre, z up. */
  positions: Float32Array;
  /** Unit normals, xyz interleaved (orientation arbitrary: the renderer is double-sided). */
  normals: Float32Array;
  /** Triangle vertex indices, 3 per triangle. */
  indices: Uint32Array;
  /** Largest distance of a vertex from the origin (after centring). */
  radius: number;
}

export const DEFAULT_TEAPOT_PATH = new URL("../../data/utah-teapot.json", import.meta.url);

/** Reads and validates the patch file (synchronously: datasets are constructed with `new`); errors name the path. */
export function loadTeapotPatches(
  path: string | URL = DEFAULT_TEAPOT_PATH,
): { patches: number[][]; vertices: number[][] } {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`teapot patches: cannot read ${path}: ${(e as Error).message}`);
  }
  let parsed;
  try {
    parsed = TeapotJson.parse(JSON.parse(text));
  } catch (e) {
    throw new Error(`teapot patches: ${path} is not valid patch JSON: ${(e as Error).message}`);
  }
  for (const p of parsed.patches) {
    for (const i of p) if (i >= parsed.vertices.length) throw new Error(`teapot patches: ${path}: index ${i} too big`);
  }
  return parsed;
}

/** Bernstein basis of degree 3 and its derivative at t. */
function bern(t: number): [number[], number[]] {
  const s = 1 - t;
  return [
    [s * s * s, 3 * t * s * s, 3 * t * t * s, t * t * t],
    [-3 * s * s, 3 * s * s - 6 * t * s, 6 * t * s - 3 * t * t, 3 * t * t],
  ];
}

/** Point and (unnormalised) normal of a bicubic patch at (u, v). */
function evalPatch(cp: number[][], u: number, v: number): { p: number[]; n: number[] } {
  const [bu, dbu] = bern(u), [bv, dbv] = bern(v);
  const p = [0, 0, 0], du = [0, 0, 0], dv = [0, 0, 0];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const c = cp[i * 4 + j];
      for (let k = 0; k < 3; k++) {
        p[k] += bu[i] * bv[j] * c[k];
        du[k] += dbu[i] * bv[j] * c[k];
        dv[k] += bu[i] * dbv[j] * c[k];
      }
    }
  }
  return { p, n: [du[1] * dv[2] - du[2] * dv[1], du[2] * dv[0] - du[0] * dv[2], du[0] * dv[1] - du[1] * dv[0]] };
}

/** Tessellates every patch into n x n quads (2 triangles each). */
export function tessellate(data: { patches: number[][]; vertices: number[][] }, n = 8): TriangleMesh {
  const per = (n + 1) * (n + 1);
  const positions = new Float32Array(data.patches.length * per * 3);
  const normals = new Float32Array(positions.length);
  const indices = new Uint32Array(data.patches.length * n * n * 6);
  let vi = 0, ti = 0;
  for (const patch of data.patches) {
    const cp = patch.map((i) => data.vertices[i]);
    const base = vi;
    for (let a = 0; a <= n; a++) {
      for (let b = 0; b <= n; b++) {
        const u = a / n, v = b / n;
        const { p, n: nn } = evalPatch(cp, u, v);
        let len = Math.hypot(nn[0], nn[1], nn[2]);
        let nrm = nn;
        if (len < 1e-6) {
          // Degenerate corner (the knob's and the bottom's centre): take the normal a little inside the patch.
          nrm = evalPatch(cp, Math.min(Math.max(u, 1e-3), 1 - 1e-3), Math.min(Math.max(v, 1e-3), 1 - 1e-3)).n;
          len = Math.hypot(nrm[0], nrm[1], nrm[2]) || 1;
        }
        positions.set(p, vi * 3);
        normals.set([nrm[0] / len, nrm[1] / len, nrm[2] / len], vi * 3);
        vi++;
      }
    }
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const i0 = base + a * (n + 1) + b, i1 = i0 + 1, i2 = i0 + n + 1, i3 = i2 + 1;
        indices.set([i0, i2, i1, i1, i2, i3], ti);
        ti += 6;
      }
    }
  }
  // Centre on the bounding box so rotations turn the teapot in place.
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i++) {
    lo[i % 3] = Math.min(lo[i % 3], positions[i]);
    hi[i % 3] = Math.max(hi[i % 3], positions[i]);
  }
  let radius = 0;
  for (let i = 0; i < positions.length; i += 3) {
    for (let k = 0; k < 3; k++) positions[i + k] -= (lo[k] + hi[k]) / 2;
    radius = Math.max(radius, Math.hypot(positions[i], positions[i + 1], positions[i + 2]));
  }
  return { positions, normals, indices, radius };
}
