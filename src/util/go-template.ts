/**
 * A small subset of Go's text/template, for docker-machine compatible `--format` / `-f` strings such as
 * `{{.Driver.IPAddress}}` or `{{.Name}}\t{{.URL}}`.
 *
 * Supported: text; `{{.}}`, `{{.A.B}}`, `{{$}}`, `{{$.A}}`; string/number/true/false/nil literals; pipes
 * `{{.X | upper}}` and parentheses; `{{if}}`, `{{else if}}`, `{{else}}`, `{{with}}`, `{{range}}` (dot
 * rebound to each element; maps iterate by sorted key), `{{end}}`; Go comments `{{/* ... *\/}}`;
 * `{{- ` and ` -}}` whitespace trimming.
 * Functions: json, prettyjson (4-space indent, as docker-machine), upper, lower, index, join, len, not, eq,
 * ne, and, or. Not supported: variables other than `$`, printf, templates/blocks, methods.
 *
 * Like docker's formatter, a literal backslash-t or backslash-n in the text (as shells pass `"\t"`) becomes a
 * tab or newline before the template is interpreted; inside quoted arguments Go's own escapes apply.
 *
 * Values print as Go's fmt would for interface{} data: nil/missing → `<no value>` at top level (`<nil>` when
 * nested), arrays `[a b c]`, objects `map[k:v k2:v2]` with sorted keys. Missing fields and fields of nil print
 * `<no value>`; a field of a string/number/array is an error. Errors are TemplateErrors with one-line messages.
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Arg =
  | { t: 'field'; root: 'dot' | '$'; path: string[] }
  | { t: 'lit'; value: unknown }
  | { t: 'pipe'; pipe: Pipe };
interface Cmd {
  fn?: string;
  args: Arg[];
}
type Pipe = Cmd[];
type Node =
  | { t: 'text'; text: string }
  | { t: 'print'; pipe: Pipe; src: string }
  | { t: 'if' | 'with' | 'range'; pipe: Pipe; body: Node[]; alt: Node[]; src: string };
interface Item {
  text?: string;
  action?: string;
  src: string;
}

const FUNCS: Record<string, { min: number; max: number; fn: (...a: unknown[]) => unknown }> = {
  json: { min: 1, max: 1, fn: (v) => JSON.stringify(v ?? null) },
  prettyjson: { min: 1, max: 1, fn: (v) => JSON.stringify(v ?? null, null, 4) },
  upper: { min: 1, max: 1, fn: (v) => format(v).toUpperCase() },
  lower: { min: 1, max: 1, fn: (v) => format(v).toLowerCase() },
  index: { min: 1, max: Infinity, fn: (v, ...keys) => keys.reduce(indexOne, v) },
  join: { min: 2, max: 2, fn: join },
  len: { min: 1, max: 1, fn: len },
  not: { min: 1, max: 1, fn: (v) => !truthy(v) },
  eq: { min: 2, max: Infinity, fn: (a, ...bs) => bs.some((b) => a === b) },
  ne: { min: 2, max: 2, fn: (a, b) => a !== b },
  and: { min: 1, max: Infinity, fn: (...vs) => vs.find((v) => !truthy(v)) ?? vs[vs.length - 1] },
  or: { min: 1, max: Infinity, fn: (...vs) => vs.find(truthy) ?? vs[vs.length - 1] },
};

/** Render `template` against `data`; throws TemplateError on a malformed template or a failed action. */
export function renderGoTemplate(template: string, data: unknown): string {
  const items = lex(template);
  const { nodes } = parseList(items, { i: 0 });
  const out: string[] = [];
  exec(nodes, data, data, out);
  return out.join('');
}

// ---- lexing: text and {{actions}} ----------------------------------------------------------------------

const short = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s).replace(/\s+/g, ' ');
const bad = (src: string, msg: string) => new TemplateError(`template: bad action "${short(src)}": ${msg}`);

function lex(tpl: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  let trimNext = false;
  while (i < tpl.length) {
    const open = tpl.indexOf('{{', i);
    let text = tpl
      .slice(i, open < 0 ? undefined : open)
      .replace(/\\t/g, '\t')
      .replace(/\\n/g, '\n');
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    let start = open + 2;
    if (open >= 0 && /^-\s/.test(tpl.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start++;
    }
    if (text) items.push({ text, src: text });
    if (open < 0) break;
    let j = /^\s*\/\*/.test(tpl.slice(start)) ? tpl.indexOf('*/', start) : start;
    let close = -1;
    while (j >= 0 && j < tpl.length) {
      const c = tpl[j]!;
      if (c === '"' || c === '`') {
        const re = c === '"' ? /"(?:[^"\\\n]|\\.)*"/y : /`[^`]*`/y;
        re.lastIndex = j;
        if (!re.test(tpl)) break; // an unterminated string: reported as an unclosed action
        j = re.lastIndex;
      } else if (tpl.startsWith('}}', j)) {
        close = j;
        break;
      } else j++;
    }
    if (close < 0) throw new TemplateError(`template: unclosed action "${short(tpl.slice(open))}"`);
    let end = close;
    if (/\s-$/.test(tpl.slice(start, close))) {
      end--;
      trimNext = true;
    }
    items.push({ action: tpl.slice(start, end).trim(), src: tpl.slice(open, close + 2) });
    i = close + 2;
  }
  return items;
}

