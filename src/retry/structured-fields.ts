/**
 * Structured Field Values (RFC 9651), only the subset the IETF RateLimit headers use:
 * Lists and Dictionaries of bare items with parameters.
 *
 * Separate from the quota readers because it is a grammar with no quota knowledge: the readers
 * ask for items and parameters and never see characters. Malformed text gives `undefined`,
 * never a throw, so a bad field is ignored as the drafts require.
 */

export interface SfBare {
  kind: 'integer' | 'decimal' | 'string' | 'token' | 'bytes' | 'boolean';
  value: number | string | boolean;
}
export interface SfItem extends SfBare {
  params: Map<string, SfBare>;
}

class SfError extends Error {}

/** Inner lists, Dates and Display Strings are not used by these fields and fail the parse. */
export function parseSfList(text: string | undefined): SfItem[] | undefined {
  return parseSf(text, (p) => p.item());
}

export function parseSfDictionary(text: string | undefined): Map<string, SfItem> | undefined {
  const members = parseSf(text, (p) => {
    const key = p.key();
    if (p.peek() === '=') {
      p.pos++;
      return [key, p.item()] as const;
    }
    return [key, { kind: 'boolean', value: true, params: p.params() } satisfies SfItem] as const;
  });
  return members === undefined ? undefined : new Map(members); // a repeated key: the last wins
}

function parseSf<T>(text: string | undefined, member: (p: SfParser) => T): T[] | undefined {
  if (text === undefined) return undefined;
  const p = new SfParser(text.replace(/^[ \t]+|[ \t]+$/g, ''));
  const out: T[] = [];
  try {
    while (!p.atEnd()) {
      out.push(member(p));
      p.skip(/[ \t]/);
      if (p.atEnd()) break;
      p.expect(',');
      p.skip(/[ \t]/);
      if (p.atEnd()) throw new SfError('trailing comma');
    }
  } catch (error) {
    if (error instanceof SfError) return undefined;
    throw error;
  }
  return out;
}

class SfParser {
  pos = 0;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  skip(re: RegExp): void {
    while (!this.atEnd() && re.test(this.peek())) this.pos++;
  }
  expect(char: string): void {
    if (this.peek() !== char) throw new SfError(`expected ${char}`);
    this.pos++;
  }
  match(re: RegExp): string {
    re.lastIndex = this.pos;
    const m = re.exec(this.s);
    if (!m) throw new SfError('unexpected character');
    this.pos += m[0].length;
    return m[0];
  }

  item(): SfItem {
    return { ...this.bare(), params: this.params() };
  }
  params(): Map<string, SfBare> {
    const params = new Map<string, SfBare>();
    while (this.peek() === ';') {
      this.pos++;
      this.skip(/ /);
      const key = this.key();
      let value: SfBare = { kind: 'boolean', value: true };
      if (this.peek() === '=') {
        this.pos++;
        value = this.bare();
      }
      params.set(key, value); // a repeated parameter: the last wins
    }
    return params;
  }
  key(): string {
    return this.match(/[a-z*][a-z0-9_\-.*]*/y);
  }
  bare(): SfBare {
    const c = this.peek();
    if (c === '-' || (c >= '0' && c <= '9')) {
      const text = this.match(/-?\d+(?:\.\d+)?/y);
      const [int = '', frac] = text.replace('-', '').split('.');
      if (frac === undefined ? int.length > 15 : int.length > 12 || frac.length > 3) throw new SfError('number too long');
      return { kind: frac === undefined ? 'integer' : 'decimal', value: Number(text) };
    }
    if (c === '"') {
      const text = this.match(/"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"/y);
      return { kind: 'string', value: text.slice(1, -1).replace(/\\(["\\])/g, '$1') };
    }
    if (c === ':') return { kind: 'bytes', value: this.match(/:[A-Za-z0-9+/=]*:/y).slice(1, -1) };
    if (c === '?') return { kind: 'boolean', value: this.match(/\?[01]/y) === '?1' };
    return { kind: 'token', value: this.match(/[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y) };
  }
}
