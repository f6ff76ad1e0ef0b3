/**
 * A small software rasteriser for the 3DTeapots images: perspective projection, z-buffer, Gouraud-shaded Lambertian
 * surface under one directional light plus ambient, double-sided, white background, anti-aliased by supersampling
 * (ss x ss samples per pixel, box-filtered). Deterministic: the same factors give the same bytes.
 *
 * Scene (our choice; the paper's OpenDR scene is only partly known, see docs/datasets.md):
 * - world z is up; the teapot, centred on its bounding box, turns by `azimuth` about z;
 * - the camera looks at the centre from distance 4 x the teapot's bounding radius, from the -y side, raised by
 *   `elevation` (0: side view, pi/2: top view); the focal length is set so the teapot's projection over all views
 *   fills 94% of the frame at most (it fills most of the frame and never clips);
 * - the light comes from world azimuth 0, elevation 0 (the +x direction, from the viewer's right at elevation 0),
 *   intensity 0.9, ambient 0.5, as the paper's variant (a); colour = rgb x min(1, 0.5 + 0.9 max(0, n.l)).
 */
import type { TriangleMesh } from "./teapot_mesh.ts";

export interface TeapotView {
  azimuth: number;
  elevation: number;
  r: number;
  g: number;
  b: number;
}

export const LIGHT = { azimuth: 0, elevation: 0, intensity: 0.9, ambient: 0.5 };

export class TeapotRenderer {
  readonly size: number;
  readonly ss: number;
  private readonly dist: number;
  private focal = 1;
  private readonly hi: number;
  private readonly depth: Float32Array;
  private readonly color: Float32Array;
  private readonly sx: Float32Array;
  private readonly sy: Float32Array;
  private readonly sz: Float32Array;
  private readonly shade: Float32Array;
  private readonly light: [number, number, number];

  constructor(readonly mesh: TriangleMesh, opts: { size?: number; supersample?: number } = {}) {
    this.size = opts.size ?? 64;
    this.ss = opts.supersample ?? 3;
    this.hi = this.size * this.ss;
    this.depth = new Float32Array(this.hi * this.hi);
    this.color = new Float32Array(this.hi * this.hi * 3);
    const nv = mesh.positions.length / 3;
    this.sx = new Float32Array(nv);
    this.sy = new Float32Array(nv);
    this.sz = new Float32Array(nv);
    this.shade = new Float32Array(nv);
    this.dist = 4 * mesh.radius;
    const la = LIGHT.azimuth, le = LIGHT.elevation;
    this.light = [Math.cos(le) * Math.cos(la), Math.cos(le) * Math.sin(la), Math.sin(le)];
    this.focal = this.fitFocal();
  }

  /** Focal length (in supersampled pixels) so that the widest projection over a grid of views spans 94% of the frame. */
  private fitFocal(): number {
    this.focal = 1;
    let extent = 0;
    for (let a = 0; a < 36; a++) {
      for (let e = 0; e <= 9; e++) {
        this.project((2 * Math.PI * a) / 36, (Math.PI / 2) * (e / 9));
        for (let i = 0; i < this.sx.length; i++) extent = Math.max(extent, Math.abs(this.sx[i]), Math.abs(this.sy[i]));
      }
    }
    return (0.94 * this.hi) / 2 / extent;
  }

  /** Screen coordinates (relative to the frame centre, y down), view depth and Lambert factor of every vertex. */
  private project(azimuth: number, elevation: number): void {
    const { positions: P, normals: N } = this.mesh;
    const ca = Math.cos(azimuth), sa = Math.sin(azimuth), ce = Math.cos(elevation), se = Math.sin(elevation);
    const [lx, ly, lz] = this.light;
    const f = this.focal, D = this.dist;
    for (let i = 0, v = 0; v < this.sx.length; v++, i += 3) {
      // Object turned about z.
      const x = ca * P[i] - sa * P[i + 1], y = sa * P[i] + ca * P[i + 1], z = P[i + 2];
      let nx = ca * N[i] - sa * N[i + 1], ny = sa * N[i] + ca * N[i + 1], nz = N[i + 2];
      // Camera at D * (0, -ce, se): toward-camera axis c, screen-up axis u = (0, se, ce), screen-right = +x.
      const toward = -ce * y + se * z;
      const up = se * y + ce * z;
      const d = D - toward;
      // Double-sided: make the normal face the camera (vector from point to camera).
      const vx = -x, vy = -D * ce - y, vz = D * se - z;
      if (nx * vx + ny * vy + nz * vz < 0) [nx, ny, nz] = [-nx, -ny, -nz];
      this.sx[v] = (f * x) / d;
      this.sy[v] = (-f * up) / d;
      this.sz[v] = d;
      this.shade[v] = Math.min(1, LIGHT.ambient + LIGHT.intensity * Math.max(0, nx * lx + ny * ly + nz * lz));
    }
  }

