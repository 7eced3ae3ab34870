// Evaluations: list + start one; one evaluation's report (confusion, per class, ROC, PR, scores).
import { h, replace, fmt, pct, badge, markReady, toast, field, Scope } from '../dom';
import type { Cleanup } from '../dom';
import * as api from '../api';
import { loadCharts } from '../colors';
import type { Chart } from '../charts';

type Charts = typeof import('../charts');

interface Evaluation {
  id: string;
  status: string;
  bundle: string;
  dataset: string;
  test: string;
  error?: string | null;
  report?: Report | null;
}

interface Report {
  rows?: number;
  accuracy?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  false_alarm_rate?: number;
  roc_auc?: number;
  pr_auc?: number;
  macro_f1?: number;
  class_accuracy?: number;
  threshold?: number;
  binary_confusion?: { tn: number; fp: number; fn: number; tp: number };
  per_class?: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  confusion?: { classes: string[]; matrix: number[][] };
  roc_curve?: { fpr: number[]; tpr: number[] };
  pr_curve?: { recall: number[]; precision: number[] };
  score_histogram?: { edges: number[]; normal: number[]; attack: number[] };
}

function bundleLink(b: string): Node | string {
  const m = /^run:(.+)$/.exec(b);
  if (m) return h('a', { href: `#/runs/${m[1]}` }, b);
  const r = /^registry:([^:]+):(.+)$/.exec(b);
  if (r) return h('a', { href: `#/models/${encodeURIComponent(r[1])}` }, b);
  return b;
}

export async function evaluationsPage(root: HTMLElement): Promise<Cleanup> {
  const scope = new Scope();
  const [evals, runs, ds, models] = await Promise.all([
    api.get<{ evaluations: Evaluation[] }>('/api/evaluations'),
    api.get<{ runs: api.Run[] }>('/api/runs').catch(() => ({ runs: [] as api.Run[] })),
    api.get<{ datasets: api.Dataset[] }>('/api/datasets').catch(() => ({ datasets: [] as api.Dataset[] })),
    api.get<{ models: { name: string; versions: number }[] }>('/api/models').catch(() => ({ models: [] })),
  ]);
  const tableWrap = h('div', { class: 'table-wrap' });
  function renderTable(list: Evaluation[]): void {
    if (!list.length) return replace(tableWrap, h('p', { class: 'muted' }, 'No evaluations yet.'));
    replace(
      tableWrap,
      h('table', { class: 'data', id: 'evaluations-table' },
        h('caption', { class: 'sr-only' }, 'Evaluations'),
        h('thead', null, h('tr', null, ['Evaluation', 'Status', 'Bundle', 'Data set', 'Test'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, list.map((e) => h('tr', null,
          h('td', null, h('a', { href: `#/evaluations/${e.id}` }, e.id)),
          h('td', null, badge(e.status)),
          h('td', null, bundleLink(e.bundle)),
          h('td', null, e.dataset),
          h('td', null, e.test))))),
    );
  }
  renderTable(evals.evaluations ?? []);

  // Start an evaluation of a run's bundle or a registry version.
  const bundleSel = h('select', { name: 'bundle', required: true },
    h('optgroup', { label: 'Runs' }, (runs.runs ?? []).filter((r) => r.status === 'done').map((r) => h('option', { value: `run:${r.id}` }, `run ${r.id} (${r.model}, ${r.dataset})`))),
    (models.models ?? []).map((m) => h('optgroup', { label: `Registry: ${m.name}` },
      Array.from({ length: m.versions || 0 }, (_, i) => h('option', { value: `registry:${m.name}:${i + 1}` }, `${m.name} v${i + 1}`)))),
  );
  const dsSel = h('select', { name: 'dataset' }, (ds.datasets ?? []).map((d) => h('option', { value: d.id }, d.id)));
  const testSel = h('select', { name: 'test' });
  const fillTests = () => {
    const d = (ds.datasets ?? []).find((x) => x.id === dsSel.value);
    replace(testSel, (d?.tests ?? []).map((t) => h('option', { value: t.id }, t.id)));
  };
  dsSel.addEventListener('change', fillTests);
  fillTests();
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    class: 'card', 'aria-labelledby': 'eval-start-title',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      err.textContent = '';
      try {
        const r = await api.post<{ id: string }>('/api/evaluations', { bundle: bundleSel.value, dataset: dsSel.value, test: testSel.value });
        location.hash = `#/evaluations/${r.id}`;
      } catch (ex) {
        err.textContent = (ex as Error).message;
      }
    },
  },
  h('h2', { id: 'eval-start-title' }, 'Evaluate a bundle'),
  field('Bundle', bundleSel), h('div', { class: 'two' }, field('Data set', dsSel), field('Test file', testSel)), err,
  api.canWrite() ? h('button', { type: 'submit', class: 'primary' }, 'Evaluate') : null);

  replace(root, h('h1', null, 'Evaluations'),
    h('div', { class: 'cols' }, form, h('section', { class: 'card grow', 'aria-label': 'Evaluations' }, tableWrap)));
  scope.add(api.on('evaluation', async () => {
    const r = await api.get<{ evaluations: Evaluation[] }>('/api/evaluations');
    if (scope.alive) renderTable(r.evaluations ?? []);
  }));
  markReady('evaluations');
  return scope.dispose;
}

