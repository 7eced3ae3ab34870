// Runs: start a training run, list runs, compare selected runs.
import { h, field, replace, rerender, fmt, timeStr, badge, markReady, toast, confirmDialog, Scope } from '../dom';
import type { Cleanup } from '../dom';
import * as api from '../api';
import { COLORS, loadCharts } from '../colors';
import type { Chart } from '../charts';

const MODELS = ['mlp', 'autoencoder', 'mlp-ae'];

// Asks for confirmation, then stops run `id`; true once it was told to stop (the toast says so).
export async function confirmStopRun(id: string): Promise<boolean> {
  if (!(await confirmDialog(`Stop run ${id}?`, 'The trainer is sent SIGTERM; the run keeps what it has written.', 'Stop run'))) return false;
  try {
    await api.post(`/api/runs/${encodeURIComponent(id)}/stop`);
    toast(`Run ${id} stopped`);
    return true;
  } catch (e) {
    toast((e as Error).message, 'error');
    return false;
  }
}

export async function runsPage(root: HTMLElement): Promise<Cleanup> {
  const scope = new Scope();
  const selected = new Set<string>(
    (new URLSearchParams(location.hash.split('?')[1] ?? '').get('compare') ?? '').split(',').filter(Boolean),
  );
  const [dsResp, runsResp] = await Promise.all([
    api.get<{ datasets: api.Dataset[] }>('/api/datasets').catch(() => ({ datasets: [] as api.Dataset[] })),
    api.get<{ runs: api.Run[] }>('/api/runs'),
  ]);
  let runs = runsResp.runs ?? [];

  const tableWrap = h('div', { class: 'table-wrap' });
  const compareSec = h('section', { 'aria-labelledby': 'compare-title', class: 'card', id: 'compare' });
  let compareChart: Chart | null = null;
  scope.add(() => compareChart?.destroy());

  const form = startForm(dsResp.datasets ?? []);
  replace(
    root,
    h('h1', null, 'Training runs'),
    h('div', { class: 'cols' }, form, h('section', { class: 'card grow', 'aria-labelledby': 'runs-title' },
      h('div', { class: 'row-between' }, h('h2', { id: 'runs-title' }, 'Runs'),
        h('span', { class: 'muted' }, 'Select runs to compare them below.')),
      tableWrap)),
    compareSec,
  );

  function renderTable(): void {
    if (runs.length === 0) {
      replace(tableWrap, h('p', { class: 'muted', 'data-testid': 'no-runs' }, 'No runs yet: start one with the form.'));
      return;
    }
    const rows = runs.map((r) => {
      const cb = h('input', {
        type: 'checkbox',
        dataset: { key: `cmp-${r.id}` },
        checked: selected.has(r.id),
        'aria-label': `compare run ${r.id}`,
        onchange: () => {
          if (cb.checked) selected.add(r.id);
          else selected.delete(r.id);
          const q = selected.size ? `?compare=${[...selected].join(',')}` : '';
          history.replaceState(null, '', `#/runs${q}`);
          void renderCompare();
        },
      });
      const epochs = `${r.last?.epoch ?? 0}${r.epochs_total ? ' / ' + r.epochs_total : ''}`;
      const stop =
        r.status === 'running' && api.canWrite()
          ? h('button', { type: 'button', class: 'small danger', dataset: { key: `stop-${r.id}` }, 'aria-label': `Stop run ${r.id}`, onclick: () => stopRun(r.id) }, 'Stop')
          : null;
      return h(
        'tr',
        { dataset: { run: r.id, status: r.status } },
        h('td', null, cb),
        h('td', null, h('a', { href: `#/runs/${r.id}`, dataset: { key: `link-${r.id}` } }, r.id)),
        h('td', null, badge(r.status)),
        h('td', null, r.dataset),
        h('td', null, r.model),
        h('td', null, r.task ?? '—'),
        h('td', { class: 'num' }, epochs),
        h('td', { class: 'num' }, fmt(r.last?.train_loss)),
        h('td', { class: 'num' }, fmt(r.best_valid_loss ?? r.last?.valid_loss)),
        h('td', null, timeStr(r.started)),
        h('td', null, stop),
      );
    });
    replace(
      tableWrap,
      h(
        'table',
        { class: 'data', id: 'runs-table' },
        h('caption', { class: 'sr-only' }, 'Training runs, newest first'),
        h('thead', null, h('tr', null, ['Compare', 'Run', 'Status', 'Data set', 'Model', 'Task', 'Epochs', 'Train loss', 'Best valid loss', 'Started', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows),
      ),
    );
  }

  async function stopRun(id: string): Promise<void> {
    if (await confirmStopRun(id)) await refresh();
  }

  let refreshing = false;
  async function refresh(): Promise<void> {
    if (refreshing) return;
    refreshing = true;
    try {
      const r = await api.get<{ runs: api.Run[] }>('/api/runs');
      if (!scope.alive) return;
      runs = r.runs ?? [];
      rerender(tableWrap, renderTable);
    } finally {
      refreshing = false;
    }
  }

  let compareSeq = 0;
  async function renderCompare(): Promise<void> {
    const seq = ++compareSeq;
    const ids = [...selected].filter((id) => runs.some((r) => r.id === id));
    compareChart?.destroy();
    compareChart = null;
    if (ids.length === 0) {
      replace(compareSec, h('h2', { id: 'compare-title' }, 'Compare runs'), h('p', { class: 'muted' }, 'No runs selected.'));
      return;
    }
    const [details, { chart }] = await Promise.all([
      Promise.all(ids.map((id) => api.get<api.Run>(`/api/runs/${id}`))),
      loadCharts(),
    ]);
    if (seq !== compareSeq || !scope.alive) return;
    const maxEpoch = Math.max(1, ...details.flatMap((d) => (d.history ?? []).map((r) => r.epoch)));
    const xs = Array.from({ length: maxEpoch }, (_, i) => i + 1);
    const data: (number | null)[][] = [xs];
    const series = details.flatMap((d, i) => {
      const byEpoch = new Map((d.history ?? []).map((r) => [r.epoch, r]));
      data.push(xs.map((e) => byEpoch.get(e)?.valid_loss ?? null));
      data.push(xs.map((e) => byEpoch.get(e)?.train_loss ?? null));
      const color = COLORS[i % COLORS.length];
      return [
        { label: `${d.id} valid`, color },
        { label: `${d.id} train`, color, dash: [5, 4] },
      ];
    });
    const chartEl = h('div', { id: 'compare-chart' });
    const paramKeys = [...new Set(details.flatMap((d) => Object.keys(d.params ?? {})))]
      .filter((k) => !['dataset', 'model', 'task'].includes(k))
      .sort();
    const rowsSpec: [string, (d: api.Run) => unknown][] = [
      ['status', (d) => d.status],
      ['data set', (d) => d.dataset],
      ['model', (d) => d.model],
      ['task', (d) => d.task],
      ...paramKeys.map((k): [string, (d: api.Run) => unknown] => [
        k === 'config_toml' ? 'config' : k,
        (d) => (k === 'config_toml' || k === 'config' ? (d.params?.[k] ? 'uploaded TOML' : '—') : fmtParam(d.params?.[k])),
      ]),
      ['epochs run', (d) => d.history?.length ?? 0],
      ['last train loss', (d) => fmt(d.last?.train_loss)],
      ['best valid loss', (d) => fmt(d.best_valid_loss)],
      ['evaluation', (d) => (d.evaluation ? h('a', { href: `#/evaluations/${d.evaluation}` }, d.evaluation) : '—')],
    ];
    const table = h(
      'table',
      { class: 'data', id: 'compare-table' },
      h('caption', { class: 'sr-only' }, 'Parameters and results of the selected runs'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), details.map((d) => h('th', { scope: 'col' }, h('a', { href: `#/runs/${d.id}` }, d.id))))),
      h('tbody', null, rowsSpec.map(([name, f]) => h('tr', null, h('th', { scope: 'row' }, name), details.map((d) => h('td', null, f(d) as string | Node))))),
    );
    replace(compareSec, h('h2', { id: 'compare-title' }, `Compare runs (${details.length})`), chartEl, h('div', { class: 'table-wrap' }, table));
    compareChart = chart(chartEl, { title: 'Validation (solid) and training (dashed) loss of the selected runs per epoch', xLabel: 'epoch', xInt: true, yLabel: 'loss', series, height: 260 });
    compareChart.setData(data);
  }

  renderTable();
  await renderCompare();
  let pending = 0;
  scope.add(
    api.on('run', () => {
      // Coalesce bursts of run events into one refresh.
      if (pending) return;
      pending = window.setTimeout(() => {
        pending = 0;
        void refresh();
        if (selected.size) void renderCompare();
      }, 300);
    }),
  );
  scope.add(() => window.clearTimeout(pending));
  scope.interval(() => {
    if (runs.some((r) => r.status === 'running')) void refresh();
  }, 5000);
  markReady('runs');
  return scope.dispose;

  function startForm(datasets: api.Dataset[]): HTMLElement {
    const ds = h('select', { name: 'dataset', required: true },
      datasets.length ? datasets.map((d) => h('option', { value: d.id }, d.id)) : h('option', { value: 'nsl-kdd' }, 'nsl-kdd'));
    const model = h('select', { name: 'model' }, MODELS.map((m) => h('option', { value: m }, m)));
    const task = h('select', { name: 'task' }, h('option', { value: 'binary' }, 'binary'), h('option', { value: 'multiclass' }, 'multiclass'));
    const epochs = h('input', { type: 'number', name: 'epochs', min: '1', max: '1000', step: '1', placeholder: 'default' });
    const lr = h('input', { type: 'number', name: 'lr', min: '0', step: 'any', placeholder: 'default (0.001)' });
    const hidden = h('input', { type: 'text', name: 'hidden', placeholder: 'e.g. 128, 64', pattern: '\\s*\\d+(\\s*,\\s*\\d+)*\\s*', inputMode: 'numeric' });
    const batch = h('input', { type: 'number', name: 'batch_size', min: '1', step: '1', placeholder: 'default' });
    const maxRows = h('input', { type: 'number', name: 'max_rows', min: '0', step: '1', placeholder: '0 = all' });
    const toml = h('input', { type: 'file', name: 'config', accept: '.toml,text/plain' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Start run');
    const err = h('p', { class: 'error', role: 'alert' });
    const f = h(
      'form',
      {
        class: 'card run-form',
        id: 'start-run',
        'aria-labelledby': 'start-title',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          err.textContent = '';
          const body: Record<string, unknown> = { dataset: ds.value, model: model.value, task: task.value };
          const num = (el: HTMLInputElement, key: string) => {
            if (el.value.trim() !== '') body[key] = Number(el.value);
          };
          num(epochs, 'epochs');
          num(lr, 'lr');
          num(batch, 'batch_size');
          num(maxRows, 'max_rows');
          if (hidden.value.trim()) body.hidden = hidden.value.split(',').map((x) => Number(x.trim()));
          if (toml.files && toml.files[0]) body.config_toml = await toml.files[0].text();
          submit.disabled = true;
          try {
            const r = await api.post<{ id: string }>('/api/runs', body);
            toast(`Run ${r.id} started`);
            location.hash = `#/runs/${r.id}`;
          } catch (ex) {
            err.textContent = (ex as Error).message;
          } finally {
            submit.disabled = false;
          }
        },
      },
      h('h2', { id: 'start-title' }, 'Start a run'),
      field('Data set', ds),
      h('div', { class: 'two' }, field('Model family', model), field('Task', task)),
      h('div', { class: 'two' }, field('Epochs', epochs), field('Learning rate', lr)),
      field('Hidden layers', hidden, 'Comma-separated layer sizes'),
      h('div', { class: 'two' }, field('Batch size', batch), field('Max rows', maxRows)),
      field('Config (TOML)', toml, 'A vigil train --config file; the fields above override it'),
      err,
      api.canWrite() ? submit : h('p', { class: 'muted' }, 'Your role may not start runs.'),
    );
    return f;
  }
}

function fmtParam(v: unknown): string {
  if (v === undefined) return '—';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'number') return fmt(v, 6);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}
