// The `filter` of Compute list calls: `labels.env = "prod"`, `labels.owner:*`, `name != "x"`,
// `(a) (b)` / `a AND b`, `a OR b`, `NOT a`, wildcards in `=` values, and the legacy regex form
// `name eq 'web-.*'` / `ne`.
import { invalidField } from './errors.js';

type Op = '=' | '!=' | ':' | 'eq' | 'ne' | '<' | '<=' | '>' | '>=';
type Node =
  | { t: 'and' | 'or'; a: Node; b: Node }
  | { t: 'not'; a: Node }
  | { t: 'cmp'; field: string; op: Op; value: string };
type Token = { k: 'lp' | 'rp' | 'op' | 'word' | 'str'; v: string };

export type Predicate = (resource: unknown) => boolean;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ k: c === '(' ? 'lp' : 'rp', v: c });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && src[j + 1] === c) j++; // \" inside "…"; other backslashes stay (regexes)
        v += src[j++];
      }
      if (j >= src.length) throw new Error('unterminated string');
      out.push({ k: 'str', v });
      i = j + 1;
    } else {
      const op = /^(!=|<=|>=|=|:|<|>)/.exec(src.slice(i));
      if (op) {
        out.push({ k: 'op', v: op[1] });
        i += op[1].length;
        continue;
      }
      const w = /^[^\s()=!:<>"']+/.exec(src.slice(i));
      if (!w) throw new Error(`unexpected '${c}'`);
      out.push({ k: 'word', v: w[0] });
      i += w[0].length;
    }
  }
  return out;
}

function parse(tokens: Token[]): Node {
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t?.k === 'word' && t.v === w;

  const parseOr = (): Node => {
    let left = parseAnd();
    while (isWord(peek(), 'OR')) {
      pos++;
      left = { t: 'or', a: left, b: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Node => {
    let left = parseUnary();
    for (;;) {
      const t = peek();
      if (!t || t.k === 'rp' || isWord(t, 'OR')) return left;
      if (isWord(t, 'AND')) pos++;
      left = { t: 'and', a: left, b: parseUnary() };
    }
  };
  const parseUnary = (): Node => {
    const t = peek();
    if (!t) throw new Error('unexpected end of filter');
    if (isWord(t, 'NOT')) {
      pos++;
      return { t: 'not', a: parseUnary() };
    }
    if (t.k === 'lp') {
      pos++;
      const inner = parseOr();
      if (peek()?.k !== 'rp') throw new Error("missing ')'");
      pos++;
      return inner;
    }
    if (t.k !== 'word') throw new Error(`unexpected '${t.v}'`);
    pos++;
    let field = t.v;
    let negate = false;
    if (field.startsWith('-')) {
      negate = true;
      field = field.slice(1);
    }
    const opTok = peek();
    let op: Op;
    if (opTok?.k === 'op') op = opTok.v as Op;
    else if (isWord(opTok, 'eq') || isWord(opTok, 'ne')) op = opTok!.v as Op;
    else throw new Error(`expected an operator after '${field}'`);
    pos++;
    const val = peek();
    if (!val || (val.k !== 'word' && val.k !== 'str'))
      throw new Error(`expected a value after '${field} ${op}'`);
    pos++;
    const node: Node = { t: 'cmp', field, op, value: val.v };
    return negate ? { t: 'not', a: node } : node;
  };

  const node = parseOr();
  if (pos !== tokens.length) throw new Error(`unexpected '${tokens[pos].v}'`);
  return node;
}

/** Every leaf value at a dotted path; arrays fan out. `undefined` entries are dropped. */
export function valuesAt(obj: unknown, path: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const seg of path.split('.')) {
    const next: unknown[] = [];
    for (const c of cur) {
      const items = Array.isArray(c) ? c : [c];
      for (const it of items) {
        if (it && typeof it === 'object' && seg in (it as object)) {
          const v = (it as Record<string, unknown>)[seg];
          if (Array.isArray(v)) next.push(...v);
          else if (v !== undefined && v !== null) next.push(v);
        }
      }
    }
    cur = next;
  }
  return cur;
}

const globToRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

function compare(values: unknown[], op: Op, want: string): boolean {
  const strs = values.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)));
  switch (op) {
    case ':':
      return want === '*' ? strs.length > 0 : strs.some((s) => s.includes(want));
    case '=':
      return want.includes('*') ? strs.some((s) => globToRegExp(want).test(s)) : strs.includes(want);
    case '!=':
      return !compare(values, '=', want);
    case 'eq':
      return strs.some((s) => new RegExp(`^(?:${want})$`).test(s));
    case 'ne':
      return !compare(values, 'eq', want);
    default: {
      const num = (s: string) => (s !== '' && !Number.isNaN(Number(s)) ? Number(s) : s);
      const w = num(want);
      return strs.some((s) => {
        const v = num(s);
        if (op === '<') return v < w;
        if (op === '<=') return v <= w;
        if (op === '>') return v > w;
        return v >= w;
      });
    }
  }
}

function evaluate(node: Node, obj: unknown): boolean {
  switch (node.t) {
    case 'and':
      return evaluate(node.a, obj) && evaluate(node.b, obj);
    case 'or':
      return evaluate(node.a, obj) || evaluate(node.b, obj);
    case 'not':
      return !evaluate(node.a, obj);
    default:
      return compare(valuesAt(obj, node.field), node.op, node.value);
  }
}

/** Compile a filter; an empty filter matches everything. Throws the API's 400 for a bad expression. */
export function compileFilter(filter: string | undefined): Predicate {
  if (!filter || !filter.trim()) return () => true;
  let node: Node;
  try {
    node = parse(tokenize(filter));
    const checkRegexes = (n: Node): void => {
      if (n.t === 'cmp') {
        if (n.op === 'eq' || n.op === 'ne') new RegExp(n.value);
      } else if (n.t === 'not') checkRegexes(n.a);
      else {
        checkRegexes(n.a);
        checkRegexes(n.b);
      }
    };
    checkRegexes(node);
  } catch (err) {
    throw invalidField('filter', filter, `Invalid list filter expression: ${(err as Error).message}.`);
  }
  return (obj) => evaluate(node, obj);
}
