import { describe, expect, it } from 'vitest';
import { TemplateError, renderGoTemplate as render } from '../../src/util/go-template.js';

const machine = {
  Name: 'node1',
  State: 'Running',
  URL: 'tcp://10.0.0.5:2376',
  Port: 2376,
  Ratio: 1.5,
  Active: true,
  Swarm: false,
  Error: '',
  Nothing: null,
  Empty: [],
  EmptyMap: {},
  Tags: ['a', 'b', 'c'],
  Labels: { role: 'manager', zone: 'eu-1' },
  Driver: { IPAddress: '10.0.0.5', SSHUser: 'root', Extra: { Deep: 42 } },
};

describe('literal text and fields', () => {
  it('passes text through untouched', () => {
    expect(render('', machine)).toBe('');
    expect(render('plain text } { }} ', machine)).toBe('plain text } { }} ');
  });

  it('prints fields and field chains', () => {
    expect(render('{{.Name}}', machine)).toBe('node1');
    expect(render('{{ .Name }}', machine)).toBe('node1');
    expect(render('{{.Driver.IPAddress}}', machine)).toBe('10.0.0.5');
    expect(render('{{.Driver.Extra.Deep}}', machine)).toBe('42');
    expect(render('name={{.Name}} url={{.URL}}', machine)).toBe('name=node1 url=tcp://10.0.0.5:2376');
  });

  it('prints {{.}} and {{$}}', () => {
    expect(render('{{.}}', 'hello')).toBe('hello');
    expect(render('{{.}}', 7)).toBe('7');
    expect(render('{{$.Name}}/{{$}}', { Name: 'x' })).toBe('x/map[Name:x]');
  });

  it('prints <no value> for missing fields and fields of nil, like Go for maps', () => {
    expect(render('{{.Missing}}', machine)).toBe('<no value>');
    expect(render('{{.Missing.Deeper}}', machine)).toBe('<no value>');
    expect(render('{{.Nothing}}', machine)).toBe('<no value>');
    expect(render('{{.Nothing.X}}', machine)).toBe('<no value>');
    expect(render('{{.}}', null)).toBe('<no value>');
    expect(render('{{.X}}', undefined)).toBe('<no value>');
  });

  it('only sees own properties', () => {
    expect(render('{{.toString}}', {})).toBe('<no value>');
    expect(render('{{.constructor}}', {})).toBe('<no value>');
  });

  it('refuses fields of non-objects', () => {
    expect(() => render('{{.Name.Length}}', machine)).toThrow(
      'template: bad action "{{.Name.Length}}": can\'t evaluate field Length in type string',
    );
    expect(() => render('{{.Tags.First}}', machine)).toThrow(
      /can't evaluate field First in type \[\]interface \{\}/,
    );
  });
});

describe('value formatting', () => {
  it('prints numbers and booleans as Go would', () => {
    expect(render('{{.Port}} {{.Ratio}} {{.Active}} {{.Swarm}}', machine)).toBe('2376 1.5 true false');
    expect(render('{{.}}', Infinity)).toBe('+Inf');
  });

  it('prints arrays as [a b c] and objects as map[k:v] with sorted keys', () => {
    expect(render('{{.Tags}}', machine)).toBe('[a b c]');
    expect(render('{{.Labels}}', machine)).toBe('map[role:manager zone:eu-1]');
    expect(render('{{.}}', { b: [1, null], a: { y: 2, x: 'q' } })).toBe('map[a:map[x:q y:2] b:[1 <nil>]]');
    expect(render('{{.Empty}}{{.EmptyMap}}', machine)).toBe('[]map[]');
  });

  it('prints literals', () => {
    expect(render('{{"quoted \\"s\\""}} {{`raw \\n`}} {{42}} {{-3}} {{true}} {{nil}}', {})).toBe(
      'quoted "s" raw \\n 42 -3 true <no value>',
    );
    expect(render('{{"a}}b"}}', {})).toBe('a}}b');
  });
});

describe('escape sequences', () => {
  it('turns a literal \\t and \\n in the text into tab and newline, as docker does', () => {
    expect(render('{{.Name}}\\t{{.State}}\\n', machine)).toBe('node1\tRunning\n');
    expect(render('{{.Name}}\t{{.State}}', machine)).toBe('node1\tRunning');
  });

  it('interprets escapes inside quoted arguments the Go way', () => {
    expect(render('{{join .Tags "\\t"}}', machine)).toBe('a\tb\tc');
    expect(render('{{join .Tags "\\n"}}', machine)).toBe('a\nb\nc');
    expect(render('{{join .Tags `\\t`}}', machine)).toBe('a\\tb\\tc');
  });
});