  /** Renders one view into `out` at `offset` as 64 x 64 x 3 floats in [0, 1]. */
  render(view: TeapotView, out: Float32Array | Uint8Array, offset = 0, asBytes = false): void {
    const H = this.hi, ss = this.ss, S = this.size;
    this.project(view.azimuth, view.elevation);
    const depth = this.depth, color = this.color;
    depth.fill(Infinity);
    color.fill(1);
    const idx = this.mesh.indices, sx = this.sx, sy = this.sy, sz = this.sz, sh = this.shade;
    const half = H / 2;
    for (let t = 0; t < idx.length; t += 3) {
      const a = idx[t], b = idx[t + 1], c = idx[t + 2];
      const ax = sx[a] + half, ay = sy[a] + half, bx = sx[b] + half, by = sy[b] + half;
      const cx = sx[c] + half, cy = sy[c] + half;
      const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
      if (Math.abs(area) < 1e-9) continue;
      const inv = 1 / area;
      // Sample centres (px + 0.5, py + 0.5) inside the triangle's bounding box.
      const x0 = Math.max(0, Math.ceil(Math.min(ax, bx, cx) - 0.5));
      const x1 = Math.min(H - 1, Math.floor(Math.max(ax, bx, cx) - 0.5));
      const y0 = Math.max(0, Math.ceil(Math.min(ay, by, cy) - 0.5));
      const y1 = Math.min(H - 1, Math.floor(Math.max(ay, by, cy) - 0.5));
      if (x0 > x1 || y0 > y1) continue;
      // Barycentric weights are affine in the sample position: w = A x + B y + C, stepped by A along a row.
      // (Either winding works: the renderer is double-sided.)
      const A0 = (by - cy) * inv, B0 = (cx - bx) * inv, C0 = (bx * cy - by * cx) * inv;
      const A1 = (cy - ay) * inv, B1 = (ax - cx) * inv, C1 = (cx * ay - cy * ax) * inv;
      const za = sz[a], zb = sz[b], zc = sz[c], la = sh[a], lb = sh[b], lc = sh[c];
      const { r: cr, g: cg, b: cb } = view;
      for (let py = y0; py <= y1; py++) {
        const qy = py + 0.5, qx0 = x0 + 0.5;
        let w0 = A0 * qx0 + B0 * qy + C0, w1 = A1 * qx0 + B1 * qy + C1;
        for (let px = x0; px <= x1; px++, w0 += A0, w1 += A1) {
          const w2 = 1 - w0 - w1;
          if (w0 < 0 || w1 < 0 || w2 < 0) continue;
          const zq = w0 * za + w1 * zb + w2 * zc;
          const p = py * H + px;
          if (zq >= depth[p]) continue;
          depth[p] = zq;
          const l = w0 * la + w1 * lb + w2 * lc;
          color[p * 3] = cr * l;
          color[p * 3 + 1] = cg * l;
          color[p * 3 + 2] = cb * l;
        }
      }
    }
    // Box filter ss x ss samples down to one pixel.
    const norm = 1 / (ss * ss);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let r = 0, g = 0, b = 0;
        for (let j = 0; j < ss; j++) {
          let p = ((y * ss + j) * H + x * ss) * 3;
          for (let i = 0; i < ss; i++, p += 3) {
            r += color[p];
            g += color[p + 1];
            b += color[p + 2];
          }
        }
        const o = offset + (y * S + x) * 3;
        if (asBytes) {
          out[o] = Math.round(r * norm * 255);
          out[o + 1] = Math.round(g * norm * 255);
          out[o + 2] = Math.round(b * norm * 255);
        } else {
          out[o] = r * norm;
          out[o + 1] = g * norm;
          out[o + 2] = b * norm;
        }
      }
    }
  }
}
