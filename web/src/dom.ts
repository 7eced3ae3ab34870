// Small DOM helpers: h() builds elements, text/number formatting, and a confirmation dialog.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
      } else if (k === 'class') {
        el.className = String(v);
      } else if (k === 'style' && typeof v === 'object') {
        Object.assign(el.style, v);
      } else if (k === 'dataset' && typeof v === 'object') {
        for (const [dk, dv] of Object.entries(v as Record<string, unknown>)) el.dataset[dk] = String(dv);
      } else if (k in el && typeof v !== 'string') {
        (el as unknown as Record<string, unknown>)[k] = v;
      } else if (v === true) {
        el.setAttribute(k, '');
      } else {
        el.setAttribute(k, String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

export function fmt(x: unknown, digits = 4): string {
  if (x === null || x === undefined) return '—';
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) return String(x);
    if (Number.isInteger(x)) return x.toLocaleString('en-US');
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(2);
    return x.toFixed(digits).replace(/\.?0+$/, '') || '0';
  }
  return String(x);
}

export function pct(x: unknown): string {
  return typeof x === 'number' && Number.isFinite(x) ? (x * 100).toFixed(1) + ' %' : '—';
}

export function timeStr(iso: unknown): string {
  if (typeof iso !== 'string' || !iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('en-GB', { hour12: false });
}

export function shortSha(s: unknown): string {
  return typeof s === 'string' ? s.slice(0, 12) : '—';
}

export function badge(status: string): HTMLElement {
  return h('span', { class: `badge badge-${status.replace(/[^a-z]/g, '')}` }, status);
}

/** A labelled form field: <label for=id>text</label><control id=id>. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

/**
 * A modal confirmation dialog (native <dialog>: focus is kept inside, Escape cancels).
 * Resolves true when confirmed.
 */
export function confirmDialog(title: string, body: Child, confirmLabel = 'Confirm'): Promise<boolean> {
  return new Promise((resolve) => {
    const prevFocus = document.activeElement as HTMLElement | null;
    const titleId = `dlg-${Math.random().toString(36).slice(2, 9)}`;
    const ok = h('button', { type: 'submit', value: 'ok', class: 'primary', 'data-testid': 'confirm' }, confirmLabel);
    const cancel = h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Cancel');
    const dlg = h(
      'dialog',
      { 'aria-labelledby': titleId, class: 'dialog' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: titleId }, title),
        h('div', { class: 'dialog-body' }, body),
        h('div', { class: 'actions' }, cancel, ok),
      ),
    );
    document.body.appendChild(dlg);
    dlg.addEventListener('close', () => {
      const confirmed = dlg.returnValue === 'ok';
      dlg.remove();
      prevFocus?.focus();
      resolve(confirmed);
    });
    dlg.showModal();
    cancel.focus();
  });
}

let toastTimer = 0;
export function toast(msg: string, kind: 'info' | 'error' = 'info'): void {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = msg;
  el.className = `toast show ${kind}`;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (el.className = 'toast'), 5000);
}

/** Horizontal bar (0..1) with a text label, for probabilities, contributions, mixes. */
export function bar(frac: number, label: string, cls = ''): HTMLElement {
  const w = Math.max(0, Math.min(1, Number.isFinite(frac) ? frac : 0));
  return h(
    'span',
    { class: `bar ${cls}`, role: 'img', 'aria-label': label },
    h('span', { class: 'bar-fill', style: { width: `${(w * 100).toFixed(1)}%` } }),
  );
}

export type Cleanup = (() => void) | void;
export type Page = (root: HTMLElement, params: string[]) => Cleanup | Promise<Cleanup>;

/** Marks the main content as rendered (the browser test waits for main[data-ready]). */
export function markReady(name: string): void {
  const main = document.getElementById('main');
  if (!main) return;
  main.dataset.ready = name;
  try {
    performance.mark(`vigil-ready:${name}`);
  } catch {
    /* ignore */
  }
}

/** Collects cleanups (timers, subscriptions, charts) of a page. */
export class Scope {
  private fns: (() => void)[] = [];
  alive = true;
  add(fn: () => void): void {
    this.fns.push(fn);
  }
  interval(fn: () => void, ms: number): void {
    const id = window.setInterval(fn, ms);
    this.add(() => window.clearInterval(id));
  }
  dispose = (): void => {
    this.alive = false;
    for (const f of this.fns.splice(0)) {
      try {
        f();
      } catch {
        /* ignore */
      }
    }
  };
}

/**
 * Re-renders `el` with `render` and gives the focus back to the element with the same
 * data-key as the one focused before (tables refreshed by live updates keep keyboard users' place).
 */
export function rerender(el: Element, render: () => void): void {
  const active = document.activeElement as HTMLElement | null;
  const key = active && el.contains(active) ? active.dataset.key : undefined;
  render();
  if (key) (el.querySelector(`[data-key="${CSS.escape(key)}"]`) as HTMLElement | null)?.focus();
}
