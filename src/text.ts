/**
 * Text helpers every stage uses. A leaf module that imports nothing, so rate/, plan/, record/
 * and report/ can share it without importing one another.
 */

/** `text` as a regex that matches it literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
