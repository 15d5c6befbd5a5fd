// The args and env attributes of the wasi engine, split into words.

import { VmError } from '../errors.js';

/**
 * Splits an attribute into words as a shell would for simple cases: whitespace separates, single
 * or double quotes keep spaces, backslash escapes the next character.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i]!;
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new VmError('bad-arguments', `unclosed ${quote} in "${text}"`);
  if (word !== null) words.push(word);
  return words;
}