// ---- parsing: actions into a tree ------------------------------------------------------------------------

const TOKEN =
  /\s*(?:("(?:[^"\\\n]|\\.)*"|`[^`]*`)|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])|(\$?(?:\.[A-Za-z_]\w*)+|\.|\$(?!\w))|(\$\w+)|([A-Za-z_]\w*)|([|()]))/y;

function parsePipeline(text: string, src: string): Pipe {
  const toks: RegExpExecArray[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length && !/^\s*$/.test(text.slice(TOKEN.lastIndex))) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw bad(src, `unexpected "${text.slice(at).trim()[0]}" in command`);
    if (m[4]) throw bad(src, `undefined variable "${m[4]}"`);
    toks.push(m);
  }
  const [pipe, pos] = parsePipe(toks, 0, src);
  if (pos < toks.length) throw bad(src, 'unexpected ")"');
  return pipe;
}

function parsePipe(toks: RegExpExecArray[], pos: number, src: string): [Pipe, number] {
  const pipe: Pipe = [];
  let cmd: Cmd = { args: [] };
  const finish = () => {
    if (!cmd.fn && cmd.args.length === 0)
      throw bad(src, pipe.length ? 'missing command after "|"' : 'missing value for command');
    if (!cmd.fn && (cmd.args.length > 1 || pipe.length > 0))
      throw bad(src, "can't give argument to non-function");
    pipe.push(cmd);
  };
  for (; pos < toks.length && toks[pos]![6] !== ')'; pos++) {
    const [, str, num, field, , ident, punct] = toks[pos]!;
    if (punct === '|') {
      finish();
      cmd = { args: [] };
    } else if (punct === '(') {
      const [inner, end] = parsePipe(toks, pos + 1, src);
      if (toks[end]?.[6] !== ')') throw bad(src, 'unclosed left paren');
      cmd.args.push({ t: 'pipe', pipe: inner });
      pos = end;
    } else if (str !== undefined) cmd.args.push({ t: 'lit', value: unquote(str, src) });
    else if (num !== undefined) cmd.args.push({ t: 'lit', value: Number(num) });
    else if (field !== undefined) {
      const root = field.startsWith('$') ? '$' : 'dot';
      cmd.args.push({ t: 'field', root, path: field.split('.').slice(1).filter(Boolean) });
    } else if (ident === 'true' || ident === 'false' || ident === 'nil') {
      cmd.args.push({ t: 'lit', value: ident === 'nil' ? null : ident === 'true' });
    } else if (!FUNCS[ident!]) throw bad(src, `function "${ident}" not defined`);
    else if (cmd.fn || cmd.args.length) throw bad(src, `function "${ident}" must come first in a command`);
    else cmd.fn = ident;
  }
  finish();
  return [pipe, pos];
}

function unquote(s: string, src: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  try {
    return JSON.parse(s.replace(/\t/g, '\\t')) as string;
  } catch {
    throw bad(src, `invalid syntax in string ${s}`);
  }
}

/** Parse items into nodes until EOF, or (inside a block opened by `opener`) until {{else}} or {{end}}. */
function parseList(
  items: Item[],
  st: { i: number },
  opener?: string,
): { nodes: Node[]; end?: 'else' | 'end'; rest?: string } {
  const nodes: Node[] = [];
  while (st.i < items.length) {
    const item = items[st.i++]!;
    if (item.action === undefined) {
      nodes.push({ t: 'text', text: item.text! });
      continue;
    }
    if (item.action.startsWith('/*')) continue;
    const [, kw, rest = ''] = /^(if|with|range|else|end)\b\s*(.*)$/s.exec(item.action) ?? [];
    if (kw === 'else' || kw === 'end') {
      if (!opener) throw new TemplateError(`template: unexpected {{${kw}}}`);
      if (kw === 'end' && rest) throw bad(item.src, 'unexpected arguments to end');
      return { nodes, end: kw, rest };
    }
    if (kw === 'if' || kw === 'with' || kw === 'range') nodes.push(parseBlock(kw, rest, item.src, items, st));
    else nodes.push({ t: 'print', pipe: parsePipeline(item.action, item.src), src: item.src });
  }
  if (opener) throw new TemplateError(`template: unexpected EOF: missing {{end}} for "${short(opener)}"`);
  return { nodes };
}

