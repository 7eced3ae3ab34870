// One run: live loss curves (SSE `run` events, polling as a fallback), stop, log, evaluation.
import { h, replace, fmt, timeStr, badge, markReady, Scope } from '../dom';
import type { Cleanup } from '../dom';
import * as api from '../api';
import { loadCharts } from '../colors';
import { confirmStopRun } from './runs';

export async function runPage(root: HTMLElement, [id]: string[]): Promise<Cleanup> {
  const scope = new Scope();
  const [first, { chart }] = await Promise.all([api.get<api.Run>(`/api/runs/${encodeURIComponent(id)}`), loadCharts()]);
  let run = first;
  const history = new Map<number, api.HistoryRow>();
  for (const r of run.history ?? []) history.set(r.epoch, r);

  const statusEl = h('span', { id: 'run-status' });
  const summary = h('dl', { class: 'kv', id: 'run-summary' });
  const actions = h('div', { class: 'actions' });
  const chartEl = h('div', { id: 'loss-chart' });
  const logEl = h('pre', { class: 'log', id: 'run-log', tabindex: '0', 'aria-label': 'training log (last 4 KiB)' });
  const evalEl = h('div', { id: 'run-evaluation' });
  const errEl = h('p', { class: 'error', role: 'alert' });
  const progress = h('p', { class: 'muted', 'aria-live': 'polite', id: 'run-progress' });

  replace(
    root,
    h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), ' / ', id),
    h('div', { class: 'row-between' }, h('h1', null, `Run ${id} `, statusEl), actions),
    errEl,
    h('div', { class: 'cols' },
      h('section', { class: 'card grow', 'aria-labelledby': 'curve-title' },
        h('h2', { id: 'curve-title' }, 'Loss per epoch'), progress, chartEl),
      h('section', { class: 'card side', 'aria-labelledby': 'params-title' },
        h('h2', { id: 'params-title' }, 'Parameters'), summary,
        h('h2', null, 'Evaluation'), evalEl)),
    h('section', { class: 'card', 'aria-labelledby': 'log-title' }, h('h2', { id: 'log-title' }, 'Training log'), logEl),
  );

  const c = chart(chartEl, {
    title: 'Training and validation loss per epoch',
    xLabel: 'epoch',
    xInt: true,
    yLabel: 'loss',
    series: [
      { label: 'train loss', color: '#1f5fbf' },
      { label: 'valid loss', color: '#c2410c' },
    ],
    height: 300,
  });
  scope.add(() => c.destroy());

  function renderChart(): void {
    const rows = [...history.values()].sort((a, b) => a.epoch - b.epoch);
    c.setData([rows.map((r) => r.epoch), rows.map((r) => r.train_loss ?? null), rows.map((r) => r.valid_loss ?? null)]);
    const last = rows[rows.length - 1];
    progress.textContent = last
      ? `Epoch ${last.epoch}${run.epochs_total ? ' of ' + run.epochs_total : ''}: train ${fmt(last.train_loss)}, valid ${fmt(last.valid_loss)}${last.elapsed_s !== undefined ? `, ${fmt(last.elapsed_s, 1)} s` : ''}`
      : run.status === 'running' ? 'Waiting for the first epoch…' : 'No epochs recorded.';
  }

  function renderInfo(): void {
    replace(statusEl, badge(run.status));
    const p = run.params ?? {};
    const items: [string, unknown][] = [
      ['data set', run.dataset],
      ['model', run.model],
      ['task', run.task],
      ...Object.entries(p)
        .filter(([k]) => !['dataset', 'model', 'task'].includes(k))
        .map(([k, v]): [string, unknown] => (k === 'config_toml' || k === 'config' ? ['config', v ? 'uploaded TOML' : 'none'] : [k, v])),
      ['started', timeStr(run.started)],
      ['finished', timeStr(run.finished ?? undefined)],
      ['best valid loss', fmt(run.best_valid_loss)],
      ['bundle', run.bundle ?? '—'],
    ];
    replace(summary, items.map(([k, v]) => [h('dt', null, k), h('dd', null, Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : fmt(v, 6))]));
    errEl.textContent = run.error ?? '';
    logEl.textContent = run.log_tail ?? '';
    logEl.scrollTop = logEl.scrollHeight;
    // Only when the state changes: a re-created button would lose the keyboard focus.
    const canStop = run.status === 'running' && api.canWrite();
    if (canStop !== !!actions.querySelector('#stop-run')) {
      replace(actions, canStop ? h('button', { type: 'button', class: 'danger', id: 'stop-run', onclick: stop }, 'Stop run') : null);
    }
    if (run.evaluation) {
      if (evalEl.querySelector('#evaluation-link')) return;
      replace(evalEl, h('a', { href: `#/evaluations/${run.evaluation}`, id: 'evaluation-link', class: 'button' }, `Open evaluation ${run.evaluation}`));
    } else if (run.status === 'done') {
      replace(evalEl, h('p', { class: 'muted' }, 'Evaluating on the test set…'));
    } else {
      replace(evalEl, h('p', { class: 'muted' }, run.status === 'running' ? 'After training.' : 'None.'));
    }
  }

  async function stop(): Promise<void> {
    if (await confirmStopRun(id)) await reload();
  }

  let loading = false;
  async function reload(): Promise<void> {
    if (loading) return;
    loading = true;
    try {
      const r = await api.get<api.Run>(`/api/runs/${encodeURIComponent(id)}`);
      if (!scope.alive) return;
      run = r;
      for (const row of r.history ?? []) history.set(row.epoch, row);
      renderInfo();
      renderChart();
    } catch {
      /* keep the last view; the next poll retries */
    } finally {
      loading = false;
    }
  }

  renderInfo();
  renderChart();
  scope.add(
    api.on('run', (d) => {
      const ev = d as { id: string; status: string; row: api.HistoryRow | null };
      if (ev.id !== id) return;
      if (ev.row && typeof ev.row.epoch === 'number') {
        history.set(ev.row.epoch, ev.row);
        run.last = ev.row;
        renderChart();
      }
      if (ev.status !== run.status) void reload();
    }),
  );
  scope.add(
    api.on('evaluation', () => {
      if (!run.evaluation) void reload();
    }),
  );
  // Polling as a fallback (and for the log tail): every 2 s while running or awaiting the evaluation.
  scope.interval(() => {
    if (run.status === 'running' || (run.status === 'done' && !run.evaluation)) void reload();
  }, 2000);
  markReady('run');
  return scope.dispose;
}
