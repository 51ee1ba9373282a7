// Small DOM helpers for the Layer Explorer webview. Text only: there is no helper that takes HTML, so nothing from the
// daemon can become markup (the CSP forbids inline scripts as a second line of defence).

type Attrs = Readonly<Record<string, string>>;

/**
 * `<tag class=… attrs…>children</tag>`; string children become text nodes. Attribute values are set with
 * setAttribute, which never parses markup; `style` is refused (the CSP blocks inline style attributes: use
 * element.style, which it allows).
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, attrs?: Attrs, ...children: (Node | string)[]): HTMLElementTagNameMap[K];
export function el(tag: string, cls?: string, attrs?: Attrs, ...children: (Node | string)[]): HTMLElement;
export function el(tag: string, cls = '', attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'style' || k.startsWith('on')) throw new Error(`el(): attribute ${k} is not allowed`);
    e.setAttribute(k, v);
  }
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`webview: #${id} is missing from the page`);
  return e as T;
}

/** Removes every child. */
export function clear(e: Element): void {
  e.replaceChildren();
}

/** Text that screen readers say and sighted users do not see. */
export function srOnly(text: string): HTMLSpanElement {
  return el('span', 'sr-only', {}, text);
}