function parseBlock(
  kw: 'if' | 'with' | 'range',
  rest: string,
  src: string,
  items: Item[],
  st: { i: number },
): Node {
  if (!rest) throw bad(src, `missing value for ${kw}`);
  const pipe = parsePipeline(rest, src);
  const body = parseList(items, st, src);
  let alt: Node[] = [];
  if (body.end === 'else') {
    const chained = /^(if|with)\b\s*(.*)$/s.exec(body.rest ?? '');
    if (chained && chained[1] === kw) {
      alt = [parseBlock(chained[1] as 'if' | 'with', chained[2]!, src, items, st)]; // shares our {{end}}
    } else if (body.rest) {
      throw bad(src, `unexpected "${body.rest}" after else`);
    } else {
      const other = parseList(items, st, src);
      if (other.end === 'else')
        throw new TemplateError(`template: unexpected {{else}} after {{else}} in "${short(src)}"`);
      alt = other.nodes;
    }
  }
  return { t: kw, pipe, body: body.nodes, alt, src };
}

// ---- evaluation ------------------------------------------------------------------------------------------

function exec(nodes: Node[], dot: unknown, root: unknown, out: string[]): void {
  for (const node of nodes) {
    if (node.t === 'text') {
      out.push(node.text);
      continue;
    }
    let value: unknown;
    try {
      value = evalPipe(node.pipe, dot, root);
    } catch (err) {
      throw err instanceof TemplateError ? err : bad(node.src, (err as Error).message);
    }
    if (node.t === 'print') out.push(format(value, true));
    else if (node.t === 'range') {
      const list = Array.isArray(value)
        ? value
        : isMap(value)
          ? sortedKeys(value).map((k) => value[k])
          : value;
      if (list != null && !Array.isArray(list))
        throw bad(node.src, `range can't iterate over ${format(list)}`);
      if (!list?.length) exec(node.alt, dot, root, out);
      else for (const el of list) exec(node.body, el, root, out);
    } else if (truthy(value)) exec(node.body, node.t === 'with' ? value : dot, root, out);
    else exec(node.alt, dot, root, out);
  }
}

function evalPipe(pipe: Pipe, dot: unknown, root: unknown): unknown {
  let prev: unknown;
  for (const [i, cmd] of pipe.entries()) {
    const args = cmd.args.map((a) => evalArg(a, dot, root));
    if (i > 0) args.push(prev); // the previous command's result becomes the last argument
    if (!cmd.fn) {
      prev = args[0];
      continue;
    }
    const { min, max, fn } = FUNCS[cmd.fn]!;
    if (args.length < min || args.length > max) {
      const want = min === max ? `${min}` : `at least ${min}`;
      throw new Error(`wrong number of args for ${cmd.fn}: want ${want} got ${args.length}`);
    }
    try {
      prev = fn(...args);
    } catch (err) {
      throw new Error(`error calling ${cmd.fn}: ${(err as Error).message}`);
    }
  }
  return prev;
}

function evalArg(arg: Arg, dot: unknown, root: unknown): unknown {
  if (arg.t === 'lit') return arg.value;
  if (arg.t === 'pipe') return evalPipe(arg.pipe, dot, root);
  let v = arg.root === '$' ? root : dot;
  for (const name of arg.path) {
    if (v == null) return undefined;
    if (!isMap(v)) throw new Error(`can't evaluate field ${name} in type ${goType(v)}`);
    v = Object.hasOwn(v, name) ? v[name] : undefined;
  }
  return v;
}

// ---- Go-like values --------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
const sortedKeys = (o: Obj) => Object.keys(o).sort();

function goType(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return Array.isArray(v) ? '[]interface {}' : typeof v;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

function format(v: unknown, top = false): string {
  if (v == null) return top ? '<no value>' : '<nil>';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map((x) => format(x)).join(' ')}]`;
  if (isMap(v))
    return `map[${sortedKeys(v)
      .map((k) => `${k}:${format(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

function indexOne(v: unknown, key: unknown): unknown {
  if (v == null) return undefined;
  if (Array.isArray(v)) {
    if (typeof key !== 'number' || !Number.isInteger(key))
      throw new Error(`cannot index slice with ${format(key)}`);
    if (key < 0 || key >= v.length) throw new Error(`index out of range: ${key}`);
    return v[key];
  }
  if (!isMap(v)) throw new Error(`can't index item of type ${goType(v)}`);
  return Object.hasOwn(v, String(key)) ? v[String(key)] : undefined;
}

function join(list: unknown, sep: unknown): string {
  if (list == null) return '';
  if (!Array.isArray(list)) throw new Error(`join needs a list, not ${goType(list)}`);
  return list.map((x) => format(x)).join(format(sep));
}

function len(v: unknown): number {
  if (Array.isArray(v) || typeof v === 'string') return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new Error(`len of ${v == null ? 'nil pointer' : `type ${goType(v)}`}`);
}
