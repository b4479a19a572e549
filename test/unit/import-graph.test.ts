/**
 * The import graph of src/ and drivers/: no import circles (static, type-only or dynamic imports all
 * count, as in `madge --circular`), and the layering of docs/development.md.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every relative module a file imports or re-exports, by any kind of import. */
function importsOf(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const specs: string[] = [];
  const visit = (n: ts.Node) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier)
      specs.push((n.moduleSpecifier as ts.StringLiteral).text);
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = n.arguments;
      if (arg && ts.isStringLiteralLike(arg)) specs.push(arg.text);
    }
    if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal))
      specs.push(n.argument.literal.text);
    ts.forEachChild(n, visit);
  };
  visit(src);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(root, resolve(dirname(file), s.replace(/\.js$/, '.ts'))));
}

const graph = new Map<string, string[]>(
  [...files(join(root, 'src')), ...files(join(root, 'drivers'))].map((f) => [
    relative(root, f),
    importsOf(f),
  ]),
);

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function circles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (g.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) strong(v);
  return out;
}

const edges = (from: (f: string) => boolean, to: (f: string) => boolean) =>
  [...graph].flatMap(([f, deps]) => (from(f) ? deps.filter(to).map((d) => `${f} → ${d}`) : []));

describe('import graph of src/ and drivers/', () => {
  it('reads every module and its imports', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/lb/backends.ts')).toContain('src/lb/target.ts');
    // dynamic imports count
    expect(graph.get('src/lb/backends.ts')).toContain('src/lb/gce/index.ts');
  });

  it('finds a circle when there is one (the check itself)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(circles(g)).toEqual([['a', 'b', 'c']]);
  });

  it('has no import circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('core never imports the CLI commands', () => {
    const core = (f: string) => f.startsWith('src/') && !f.startsWith('src/commands/') && f !== 'src/cli.ts';
    expect(edges(core, (d) => d.startsWith('src/commands/'))).toEqual([]);
  });

  it('load balancers and drivers do not import each other', () => {
    expect(
      edges(
        (f) => f.startsWith('src/lb/'),
        (d) => d.startsWith('drivers/'),
      ),
    ).toEqual([]);
    expect(
      edges(
        (f) => f.startsWith('drivers/'),
        (d) => d.startsWith('src/lb/'),
      ),
    ).toEqual([]);
  });
});