export async function evaluationPage(root: HTMLElement, [id]: string[]): Promise<Cleanup> {
  const scope = new Scope();
  const [first, charts] = await Promise.all([api.get<Evaluation>(`/api/evaluations/${encodeURIComponent(id)}`), loadCharts()]);
  let ev = first;
  const body = h('div', { id: 'evaluation-body' });
  const statusEl = h('span');
  replace(
    root,
    h('p', { class: 'crumbs' }, h('a', { href: '#/evaluations' }, 'Evaluations'), ' / ', id),
    h('h1', null, `Evaluation ${id} `, statusEl),
    h('p', { class: 'muted' }, 'Bundle ', bundleLink(ev.bundle), ` on ${ev.dataset} / ${ev.test}`),
    body,
  );
  const render = () => {
    replace(statusEl, badge(ev.status));
    if (ev.status === 'running') {
      replace(body, h('p', { class: 'muted', 'aria-live': 'polite' }, 'Evaluating… this page updates when it is done.'));
    } else if (ev.status === 'failed' || !ev.report) {
      replace(body, h('p', { class: 'error', role: 'alert' }, ev.error || 'The evaluation failed.'));
    } else {
      scope.add(renderReport(body, ev.report, charts));
    }
  };
  render();
  const reload = async () => {
    const r = await api.get<Evaluation>(`/api/evaluations/${encodeURIComponent(id)}`);
    if (!scope.alive) return;
    const changed = r.status !== ev.status;
    ev = r;
    if (changed) render();
  };
  scope.add(api.on('evaluation', (d) => {
    if ((d as { id: string }).id === id) void reload();
  }));
  scope.interval(() => {
    if (ev.status === 'running') void reload().catch((e) => toast((e as Error).message, 'error'));
  }, 2000);
  markReady('evaluation');
  return scope.dispose;
}

