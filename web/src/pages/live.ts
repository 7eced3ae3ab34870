// Live detection: rates, alert timeline, latest alerts with reasons, hosts by threat, traffic mix.
import { h, replace, fmt, bar, markReady, Scope } from '../dom';
import type { Cleanup } from '../dom';
import * as api from '../api';
import { COLORS, loadCharts } from '../colors';
import type { Chart } from '../charts';

const WINDOW_S = 600; // the charts show the last 10 minutes
const MAX_ROWS = 50; // alerts shown in the table
const LEVELS: [number, string][] = [
  [30, 'critical'],
  [10, 'high'],
  [3, 'elevated'],
  [0, 'low'],
];

interface Sample {
  t: number; // seconds since the epoch
  per: Map<string, { r: number; a: number }>;
}

function agentLabel(url: string): string {
  return url.replace(/^https?:\/\//, '');
}

function alertKey(a: api.Alert): string {
  return `${a.agent ?? ''}|${a.input ?? ''}|${a.position ?? ''}|${a.time}|${a.version ?? ''}`;
}

export async function livePage(root: HTMLElement): Promise<Cleanup> {
  const scope = new Scope();
  const [agentsResp, alertsResp, { chart }] = await Promise.all([
    api.get<{ agents: api.Agent[] }>('/api/agents'),
    api.get<{ alerts: api.Alert[] }>('/api/alerts?n=100'),
    loadCharts(),
  ]);
  let agents = agentsResp.agents ?? [];
  const samples: Sample[] = [];
  const alerts: api.Alert[] = []; // newest last, at most 2000
  const seen = new Set<string>();
  let filter = ''; // '' = all agents

  const agentSel = h('select', { id: 'agent-filter' });
  const agentsWrap = h('div', { class: 'table-wrap', id: 'agents-table-wrap' });
  const ratesEl = h('div', { id: 'rates-chart' });
  const timelineEl = h('div', { id: 'alert-timeline' });
  const tbody = h('tbody', { id: 'alerts-body' });
  const alertsTable = h('table', { class: 'data alerts', id: 'alerts-table' },
    h('caption', { class: 'sr-only' }, 'Latest alerts, newest first'),
    h('thead', null, h('tr', null, ['Time', 'Agent', 'Flow', 'Class', 'Score', 'Probabilities', 'Reasons'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const alertCount = h('span', { class: 'muted', id: 'alert-count' });
  const seriesTitle = h('h2', { id: 'series-title' }, 'Metric series');
  const seriesNote = h('p', { class: 'muted', id: 'series-note' }, 'Select a metric alert to see its series: the value, the range the detector expected and the anomaly score.');
  const seriesEl = h('div', { id: 'series-chart' });
  const seriesCard = h('section', { class: 'card', id: 'series-card', 'aria-labelledby': 'series-title' }, seriesTitle, seriesNote, seriesEl);
  const hostsEl = h('div', { id: 'hosts' });
  const mixEl = h('div', { id: 'mix', class: 'two' });
  const totals = h('ul', { class: 'metrics', id: 'live-totals' });

  replace(
    root,
    h('div', { class: 'row-between' }, h('h1', null, 'Live detection'), h('div', { class: 'field inline' }, h('label', { for: 'agent-filter' }, 'Agent'), agentSel)),
    totals,
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'rates-title' }, h('h2', { id: 'rates-title' }, 'Records/s and alerts/s (last 10 minutes)'), ratesEl),
      h('section', { class: 'card', 'aria-labelledby': 'timeline-title' }, h('h2', { id: 'timeline-title' }, 'Alert timeline (score, last 10 minutes)'), timelineEl)),
    h('section', { class: 'card', 'aria-labelledby': 'alerts-title' },
      h('div', { class: 'row-between' }, h('h2', { id: 'alerts-title' }, 'Latest alerts'), alertCount),
      h('div', { class: 'table-wrap tall' }, alertsTable)),
    seriesCard,
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'hosts-title' }, h('h2', { id: 'hosts-title' }, 'Hosts by threat level'), hostsEl),
      h('section', { class: 'card', 'aria-labelledby': 'mix-title' }, h('h2', { id: 'mix-title' }, 'Traffic mix'), mixEl)),
    h('section', { class: 'card', 'aria-labelledby': 'agents-title' }, h('h2', { id: 'agents-title' }, 'Agents'), agentsWrap),
  );

  // Both time charts show the same window: at least the last minute, growing to the last 10.
  let firstSeen = Date.now() / 1000;
  const timeRange = (): [number, number] => {
    const now = Date.now() / 1000;
    return [Math.max(now - WINDOW_S, Math.min(firstSeen, now - 60)), now];
  };

  // Overall records/s and alerts/s, plus one pair of thinner lines per agent when there are several.
  let rates: Chart | null = null;
  let ratesKey = '';
  function ratesChart(): Chart {
    const urls = filter ? [] : agents.length > 1 ? agents.map((a) => a.url) : [];
    const key = `${filter}|${urls.join(',')}`;
    if (rates && key === ratesKey) return rates;
    rates?.destroy();
    ratesKey = key;
    const who = filter ? agentLabel(filter) : 'all';
    rates = chart(ratesEl, {
      title: `Records per second and alerts per second over the last 10 minutes (${filter ? agentLabel(filter) : 'all agents'})`,
      xTime: true, xRange: timeRange, yLabel: 'records/s', y2Label: 'alerts/s', yMin0: true, height: 220,
      series: [
        { label: `records/s (${who})`, color: '#1f5fbf' },
        { label: `alerts/s (${who})`, color: '#b91c1c', scale: 'y2' },
        ...urls.flatMap((u, i) => [
          { label: `${agentLabel(u)} records/s`, color: COLORS[(i + 2) % COLORS.length], dash: [4, 3] },
          { label: `${agentLabel(u)} alerts/s`, color: COLORS[(i + 2) % COLORS.length], dash: [1, 3], scale: 'y2' },
        ]),
      ],
    });
    return rates;
  }
  scope.add(() => rates?.destroy());
  const timeline = chart(timelineEl, {
    title: 'Alerts over the last 10 minutes by score',
    xTime: true, xRange: timeRange, yLabel: 'score', yMin0: true, height: 220,
    series: [{ label: 'alert', color: '#b91c1c', points: true }],
  });
  scope.add(() => timeline.destroy());

  function renderAgentSelect(): void {
    const urls = agents.map((a) => a.url);
    const current = [...agentSel.options].map((o) => o.value).join('\n');
    const want = ['', ...urls].join('\n');
    if (current === want) return;
    replace(agentSel, h('option', { value: '' }, `All agents (${urls.length})`), urls.map((u) => h('option', { value: u }, agentLabel(u))));
    agentSel.value = urls.includes(filter) ? filter : '';
  }
  agentSel.addEventListener('change', () => {
    filter = agentSel.value;
    renderAgents();
    renderRates();
    rebuildAlerts();
  });

  const shown = () => (filter ? agents.filter((a) => a.url === filter) : agents);

  function renderAgents(): void {
    renderAgentSelect();
    const list = shown();
    const sum = (f: (a: api.Agent) => number | undefined) => list.reduce((s, a) => s + (f(a) ?? 0), 0);
    replace(totals,
      [['records/s', fmt(sum((a) => a.records_per_s), 1)], ['alerts/s', fmt(sum((a) => a.alerts_per_s), 2)],
        ['records', fmt(sum((a) => a.records))], ['alerts', fmt(sum((a) => a.alerts))], ['malformed', fmt(sum((a) => a.malformed))],
        ['agents up', `${list.filter((a) => a.up).length} / ${list.length}`]]
        .map(([k, v]) => h('li', null, h('span', { class: 'metric-value' }, v), h('span', { class: 'metric-name' }, k))));
    if (!agents.length) {
      replace(agentsWrap, h('p', { class: 'muted' }, 'The console follows no agent (vigil console --agent URL).'));
    } else {
      replace(agentsWrap, h('table', { class: 'data', id: 'agents-table' },
        h('caption', { class: 'sr-only' }, 'Agents'),
        h('thead', null, h('tr', null, ['Agent', 'State', 'Model', 'Records', 'Alerts', 'Malformed', 'Records/s', 'Alerts/s'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, list.map((a) => h('tr', { dataset: { agent: a.url } },
          h('th', { scope: 'row' }, agentLabel(a.url)),
          h('td', null, a.up ? h('span', { class: 'badge badge-done' }, 'up') : h('span', { class: 'badge badge-failed', title: a.error ?? '' }, 'down'), a.up ? null : h('small', { class: 'muted' }, ` ${a.error ?? ''}`)),
          h('td', null, a.model ? `${a.model.name ?? '?'} ${a.model.version ?? ''}${a.model.registry_version ? ` (v${a.model.registry_version}${a.model.channel ? ', ' + a.model.channel : ''})` : ''}` : '—'),
          h('td', { class: 'num' }, fmt(a.records)), h('td', { class: 'num' }, fmt(a.alerts)), h('td', { class: 'num' }, fmt(a.malformed)),
          h('td', { class: 'num' }, fmt(a.records_per_s, 1)), h('td', { class: 'num' }, fmt(a.alerts_per_s, 2)))))));
    }
    renderHosts(list);
    renderMix(list);
  }

  function renderHosts(list: api.Agent[]): void {
    const hosts = new Map<string, number>();
    for (const a of list) for (const x of a.hosts ?? []) hosts.set(x.host, Math.max(hosts.get(x.host) ?? 0, x.value));
    const top = [...hosts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
    if (!top.length) return replace(hostsEl, h('p', { class: 'muted' }, 'No source host tracked yet (alerts on records with a source address or source column rank their hosts here).'));
    const max = Math.max(top[0][1], 30);
    replace(hostsEl, h('table', { class: 'data', id: 'hosts-table' },
      h('caption', { class: 'sr-only' }, 'Source hosts by threat value (decayed alert count)'),
      h('thead', null, h('tr', null, ['Host', 'Level', 'Threat value', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, top.map(([host, v]) => {
        const level = LEVELS.find(([t]) => v >= t)![1];
        return h('tr', null, h('th', { scope: 'row' }, host), h('td', null, h('span', { class: `badge lvl-${level}` }, level)),
          h('td', { class: 'num' }, fmt(v, 1)), h('td', { class: 'barcell' }, bar(v / max, `threat value ${fmt(v, 1)}`, `lvl-${level}`)));
      }))));
  }

  function renderMix(list: api.Agent[]): void {
    const block = (title: string, key: 'proto' | 'service') => {
      const m = new Map<string, number>();
      for (const a of list) for (const [k, v] of Object.entries(a.mix?.[key] ?? {})) m.set(k, (m.get(k) ?? 0) + v);
      const total = [...m.values()].reduce((s, v) => s + v, 0);
      const top = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
      return h('div', { id: `mix-${key}` }, h('h3', null, title),
        !top.length ? h('p', { class: 'muted' }, 'No records yet.') :
          h('table', { class: 'data compact' },
            h('caption', { class: 'sr-only' }, `${title}: records by ${key}`),
            h('tbody', null, top.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k),
              h('td', { class: 'num' }, fmt(v)), h('td', { class: 'barcell' }, bar(v / total, `${((100 * v) / total).toFixed(1)} %`)))))));
    };
    replace(mixEl, block('Protocols', 'proto'), block('Services', 'service'));
  }

  function renderRates(): void {
    const c = ratesChart();
    const now = Date.now() / 1000;
    const rows = samples.filter((s) => s.t >= now - WINDOW_S);
    const pick = (s: Sample, f: 'r' | 'a') => {
      let sum = 0;
      for (const [url, v] of s.per) if (!filter || url === filter) sum += v[f];
      return sum;
    };
    const data: (number | null)[][] = [rows.map((s) => s.t), rows.map((s) => pick(s, 'r')), rows.map((s) => pick(s, 'a'))];
    if (!filter && agents.length > 1) {
      for (const a of agents) {
        data.push(rows.map((s) => s.per.get(a.url)?.r ?? null));
        data.push(rows.map((s) => s.per.get(a.url)?.a ?? null));
      }
    }
    c.setData(data);
  }

  function renderTimeline(): void {
    const now = Date.now() / 1000;
    const pts = alerts
      .filter((a) => !filter || a.agent === filter)
      .map((a) => [Date.parse(a.time) / 1000, a.score] as [number, number])
      .filter(([t]) => t >= now - WINDOW_S)
      .sort((a, b) => a[0] - b[0]);
    timeline.setData([pts.map((p) => p[0]), pts.map((p) => p[1])]);
  }

  // A metric alert: the series, its value against the expected range, the anomaly score.
  function metricRow(a: api.Alert): HTMLElement {
    const lo = a.expected?.low, hi = a.expected?.high;
    return h('tr', { class: 'alert-row metric-alert', tabindex: 0, title: 'Show this series', dataset: { time: a.time, shown: Date.now(), agent: a.agent ?? '', series: a.series ?? '' } },
      h('td', { class: 'nowrap' }, h('time', { datetime: a.time }, new Date(a.time).toLocaleTimeString('en-GB', { hour12: false }))),
      h('td', null, agentLabel(a.agent ?? '')),
      h('td', null, h('code', null, a.series ?? '')),
      h('td', null, h('span', { class: 'badge badge-failed' }, 'metric')),
      h('td', { class: 'num' }, fmt(a.score, 3)),
      h('td', null, `value ${fmt(a.value, 4)}`),
      h('td', null, lo !== undefined && hi !== undefined ? `expected ${fmt(lo, 4)} to ${fmt(hi, 4)}` : '—'));
  }

  function alertRow(a: api.Alert): HTMLElement {
    if (a.type === 'metric') return metricRow(a);
    const probs = Object.entries(a.probabilities ?? {}).sort((x, y) => y[1] - x[1]).slice(0, 4);
    const reasons = (a.reasons ?? []).slice(0, 5);
    const maxC = Math.max(1e-9, ...reasons.map((r) => Math.abs(r.contribution)));
    const flow = [a.src ? `${a.src}${a.sport ? ':' + a.sport : ''}` : null, a.dst ? `${a.dst}${a.dport ? ':' + a.dport : ''}` : null].filter(Boolean).join(' → ');
    return h('tr', { class: 'alert-row', dataset: { time: a.time, shown: Date.now(), agent: a.agent ?? '', position: a.position ?? '' } },
      h('td', { class: 'nowrap' }, h('time', { datetime: a.time }, new Date(a.time).toLocaleTimeString('en-GB', { hour12: false }))),
      h('td', null, agentLabel(a.agent ?? '')),
      h('td', { title: `${a.input ?? ''}:${a.position ?? ''}` }, flow || `${(a.input ?? '').split('/').pop()}:${a.position ?? ''}`, a.proto ? h('small', { class: 'muted' }, ` ${a.proto}`) : null),
      h('td', null, h('span', { class: 'badge badge-failed' }, a.class)),
      h('td', { class: 'num' }, fmt(a.score, 3), h('small', { class: 'muted' }, ` / ${fmt(a.threshold, 3)}`)),
      h('td', null, probs.length ? h('ul', { class: 'probs' }, probs.map(([c, p]) => h('li', null, h('span', { class: 'plabel' }, c), bar(p, `${c} ${(p * 100).toFixed(1)} %`, c === 'normal' ? 'ok' : 'bad'), h('span', { class: 'pval' }, `${(p * 100).toFixed(1)}%`)))) : '—'),
      h('td', null, reasons.length ? h('ul', { class: 'reasons' }, reasons.map((r) => h('li', null,
        h('span', { class: 'rlabel' }, r.feature, r.value !== undefined ? h('span', { class: 'muted' }, ` = ${typeof r.value === 'number' ? fmt(r.value, 3) : String(r.value)}`) : null),
        bar(Math.abs(r.contribution) / maxC, `contribution ${fmt(r.contribution, 3)}`, r.contribution >= 0 ? 'bad' : 'ok'),
        h('span', { class: 'pval' }, fmt(r.contribution, 2))))) : '—'));
  }

  function updateCount(): void {
    const n = filter ? alerts.filter((a) => a.agent === filter).length : alerts.length;
    alertCount.textContent = `${n} alert${n === 1 ? '' : 's'} received${n > MAX_ROWS ? `, latest ${MAX_ROWS} shown` : ''}`;
  }

  function rebuildAlerts(): void {
    const list = alerts.filter((a) => !filter || a.agent === filter).slice(-MAX_ROWS).reverse();
    if (!list.length) replace(tbody, h('tr', { class: 'empty' }, h('td', { colspan: 7, class: 'muted' }, 'No alerts yet.')));
    else replace(tbody, list.map(alertRow));
    updateCount();
    renderTimeline();
  }

  // New alerts are queued and drawn once per frame (bursts of thousands stay cheap).
  let queue: api.Alert[] = [];
  let flushScheduled = false;
  function flush(): void {
    flushScheduled = false;
    if (!scope.alive || !queue.length) return;
    const batch = queue.filter((a) => !filter || a.agent === filter).slice(-MAX_ROWS);
    queue = [];
    tbody.querySelector('tr.empty')?.remove();
    const frag = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) frag.appendChild(alertRow(batch[i]));
    tbody.insertBefore(frag, tbody.firstChild);
    while (tbody.children.length > MAX_ROWS) tbody.lastElementChild!.remove();
    updateCount();
    renderTimeline();
  }
  function add(a: api.Alert): boolean {
    // Threat-level events ({"event": "threat_level", ...}) share the agent's alert output: not alerts.
    if (!a || typeof a.time !== 'string' || 'event' in a || typeof a.score !== 'number') return false;
    const k = alertKey(a);
    if (seen.has(k)) return false;
    seen.add(k);
    alerts.push(a);
    if (alerts.length > 2000) for (const old of alerts.splice(0, alerts.length - 2000)) seen.delete(alertKey(old));
    return true;
  }

  for (const a of alertsResp.alerts ?? []) add(a);
  for (const a of alerts) firstSeen = Math.min(firstSeen, Date.parse(a.time) / 1000 || firstSeen);
  renderAgents();
  renderRates();
  rebuildAlerts();

  scope.add(api.on('alert', (d) => {
    const a = d as api.Alert;
    if (!add(a)) return;
    queue.push(a);
    if (!flushScheduled) {
      flushScheduled = true;
      requestAnimationFrame(flush);
      window.setTimeout(flush, 100); // rAF does not run in hidden tabs
    }
  }));
  scope.add(api.on('agents', (d) => {
    agents = (d as { agents: api.Agent[] }).agents ?? [];
    const per = new Map<string, { r: number; a: number }>();
    for (const a of agents) per.set(a.url, { r: a.records_per_s ?? 0, a: a.alerts_per_s ?? 0 });
    samples.push({ t: Date.now() / 1000, per });
    while (samples.length && samples[0].t < Date.now() / 1000 - WINDOW_S) samples.shift();
    renderAgents();
    renderRates();
    renderTimeline(); // same time window as the rates chart
  }));
  // The series of a metric alert, from the agent that watches it (GET /api/series).
  let selected: { agent: string; series: string } | null = null;
  let seriesChart: Chart | null = null;
  scope.add(() => seriesChart?.destroy());
  async function showSeries(): Promise<void> {
    if (!selected) return;
    const want = selected;
    let resp: api.SeriesPoints;
    try {
      resp = await api.get<api.SeriesPoints>(`/api/series?agent=${encodeURIComponent(want.agent)}&key=${encodeURIComponent(want.series)}&n=720`);
    } catch (e) {
      if (!scope.alive || selected !== want) return;
      seriesNote.textContent = `The series cannot be shown: ${(e as Error).message}`;
      return;
    }
    if (!scope.alive || selected !== want) return;
    const pts = resp.points ?? [];
    seriesTitle.textContent = `Metric series ${want.series}`;
    seriesNote.textContent = `On ${agentLabel(want.agent)}: ${pts.length} point${pts.length === 1 ? '' : 's'} from just before its first alert, ${resp.alerts} alert${resp.alerts === 1 ? '' : 's'}; the score is on the right axis.`;
    if (!seriesChart) {
      seriesChart = chart(seriesEl, {
        title: `Value, expected range and anomaly score of ${want.series}`,
        xTime: true, yLabel: 'value', y2Label: 'score', height: 240,
        series: [
          { label: 'value', color: '#1f5fbf' },
          { label: 'expected low', color: '#64748b', dash: [4, 3] },
          { label: 'expected high', color: '#64748b', dash: [4, 3] },
          { label: 'score', color: '#b91c1c', scale: 'y2', points: true },
        ],
      });
    }
    seriesChart.setData([pts.map((p) => p[0]), pts.map((p) => p[1]), pts.map((p) => p[3]), pts.map((p) => p[4]), pts.map((p) => p[2])]);
    seriesCard.dataset.series = want.series;
  }
  function select(row: HTMLElement | null): void {
    if (!row?.dataset.series || !row.dataset.agent) return;
    const next = { agent: row.dataset.agent, series: row.dataset.series };
    if (selected && selected.agent === next.agent && selected.series === next.series) return;
    selected = next;
    seriesChart?.destroy();
    seriesChart = null;
    for (const r of tbody.querySelectorAll('tr.selected')) r.classList.remove('selected');
    row.classList.add('selected');
    void showSeries();
  }
  tbody.addEventListener('click', (e) => select((e.target as HTMLElement).closest('tr.metric-alert')));
  tbody.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') select((e.target as HTMLElement).closest('tr.metric-alert'));
  });
  scope.interval(() => void showSeries(), 5000);

  // Keep the time axes moving even without events.
  scope.interval(() => renderTimeline(), 5000);
  markReady('live');
  return scope.dispose;
}
