import { describe, expect, it } from 'vitest';
import {
  decodePodList,
  decodeStatusMessage,
  PodListStream,
  PodProtobufError,
  type PodListProjection,
  type PodProjection,
} from './pod-protobuf.js';

// A small protobuf writer for building test bodies: fields are [number, value] pairs, a value is
// a string or nested fields (length-delimited), a number (varint) or raw bytes with a wire type.
type Field =
  | readonly [number, string | number | readonly Field[]]
  | readonly [number, { readonly wireType: number; readonly bytes: readonly number[] }];

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}

function encode(fields: readonly Field[]): number[] {
  const out: number[] = [];
  for (const [num, value] of fields) {
    if (typeof value === 'number') out.push(...varint(num * 8), ...varint(value));
    else if (typeof value === 'string') {
      const bytes = [...Buffer.from(value, 'utf8')];
      out.push(...varint(num * 8 + 2), ...varint(bytes.length), ...bytes);
    } else if ('wireType' in value) out.push(...varint(num * 8 + value.wireType), ...value.bytes);
    else {
      const bytes = encode(value as readonly Field[]);
      out.push(...varint(num * 8 + 2), ...varint(bytes.length), ...bytes);
    }
  }
  return out;
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
/** A body as the API server sends it: magic, then runtime.Unknown {typeMeta, raw}. */
function body(list: readonly Field[], kind = 'PodList', extra: readonly Field[] = []): Buffer {
  const raw = encode(list);
  const unknown = encode([
    [
      1,
      [
        [1, 'v1'],
        [2, kind],
      ],
    ],
    ...extra,
  ]);
  return Buffer.from([...MAGIC, ...unknown, ...varint(2 * 8 + 2), ...varint(raw.length), ...raw]);
}

const podFields: readonly Field[] = [
  [
    1,
    [
      [1, 'web-0'],
      [3, 'prod'],
      [5, 'uid-1'],
      [6, '42'],
      [
        11,
        [
          [1, 'app'],
          [2, 'web'],
        ],
      ],
      [
        12,
        [
          [1, 'cni.projectcalico.org/podIP'],
          [2, '10.0.0.5/32'],
        ],
      ],
      [
        9,
        [
          [1, 1_700_000_000],
          [2, 5],
        ],
      ],
    ],
  ],
  [
    2,
    [
      [
        2,
        [
          [1, 'app'],
          [
            6,
            [
              [1, 'http'],
              [3, 8080],
              [4, 'TCP'],
            ],
          ],
        ],
      ],
      [
        20,
        [
          [1, 'init'],
          [
            6,
            [
              [3, 53],
              [4, 'UDP'],
            ],
          ],
        ],
      ],
      [8, 'sa'],
      [10, 'node-a'],
      [11, 1],
    ],
  ],
  [
    3,
    [
      [1, 'Running'],
      [6, '10.0.0.5'],
      [12, [[1, '10.0.0.5']]],
      [12, [[1, 'fd00::5']]],
    ],
  ],
];

const expectedPod: PodProjection = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-0',
    namespace: 'prod',
    uid: 'uid-1',
    resourceVersion: '42',
    labels: { app: 'web' },
    annotations: { 'cni.projectcalico.org/podIP': '10.0.0.5/32' },
    deletionTimestamp: '2023-11-14T22:13:20Z',
  },
  spec: {
    nodeName: 'node-a',
    serviceAccountName: 'sa',
    serviceAccount: '',
    hostNetwork: true,
    containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
    initContainers: [{ name: 'init', ports: [{ name: '', containerPort: 53, protocol: 'UDP' }] }],
  },
  status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }] },
};

const listMeta: Field = [
  1,
  [
    [2, '1000'],
    [3, 'token'],
    [4, 7],
  ],
];

/** A deterministic generator of numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
}

/** 5,000 copies of `whole`, each with 1 to 4 random bytes overwritten, numbered. */
function* damagedCopies(whole: Buffer, seed: number): Generator<[number, Buffer]> {
  const random = seededRandom(seed);
  for (let round = 0; round < 5000; round++) {
    const damaged = Buffer.from(whole);
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++)
      damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
    yield [round, damaged];
  }
}

/** Decodes, and turns any failure into its class and message (what the caller would see). */
function attempt(b: Uint8Array): { ok: true } | { ok: false; error: string } {
  try {
    decodePodList(b);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof PodProtobufError ? 'PodProtobufError' : String(err) };
  }
}

