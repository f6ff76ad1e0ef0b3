/**
 * ONNX models as plain data, and their serialisation to the ModelProto wire format (onnx/onnx.proto, IR version 7 =
 * opset 13, which both onnxruntime 1.30 and Debian's python3-onnx 1.12 read).
 *
 * `OnnxGraph` collects nodes, float initializers (stored as raw little-endian data) and typed inputs/outputs, whose
 * dimensions may be symbolic (a string such as "batch"); `encodeModel` writes the bytes of a `.onnx` file.
 */
import { ProtoWriter } from "./proto.ts";

export const ONNX_IR_VERSION = 7;
export const ONNX_OPSET = 13;

/** TensorProto.DataType values used here. */
const FLOAT = 1;
const INT64 = 7;

/** AttributeProto.AttributeType values. */
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_FLOATS = 6, ATTR_INTS = 7;

export type Attribute =
  | { float: number }
  | { int: number }
  | { string: string }
  | { floats: number[] }
  | { ints: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, Attribute>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** A dimension: a fixed size, or a symbolic name (the batch). */
export type Dim = number | string;

export interface OnnxValueInfo {
  name: string;
  dims: Dim[];
}

/** One graph under construction. Value names are unique; `fresh` makes new ones. */
export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  private names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: value ${name} defined twice`);
    this.names.add(name);
    return name;
  }

  /** A new unique value name starting with `prefix`. */
  fresh(prefix: string): string {
    let name = prefix;
    while (this.names.has(name)) name = `${prefix}_${++this.counter}`;
    return name;
  }

  input(name: string, dims: Dim[]): string {
    this.inputs.push({ name: this.claim(name), dims });
    return name;
  }

  /** Declares an existing value as a graph output. */
  output(name: string, dims: Dim[]): void {
    if (!this.names.has(name)) throw new Error(`ONNX graph ${this.name}: output ${name} is not computed`);
    this.outputs.push({ name, dims });
  }

  /** A float32 constant. The graph keeps a reference to `data` (no copy): do not modify it afterwards. */
  constant(name: string, data: Float32Array, dims: number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`ONNX initializer ${name}: ${data.length} values for shape [${dims}]`);
    this.initializers.push({ name: this.claim(this.fresh(name)), dims, data });
    return this.initializers.at(-1)!.name;
  }

  /** An int64 constant (shapes, axes). */
  int64Constant(name: string, values: number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name: this.claim(this.fresh(name)), dims: [values.length], data });
    return this.initializers.at(-1)!.name;
  }

  /** Adds a node with one output named after `out` (made unique) and returns the output's name. */
  node(op: string, inputs: string[], out: string, attributes: Record<string, Attribute> = {}): string {
    for (const i of inputs) {
      if (i !== "" && !this.names.has(i)) throw new Error(`ONNX graph ${this.name}: ${op} reads undefined ${i}`);
    }
    const output = this.claim(this.fresh(out));
    this.nodes.push({ op, inputs, outputs: [output], name: output, attributes });
    return output;
  }
}

function tensorTypeProto(dims: Dim[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.int(1, d); // dim_value
    else dim.string(2, d); // dim_param
    shape.message(1, dim);
  }
  const tensor = new ProtoWriter().int(1, FLOAT).message(2, shape); // elem_type, shape
  return new ProtoWriter().message(1, tensor); // TypeProto.tensor_type
}

function valueInfoProto(v: OnnxValueInfo): ProtoWriter {
  return new ProtoWriter().string(1, v.name).message(2, tensorTypeProto(v.dims));
}

function tensorProto(t: OnnxInitializer): ProtoWriter {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims); // dims
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64); // data_type
  w.string(8, t.name); // name
  // raw_data is little-endian; typed arrays use the platform's byte order, little-endian on every target of Deno.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

function attributeProto(name: string, a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ("float" in a) w.float(2, a.float).int(20, ATTR_FLOAT);
  else if ("int" in a) w.int(3, a.int).int(20, ATTR_INT);
  else if ("string" in a) w.string(4, a.string).int(20, ATTR_STRING);
  else if ("floats" in a) w.packedFloats(7, a.floats).int(20, ATTR_FLOATS);
  else w.packedInts(8, a.ints).int(20, ATTR_INTS);
  return w;
}

function nodeProto(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [k, a] of Object.entries(n.attributes)) w.message(5, attributeProto(k, a));
  return w;
}

function graphProto(g: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, nodeProto(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensorProto(t));
  for (const i of g.inputs) w.message(11, valueInfoProto(i));
  for (const o of g.outputs) w.message(12, valueInfoProto(o));
  return w;
}

export interface ModelInfo {
  producer: string;
  producerVersion?: string;
  doc?: string;
  /** Free-form key/value pairs (metadata_props), e.g. the value range of the images. */
  metadata?: Record<string, string>;
}

/** The bytes of a `.onnx` file holding `graph`. */
export function encodeModel(graph: OnnxGraph, info: ModelInfo): Uint8Array {
  if (graph.outputs.length === 0) throw new Error(`ONNX graph ${graph.name} has no outputs`);
  const w = new ProtoWriter();
  w.int(1, ONNX_IR_VERSION); // ir_version
  w.string(2, info.producer); // producer_name
  if (info.producerVersion) w.string(3, info.producerVersion);
  if (info.doc) w.string(6, info.doc); // doc_string
  w.message(7, graphProto(graph)); // graph
  w.message(8, new ProtoWriter().string(1, "").int(2, ONNX_OPSET)); // opset_import (default domain)
  for (const [k, v] of Object.entries(info.metadata ?? {})) {
    w.message(14, new ProtoWriter().string(1, k).string(2, v)); // metadata_props
  }
  return w.finish();
}
