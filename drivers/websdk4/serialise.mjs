// Serialisation of what the SDK hands to callbacks into protocol JSON (shared by the 4.x drivers
// through core.mjs; the same rules as the 3.x driver's).

export async function toBytes(v) {
  if (v == null) return Buffer.alloc(0);
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof Blob !== 'undefined' && v instanceof Blob) return Buffer.from(await v.arrayBuffer());
  throw new Error('unexpected download response ' + Object.prototype.toString.call(v));
}

// ────────────────────────────────────────────────────────────────────────────── serialisation ──
// JSON.stringify semantics (toJSON honoured, functions/undefined/symbols dropped from objects and
// null in arrays, NaN/Infinity -> null) plus: binary (ArrayBuffer, typed arrays, Buffer) -> base64;
// Blob/File -> base64 (read asynchronously, returned in `blobs`); a cycle -> "[Circular]";
// BigInt -> decimal string; Error -> {name, message, ...own enumerable}; an XMLHttpRequest -> {}
// (what JSON.stringify gives for a browser XHR, whose properties are all prototype getters).
export function toPlain(value) {
  const blobs = [];
  const stack = [];
  const XHR = globalThis.XMLHttpRequest;
  const isBlob = (v) => typeof Blob !== 'undefined' && v instanceof Blob;

  function conv(v, key, holder) {
    if (v !== null && (typeof v === 'object' || typeof v === 'function') && !isBlob(v) && !(v instanceof ArrayBuffer) &&
        !ArrayBuffer.isView(v) && typeof v.toJSON === 'function') {
      try { v = v.toJSON(key); } catch { /* keep v */ }
    }
    if (v === null) return null;
    switch (typeof v) {
      case 'string': case 'boolean': return v;
      case 'number': return Number.isFinite(v) ? v : null;
      case 'bigint': return v.toString();
      case 'undefined': case 'function': case 'symbol': return undefined;
    }
    if (v instanceof ArrayBuffer) return Buffer.from(v).toString('base64');
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    if (isBlob(v)) { blobs.push({ holder, key, blob: v }); return ''; }
    if (stack.includes(v)) return '[Circular]';
    if (XHR && v instanceof XHR) return {};
    if (v instanceof Number || v instanceof String || v instanceof Boolean) return conv(v.valueOf(), key, holder);
    stack.push(v);
    try {
      if (Array.isArray(v)) {
        const out = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const c = conv(v[i], String(i), out);
          out[i] = c === undefined ? null : c;
        }
        return out;
      }
      const out = {};
      if (v instanceof Error) {
        out.name = v.name;
        out.message = v.message;
      }
      for (const k of Object.keys(v)) {
        let x;
        try { x = v[k]; } catch { continue; }
        const c = conv(x, k, out);
        if (c !== undefined) out[k] = c;
      }
      return out;
    } finally {
      stack.pop();
    }
  }
  // box[0] is the result; a Blob (anywhere, even top level) is filled in later by the caller
  const box = [undefined];
  box[0] = conv(value, '', box);
  for (const b of blobs) if (b.holder === box) b.key = 0;
  return { box, blobs };
}