describe('decodePodList', () => {
  it('reads the fields alp-node uses into the JSON shape, with the list metadata', () => {
    const list = decodePodList(body([listMeta, [2, podFields]]));
    expect(list).toEqual({
      apiVersion: 'v1',
      kind: 'PodList',
      metadata: { resourceVersion: '1000', continue: 'token', remainingItemCount: 7 },
      items: [expectedPod],
    });
  });

  it('leaves out an empty continue token and an absent item count, as JSON does', () => {
    const list = decodePodList(
      body([
        [
          1,
          [
            [2, '5'],
            [3, ''],
          ],
        ],
      ]),
    );
    expect(list.metadata).toEqual({ resourceVersion: '5' });
    expect(list.items).toEqual([]);
  });

  it('skips fields of every wire type it does not read, including groups', () => {
    const unknown: Field[] = [
      [99, 123456789012],
      [98, { wireType: 1, bytes: [1, 2, 3, 4, 5, 6, 7, 8] }],
      [97, { wireType: 5, bytes: [1, 2, 3, 4] }],
      [96, 'some text'],
      [
        95,
        {
          wireType: 3,
          bytes: [...varint(1 * 8), 7, ...varint(94 * 8 + 3), ...varint(94 * 8 + 4), ...varint(95 * 8 + 4)],
        },
      ],
      [17, [[1, 'managed-fields-entry']]], // managedFields: known upstream, skipped here
    ];
    const sprinkle = (fields: readonly Field[]): Field[] =>
      fields.flatMap((f): Field[] => [
        ...unknown,
        typeof f[1] === 'object' && Array.isArray(f[1]) ? [f[0], sprinkle(f[1] as readonly Field[])] : f,
      ]);
    const list = decodePodList(body([...unknown, listMeta, [2, sprinkle(podFields)]], 'PodList', unknown));
    expect(list.items).toEqual([expectedPod]);
    expect(list.metadata.resourceVersion).toBe('1000');
  });

  it('reads a negative int32 port as its value and keeps "__proto__" as an ordinary key', () => {
    const list = decodePodList(
      body([
        [
          2,
          [
            [
              1,
              [
                [1, 'p'],
                [
                  11,
                  [
                    [1, '__proto__'],
                    [2, 'x'],
                  ],
                ],
              ],
            ],
            [
              2,
              [
                [
                  2,
                  [
                    [1, 'c'],
                    [6, [[3, -1]]],
                  ],
                ],
              ],
            ],
          ],
        ],
      ]),
    );
    const pod = list.items[0]!;
    expect(pod.spec.containers[0]!.ports[0]!.containerPort).toBe(-1);
    expect(Object.keys(pod.metadata.labels)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(pod.metadata.labels)).toBe(Object.prototype);
  });

  it.each([
    ['no magic', Buffer.from('{"kind":"PodList"}')],
    ['another kind', body([listMeta], 'NamespaceList')],
    ['an envelope without the list', Buffer.from([...MAGIC, ...encode([[1, [[2, 'PodList']]]])])],
    ['a content encoding', body([listMeta], 'PodList', [[3, 'gzip']])],
    ['a known field with another wire type', body([[2, [[1, [[1, 7]]]]]])],
    ['wire type 6', body([[2, [[50, { wireType: 6, bytes: [] }]]]])],
    ['field number 0', body([[2, [[0, 5]]]])],
    ['an end of group with no group', body([[2, [[50, { wireType: 4, bytes: [] }]]]])],
    ['a group that never ends', body([[2, [[50, { wireType: 3, bytes: [8, 1] }]]]])],
    ['a mismatched end of group', body([[2, [[50, { wireType: 3, bytes: [...varint(51 * 8 + 4)] }]]]])],
    ['a varint of 11 bytes', body([[2, [[50, { wireType: 0, bytes: [...Array(10).fill(0xff), 1] }]]]])],
  ])('refuses %s with its own error', (_, b) => {
    expect(attempt(b)).toEqual({ ok: false, error: 'PodProtobufError' });
  });

  it('refuses every truncation of a list, and never throws anything but its error on damage', () => {
    const whole = body([listMeta, [2, podFields], [2, podFields]]);
    expect(attempt(whole)).toEqual({ ok: true });
    // Cut anywhere inside the list's bytes, the envelope's length no longer fits: always refused.
    for (let n = 0; n < whole.length; n++)
      expect(attempt(whole.subarray(0, n)), `cut at ${n}`).toEqual({ ok: false, error: 'PodProtobufError' });
    // Damaged bytes may still decode (to other values) or be refused, but nothing else.
    for (const [round, damaged] of damagedCopies(whole, 12345)) {
      const result = attempt(damaged);
      if (!result.ok) expect(result.error, `round ${round}`).toBe('PodProtobufError');
    }
  });
});

/** Reads `b` through a PodListStream in pieces cut at `cuts`; the pods handed out, and the list. */
function streamed(
  b: Uint8Array,
  cuts: readonly number[],
): { ok: true; early: PodProjection[]; list: PodListProjection } | { ok: false; error: string } {
  const stream = new PodListStream();
  const early: PodProjection[] = [];
  try {
    let from = 0;
    for (const cut of [...cuts, b.length]) {
      early.push(...stream.push(b.subarray(from, cut)));
      from = cut;
    }
    return { ok: true, early, list: stream.end() };
  } catch (err) {
    return { ok: false, error: err instanceof PodProtobufError ? 'PodProtobufError' : String(err) };
  }
}