describe('functions', () => {
  it('json and prettyjson', () => {
    expect(render('{{json .Driver}}', machine)).toBe(
      '{"IPAddress":"10.0.0.5","SSHUser":"root","Extra":{"Deep":42}}',
    );
    expect(render('{{json .}}', { a: 1 })).toBe('{"a":1}');
    expect(render('{{json .Missing}}', machine)).toBe('null');
    expect(render('{{json .Name}}', machine)).toBe('"node1"');
    expect(render('{{prettyjson .}}', { a: 1, b: [true] })).toBe(
      '{\n    "a": 1,\n    "b": [\n        true\n    ]\n}',
    );
  });

  it('upper and lower', () => {
    expect(render('{{upper .State}} {{lower .State}}', machine)).toBe('RUNNING running');
  });

  it('index into maps and arrays', () => {
    expect(render('{{index .Labels "role"}}', machine)).toBe('manager');
    expect(render('{{index .Labels "nope"}}', machine)).toBe('<no value>');
    expect(render('{{index .Tags 1}}', machine)).toBe('b');
    expect(render('{{index . "Labels" "zone"}}', machine)).toBe('eu-1');
    expect(render('{{index .Missing "k"}}', machine)).toBe('<no value>');
    expect(() => render('{{index .Tags 3}}', machine)).toThrow(
      'template: bad action "{{index .Tags 3}}": error calling index: index out of range: 3',
    );
    expect(() => render('{{index .Name 0}}', machine)).toThrow(/can't index item of type string/);
  });

  it('join', () => {
    expect(render('{{join .Tags ","}}', machine)).toBe('a,b,c');
    expect(render('{{join .Empty ","}}', machine)).toBe('');
    expect(render('{{join .Missing ","}}', machine)).toBe('');
    expect(() => render('{{join .Name ","}}', machine)).toThrow(/join needs a list/);
  });

  it('len, not, eq, ne, and, or', () => {
    expect(render('{{len .Tags}} {{len .Labels}} {{len .Name}}', machine)).toBe('3 2 5');
    expect(render('{{not .Active}} {{not .Error}}', machine)).toBe('false true');
    expect(render('{{eq .State "Running"}} {{eq .Port 1 2376}} {{ne .Port 2376}}', machine)).toBe(
      'true true false',
    );
    expect(render('{{and .Active .Name}} {{or .Error .State}}', machine)).toBe('node1 Running');
  });

  it('pipes and parentheses', () => {
    expect(render('{{.Name | upper}}', machine)).toBe('NODE1');
    expect(render('{{index .Labels "role" | upper | lower}}', machine)).toBe('manager');
    expect(render('{{upper (index .Labels "zone")}}', machine)).toBe('EU-1');
    expect(render('{{if eq (len .Tags) 3}}three{{end}}', machine)).toBe('three');
  });

  it('checks the number of arguments', () => {
    expect(() => render('{{join .Tags}}', machine)).toThrow(
      'template: bad action "{{join .Tags}}": wrong number of args for join: want 2 got 1',
    );
    expect(() => render('{{upper}}', machine)).toThrow(/wrong number of args for upper: want 1 got 0/);
  });
});

describe('if / else / with', () => {
  it('follows Go truthiness', () => {
    const t = '{{if .}}T{{else}}F{{end}}';
    for (const falsy of [false, 0, '', null, undefined, [], {}]) expect(render(t, falsy)).toBe('F');
    for (const truthy of [true, 1, -1, 'x', [0], { a: 0 }, new Date(0)]) expect(render(t, truthy)).toBe('T');
  });

  it('renders branches', () => {
    expect(render('{{if .Active}}up{{end}}', machine)).toBe('up');
    expect(render('{{if .Swarm}}swarm{{end}}', machine)).toBe('');
    expect(render('{{if .Error}}{{.Error}}{{else}}ok{{end}}', machine)).toBe('ok');
    expect(render('{{if .Swarm}}a{{else if .Active}}b{{else}}c{{end}}', machine)).toBe('b');
    expect(render('{{if .Swarm}}a{{else if .Error}}b{{else}}c{{end}}', machine)).toBe('c');
    expect(render('{{if .Active}}{{if .Swarm}}x{{else}}y{{end}}{{end}}', machine)).toBe('y');
  });

  it('with rebinds dot', () => {
    expect(render('{{with .Driver}}{{.SSHUser}}@{{.IPAddress}}{{end}}', machine)).toBe('root@10.0.0.5');
    expect(render('{{with .Nothing}}x{{else}}none{{end}}', machine)).toBe('none');
  });
});

describe('range', () => {
  it('rebinds dot to each element', () => {
    expect(render('{{range .Tags}}<{{.}}>{{end}}', machine)).toBe('<a><b><c>');
    expect(render('{{range .}}{{.Name}} {{end}}', [{ Name: 'x' }, { Name: 'y' }])).toBe('x y ');
    expect(render('{{range .Tags}}{{$.Name}}{{end}}', machine)).toBe('node1node1node1');
  });

  it('iterates maps in key order and runs else when empty', () => {
    expect(render('{{range .}}{{.}},{{end}}', { b: 2, a: 1 })).toBe('1,2,');
    expect(render('{{range .Empty}}x{{else}}empty{{end}}', machine)).toBe('empty');
    expect(render('{{range .Missing}}x{{else}}none{{end}}', machine)).toBe('none');
  });

  it('refuses to iterate over a scalar', () => {
    expect(() => render('{{range .Port}}{{end}}', machine)).toThrow(
      `template: bad action "{{range .Port}}": range can't iterate over 2376`,
    );
  });
});

describe('whitespace trimming and comments', () => {
  it('trims with {{- and -}}', () => {
    expect(render('a  \n {{- .Name -}} \n\t b', machine)).toBe('anode1b');
    expect(render('{{range .Tags -}}\n  {{.}}\n{{- end}}', machine)).toBe('abc');
    expect(render('a\\n  {{- .Name}}', machine)).toBe('anode1');
  });

  it('does not mistake a negative number for a trim marker', () => {
    expect(render('x {{-3}}', {})).toBe('x -3');
  });

  it('skips comments', () => {
    expect(render('a{{/* a comment with }} inside */}}b', {})).toBe('ab');
    expect(render('a {{- /* trimmed */ -}} b', {})).toBe('ab');
  });
});

describe('errors', () => {
  const fails = (tpl: string) => {
    try {
      render(tpl, machine);
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as Error).message).not.toContain('\n');
      return (err as Error).message;
    }
    throw new Error(`no error for ${tpl}`);
  };

  it('reports unknown functions', () => {
    expect(fails('{{foo .X}}')).toBe('template: bad action "{{foo .X}}": function "foo" not defined');
    expect(fails('{{if .A}}{{bar}}{{end}}')).toBe(
      'template: bad action "{{bar}}": function "bar" not defined',
    );
  });

  it('reports unbalanced braces and blocks', () => {
    expect(fails('{{.Name')).toBe('template: unclosed action "{{.Name"');
    expect(fails('x {{.Name}} {{"unterminated}}')).toMatch(/^template: unclosed action/);
    expect(fails('{{/* never closed }}')).toMatch(/^template: unclosed action/);
    expect(fails('{{end}}')).toBe('template: unexpected {{end}}');
    expect(fails('{{else}}')).toBe('template: unexpected {{else}}');
    expect(fails('{{if .Active}}x')).toBe('template: unexpected EOF: missing {{end}} for "{{if .Active}}"');
    expect(fails('{{range .Tags}}{{if .}}{{end}}')).toMatch(/missing \{\{end\}\} for "\{\{range \.Tags\}\}"/);
    expect(fails('{{if .A}}{{else}}{{else}}{{end}}')).toMatch(/unexpected \{\{else\}\} after \{\{else\}\}/);
    expect(fails('{{upper (.Name}}')).toMatch(/unclosed left paren/);
    expect(fails('{{.Name)}}')).toMatch(/unexpected "\)"/);
  });

  it('reports malformed actions', () => {
    expect(fails('{{}}')).toBe('template: bad action "{{}}": missing value for command');
    expect(fails('{{if}}{{end}}')).toMatch(/missing value for if/);
    expect(fails('{{.Name .Port}}')).toMatch(/can't give argument to non-function/);
    expect(fails('{{.Name | .Port}}')).toMatch(/can't give argument to non-function/);
    expect(fails('{{.Name |}}')).toMatch(/missing command after "\|"/);
    expect(fails('{{$x := .Name}}')).toMatch(/undefined variable "\$x"/);
    expect(fails('{{.Name # }}')).toMatch(/unexpected "#" in command/);
    expect(fails('{{range .Tags}}{{else if .A}}{{end}}')).toMatch(/unexpected "if .A" after else/);
    expect(fails('{{.Name upper}}')).toMatch(/function "upper" must come first/);
    expect(fails('{{"bad \\q escape"}}')).toMatch(/invalid syntax in string/);
  });

  it('keeps messages on one line and short', () => {
    const long = `{{.Name\n${'x'.repeat(200)}`;
    expect(fails(long).length).toBeLessThan(120);
  });
});