function renderReport(body: HTMLElement, r: Report, { chart }: Charts): () => void {
  const cards: [string, unknown, boolean][] = [
    ['accuracy', r.accuracy, true], ['precision', r.precision, true], ['recall', r.recall, true], ['F1', r.f1, true],
    ['false alarm rate', r.false_alarm_rate, true], ['ROC AUC', r.roc_auc, false], ['PR AUC', r.pr_auc, false],
    ['macro F1', r.macro_f1, false], ['rows', r.rows, false], ['threshold', r.threshold, false],
  ];
  const metrics = h('ul', { class: 'metrics', id: 'eval-metrics' },
    cards.map(([k, v, p]) => h('li', null, h('span', { class: 'metric-value' }, p ? pct(v) : fmt(v)), h('span', { class: 'metric-name' }, k))));

  const rocEl = h('div', { id: 'roc-chart' });
  const prEl = h('div', { id: 'pr-chart' });
  const histEl = h('div', { id: 'score-histogram' });
  replace(
    body,
    metrics,
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'cm-title' }, h('h2', { id: 'cm-title' }, 'Confusion matrix'), confusionTable(r)),
      h('section', { class: 'card', 'aria-labelledby': 'pc-title' }, h('h2', { id: 'pc-title' }, 'Per class'), perClassTable(r)),
      h('section', { class: 'card', 'aria-labelledby': 'roc-title' }, h('h2', { id: 'roc-title' }, `ROC curve (AUC ${fmt(r.roc_auc)})`), rocEl),
      h('section', { class: 'card', 'aria-labelledby': 'pr-title' }, h('h2', { id: 'pr-title' }, `Precision-recall curve (AP ${fmt(r.pr_auc)})`), prEl),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'hist-title' },
      h('h2', { id: 'hist-title' }, 'Score distribution'),
      h('p', { class: 'muted' }, 'Rows per attack-score bin, truly normal versus truly attack; the dashed line is the model\'s threshold.'),
      histEl),
  );
  const charts: Chart[] = [];
  if (r.roc_curve?.fpr?.length) {
    const c = chart(rocEl, { title: `ROC curve, AUC ${fmt(r.roc_auc)}`, xLabel: 'false positive rate', yLabel: 'true positive rate', xRange: [0, 1], yRange: [0, 1.02],
      series: [{ label: 'ROC', color: '#1f5fbf' }, { label: 'chance', color: '#94a3b8', dash: [4, 4] }], height: 280 });
    const fpr = r.roc_curve.fpr;
    c.setData([fpr, r.roc_curve.tpr, fpr.map((x) => x)]);
    charts.push(c);
  } else rocEl.textContent = 'No ROC curve in the report.';
  if (r.pr_curve?.recall?.length) {
    const pts = r.pr_curve.recall.map((x, i) => [x, r.pr_curve!.precision[i]]).sort((a, b) => a[0] - b[0]);
    const c = chart(prEl, { title: `Precision-recall curve, average precision ${fmt(r.pr_auc)}`, xLabel: 'recall', yLabel: 'precision', xRange: [0, 1], yRange: [0, 1.02],
      series: [{ label: 'PR', color: '#15803d' }], height: 280 });
    c.setData([pts.map((p) => p[0]), pts.map((p) => p[1])]);
    charts.push(c);
  } else prEl.textContent = 'No precision-recall curve in the report.';
  const sh = r.score_histogram;
  if (sh?.edges?.length && sh.edges.length > 1) {
    const left = sh.edges.slice(0, -1);
    const plotEl = h('div', { id: 'score-histogram-plot' });
    const logBox = h('input', { type: 'checkbox', id: 'hist-log' });
    histEl.append(h('label', { for: 'hist-log', class: 'check' }, logBox, ' logarithmic rows axis'), plotEl);
    let hc: Chart | null = null;
    const draw = () => {
      hc?.destroy();
      const log = logBox.checked;
      hc = chart(plotEl, { title: 'Histogram of attack scores for truly normal and truly attack rows, with the threshold', xLabel: 'attack score', yLabel: log ? 'rows (log)' : 'rows', yMin0: !log, yLog: log,
        xRange: [sh.edges[0], sh.edges[sh.edges.length - 1]],
        series: [{ label: 'normal', color: '#1f5fbf', bars: true, fill: '#1f5fbf80' }, { label: 'attack', color: '#c2410c', bars: true, fill: '#c2410c80' }],
        markers: () => [{ x: r.threshold ?? NaN, label: `threshold ${fmt(r.threshold)}`, color: '#111827' }], height: 280 });
      const z = (xs: number[]) => (log ? xs.map((x) => (x > 0 ? x : null)) : xs);
      hc.setData([left, z(sh.normal), z(sh.attack)]);
      histEl.dataset.points = String(left.length);
    };
    logBox.addEventListener('change', draw);
    draw();
    histEl.dataset.threshold = String(r.threshold);
    charts.push({ el: histEl, setData() {}, destroy: () => hc?.destroy() });
  } else histEl.textContent = 'No score histogram in the report.';
  return () => charts.forEach((c) => c.destroy());
}

function confusionTable(r: Report): HTMLElement {
  const cm = r.confusion;
  if (!cm?.classes?.length) {
    const b = r.binary_confusion;
    if (!b) return h('p', { class: 'muted' }, 'No confusion matrix in the report.');
    return confusionTable({ confusion: { classes: ['normal', 'attack'], matrix: [[b.tn, b.fp], [b.fn, b.tp]] } });
  }
  const max = Math.max(1, ...cm.matrix.flat());
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data confusion', id: 'confusion-matrix' },
    h('caption', null, 'Rows: true class; columns: predicted class'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'true \\ predicted'), cm.classes.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, cm.matrix.map((row, i) => h('tr', null, h('th', { scope: 'row' }, cm.classes[i]),
      row.map((v, j) => {
        const a = v / max;
        return h('td', { class: `num ${i === j ? 'diag' : 'off'}`, style: { background: heat(a, i === j), color: a > 0.55 ? '#fff' : '#0f172a' } }, fmt(v));
      })))),
  ));
}

function heat(a: number, diag: boolean): string {
  if (a <= 0) return 'transparent';
  const l = 96 - a * 66; // lightness 96 % .. 30 %
  return diag ? `hsl(215 70% ${l}%)` : `hsl(18 80% ${l}%)`;
}

function perClassTable(r: Report): HTMLElement {
  const pc = r.per_class ?? {};
  const names = Object.keys(pc);
  if (!names.length) return h('p', { class: 'muted' }, 'No per-class figures in the report.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'per-class' },
    h('caption', { class: 'sr-only' }, 'Precision, recall, F1 and support per class'),
    h('thead', null, h('tr', null, ['class', 'precision', 'recall', 'F1', 'support'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, names.map((n) => h('tr', null, h('th', { scope: 'row' }, n),
      h('td', { class: 'num' }, fmt(pc[n].precision)), h('td', { class: 'num' }, fmt(pc[n].recall)),
      h('td', { class: 'num' }, fmt(pc[n].f1)), h('td', { class: 'num' }, fmt(pc[n].support))))),
  ));
}