describe('PodListStream', () => {
  const pod2: readonly Field[] = [
    [
      1,
      [
        [1, 'web-1'],
        [3, 'prod'],
        [6, '43'],
      ],
    ],
  ];
  const bodies: [string, Buffer][] = [
    ['a list of three pods', body([listMeta, [2, podFields], [2, pod2], [2, podFields]])],
    ['an empty list', body([[1, [[2, '5']]]])],
    ['a list without metadata', body([[2, pod2]])],
    [
      'unknown fields around everything',
      body(
        [[99, 7], listMeta, [98, 'x'], [2, podFields], [97, { wireType: 5, bytes: [1, 2, 3, 4] }]],
        'PodList',
        [
          [4, 'application/vnd.kubernetes.protobuf'],
          [98, { wireType: 1, bytes: [1, 2, 3, 4, 5, 6, 7, 8] }],
        ],
      ),
    ],
  ];

  it.each(bodies)('reads %s exactly as decodePodList, however the body is cut', (_, b) => {
    const whole = decodePodList(b);
    const check = (cuts: number[]) => {
      const got = streamed(b, cuts);
      expect(got, `cut at ${cuts.join(',')}`).toEqual({ ok: true, early: whole.items, list: whole });
    };
    check([]);
    for (let n = 0; n <= b.length; n++) check([n]);
    const random = seededRandom(99);
    for (let round = 0; round < 300; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 8) }, () =>
        Math.floor(random() * b.length),
      );
      check(cuts.sort((x, y) => x - y));
    }
  });

  it('hands out each pod as soon as its bytes are in', () => {
    const b = body([listMeta, [2, podFields], [2, pod2]]);
    const stream = new PodListStream();
    const ends: number[] = [];
    for (let n = 0; n < b.length; n++) if (stream.push(b.subarray(n, n + 1)).length > 0) ends.push(n + 1);
    // The second pod ends with the body; the first one some bytes earlier.
    expect(ends).toHaveLength(2);
    expect(ends[0]).toBeLessThan(b.length);
    expect(ends[1]).toBe(b.length);
    expect(stream.end().items.map((p) => p.metadata.name)).toEqual(['web-0', 'web-1']);
  });

  it('refuses every truncation, and what it reads from damaged bytes is what decodePodList reads', () => {
    const whole = body([listMeta, [2, podFields], [2, podFields]]);
    for (let n = 0; n < whole.length; n++)
      expect(streamed(whole.subarray(0, n), [n >> 1]), `cut at ${n}`).toEqual({
        ok: false,
        error: 'PodProtobufError',
      });
    const random = seededRandom(4243);
    for (const [round, damaged] of damagedCopies(whole, 4242)) {
      const got = streamed(damaged, [Math.floor(random() * damaged.length)]);
      if (!got.ok) expect(got.error, `round ${round}`).toBe('PodProtobufError');
      else {
        // Never another answer than the whole-body reader's (it may refuse a few shapes more).
        const list = decodePodList(damaged);
        expect(got.list, `round ${round}`).toEqual(list);
        expect(got.early, `round ${round}`).toEqual(list.items);
      }
    }
  });

  it.each([
    ['no magic', Buffer.from('{"kind":"PodList"}')],
    ['another kind', body([listMeta], 'NamespaceList')],
    ['an envelope without the list', Buffer.from([...MAGIC, ...encode([[1, [[2, 'PodList']]]])])],
    ['a content encoding', body([listMeta], 'PodList', [[3, 'gzip']])],
    ['a group beside the items', body([[50, { wireType: 3, bytes: [...varint(50 * 8 + 4)] }], listMeta])],
    [
      'the list before its type',
      Buffer.from([
        ...MAGIC,
        ...encode([
          [2, [listMeta]],
          [
            1,
            [
              [1, 'v1'],
              [2, 'PodList'],
            ],
          ],
        ]),
      ]),
    ],
  ])('refuses %s with its own error', (_, b) => {
    expect(streamed(b, [3])).toEqual({ ok: false, error: 'PodProtobufError' });
  });
});

describe('decodeStatusMessage', () => {
  it('reads the message of a protobuf Status, and null for anything else', () => {
    expect(
      decodeStatusMessage(
        body(
          [
            [2, 'Failure'],
            [3, 'pods "x" not found'],
            [6, 404],
          ],
          'Status',
        ),
      ),
    ).toBe('pods "x" not found');
    expect(decodeStatusMessage(body([listMeta]))).toBeNull();
    expect(decodeStatusMessage(Buffer.from('not protobuf'))).toBeNull();
    expect(decodeStatusMessage(body([[3, 'cut']], 'Status').subarray(0, 20))).toBeNull();
  });
});
