/**
 * What a V8 heap snapshot holds, counted by retaining edge: "retainer .edge → object" (each
 * object's constructor or kind, strings and code by kind only), with how many such edges and the
 * bytes of the objects they hold. The difference of two snapshots of one process, divided by
 * what was added in between (sockets, say), is what each of those keeps, and where it hangs: a
 * closure per socket shows as `Object .disconnect → closure:`, a `once` wrapper as
 * `native_bind .listener → closure:`. Weak and shortcut edges are left out (they retain nothing).
 */

/** The parts of the `.heapsnapshot` JSON format read here. */
export interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * Edge key → [edges, bytes]. An object's bytes count once, under the first edge (in the snapshot's
 * order) that points to it, so that the bytes of all keys add up to the heap: a shape or code
 * object shared by thousands of objects is not counted thousands of times.
 */
export type EdgeCounts = Map<string, [number, number]>;

const UNNAMED_KINDS = new Set(['string', 'concatenated string', 'sliced string', 'code', 'number']);

export function countRetainingEdges(heap: HeapSnapshot): EdgeCounts {
  const { meta } = heap.snapshot;
  const nodeWidth = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const [nodeTypes] = meta.node_types;
  const [edgeTypes] = meta.edge_types;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const toAt = meta.edge_fields.indexOf('to_node');
  const { nodes, edges, strings } = heap;

  const label = (node: number) => {
    const kind = nodeTypes[nodes[node + typeAt]!]!;
    return UNNAMED_KINDS.has(kind) ? `${kind}:` : `${kind}:${strings[nodes[node + nameAt]!]!.slice(0, 50)}`;
  };
  const edgeLabel = (edge: number) => {
    const kind = edgeTypes[edges[edge + edgeTypeAt]!]!;
    // Array elements and hidden edges are numbered: one key for all of them.
    if (kind === 'element' || kind === 'hidden') return '[]';
    const name = String(strings[edges[edge + edgeNameAt]!]).slice(0, 40);
    if (/^\d+$/.test(name)) return '[]';
    return kind === 'property' ? name : `${kind}:${name}`;
  };

  const counts: EdgeCounts = new Map();
  const counted = new Uint8Array(nodes.length / nodeWidth);
  let edge = 0;
  for (let node = 0; node < nodes.length; node += nodeWidth) {
    const from = label(node);
    for (let left = nodes[node + edgeCountAt]!; left > 0; left--, edge += edgeWidth) {
      const kind = edgeTypes[edges[edge + edgeTypeAt]!];
      if (kind === 'weak' || kind === 'shortcut') continue;
      const to = edges[edge + toAt]!;
      const key = `${from} .${edgeLabel(edge)} → ${label(to)}`;
      const entry = counts.get(key) ?? [0, 0];
      entry[0]++;
      if (!counted[to / nodeWidth]) {
        counted[to / nodeWidth] = 1;
        entry[1] += nodes[to + sizeAt]!;
      }
      counts.set(key, entry);
    }
  }
  return counts;
}

export interface EdgeGrowth {
  key: string;
  /** Edges added per unit (`per`). */
  count: number;
  bytes: number;
}

/** What `after` has more than `before`, per `per` units, largest change first. */
export function edgeGrowth(before: EdgeCounts, after: EdgeCounts, per: number): EdgeGrowth[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys]
    .map((key) => {
      const [countBefore, bytesBefore] = before.get(key) ?? [0, 0];
      const [countAfter, bytesAfter] = after.get(key) ?? [0, 0];
      return { key, count: (countAfter - countBefore) / per, bytes: (bytesAfter - bytesBefore) / per };
    })
    .filter((row) => row.count !== 0 || row.bytes !== 0)
    .sort((a, b) => Math.abs(b.bytes) - Math.abs(a.bytes) || a.key.localeCompare(b.key));
}
