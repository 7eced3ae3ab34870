// Models (the registry): models, versions, channels, signatures, metrics; promote / roll back.
import { h, replace, fmt, pct, timeStr, shortSha, badge, markReady, toast, confirmDialog, field, Scope } from '../dom';
import type { Cleanup } from '../dom';
import * as api from '../api';

interface Channel {
  model?: string;
  channel: string;
  sha256: string | null;
  number: number;
  revision: number;
  updated_at: string;
}
interface Version {
  model: string;
  number: number;
  sha256: string;
  size: number;
  created_at: string;
  publisher: string;
  signature: string;
  key_id?: string;
  summary?: {
    kind?: string;
    task?: string;
    classes?: string[];
    schema_format?: string;
    score?: { threshold?: number; rule?: string };
    metrics?: Record<string, unknown>;
    model?: { type?: string; hidden?: number[]; activation?: string; input_dim?: number; num_classes?: number };
  };
}
interface ModelSummary {
  name: string;
  created_at: string;
  versions: number;
  latest?: { number: number; sha256: string; created_at: string };
  channels?: Record<string, Channel>;
}
interface VersionStats {
  number: number;
  sha256: string;
  channels: string[];
  records: number;
  alerts: number;
  alert_rate: number;
  agents: string[];
  roles: string[];
  last_report: string;
}
interface Stats {
  versions?: VersionStats[];
  agents?: { agent: string; last_report: string; serving: { sha256: string; role: string; channel: string; records: number; number?: number }[] }[];
}

function channelList(c: unknown): Channel[] {
  if (Array.isArray(c)) return c as Channel[];
  if (c && typeof c === 'object') {
    const o = c as Record<string, unknown>;
    if (Array.isArray(o.channels)) return o.channels as Channel[];
    if (o.channels && typeof o.channels === 'object') return channelList(o.channels);
    return Object.values(o).filter((x): x is Channel => !!x && typeof x === 'object' && 'channel' in (x as object));
  }
  return [];
}

function versionList(v: unknown): Version[] {
  if (Array.isArray(v)) return v as Version[];
  if (v && typeof v === 'object' && Array.isArray((v as { versions?: unknown }).versions)) return (v as { versions: Version[] }).versions;
  return [];
}

export async function modelsPage(root: HTMLElement): Promise<Cleanup> {
  let models: ModelSummary[] = [];
  let error = '';
  try {
    models = (await api.get<{ models: ModelSummary[] }>('/api/models')).models ?? [];
  } catch (e) {
    error = (e as Error).message;
  }
  replace(
    root,
    h('h1', null, 'Models'),
    error ? h('p', { class: 'error', role: 'alert' }, `The registry did not answer: ${error}`) : null,
    h('section', { class: 'card', 'aria-label': 'Registry models' },
      models.length === 0 && !error
        ? h('p', { class: 'muted' }, 'The registry holds no models yet (vigil publish uploads one).')
        : h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'models-table' },
            h('caption', { class: 'sr-only' }, 'Models in the registry'),
            h('thead', null, h('tr', null, ['Model', 'Versions', 'Latest', 'Channels', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', null, models.map((m) => h('tr', { dataset: { model: m.name } },
              h('td', null, h('a', { href: `#/models/${encodeURIComponent(m.name)}` }, m.name)),
              h('td', { class: 'num' }, fmt(m.versions)),
              h('td', null, m.latest ? `v${m.latest.number} · ${shortSha(m.latest.sha256)} · ${timeStr(m.latest.created_at)}` : '—'),
              h('td', null, channelList(m.channels).map((c) => h('span', { class: 'chip' }, `${c.channel} → v${c.number}`))),
              h('td', null, timeStr(m.created_at)))))))),
  );
  markReady('models');
}

export async function modelPage(root: HTMLElement, [name]: string[]): Promise<Cleanup> {
  const scope = new Scope();
  const enc = encodeURIComponent(name);
  const datasets = (await api.get<{ datasets: api.Dataset[] }>('/api/datasets').catch(() => ({ datasets: [] as api.Dataset[] }))).datasets ?? [];
  const chanSec = h('section', { class: 'card', 'aria-labelledby': 'channels-title', id: 'channels' });
  const verSec = h('section', { class: 'card', 'aria-labelledby': 'versions-title', id: 'versions' });
  const agentsSec = h('section', { class: 'card', 'aria-labelledby': 'agents-title', id: 'model-agents' });
  replace(
    root,
    h('p', { class: 'crumbs' }, h('a', { href: '#/models' }, 'Models'), ' / ', name),
    h('h1', null, `Model ${name}`),
    chanSec,
    verSec,
    agentsSec,
  );

  async function load(): Promise<void> {
    const [d, agents] = await Promise.all([
      api.get<{ model: unknown; versions: unknown; channels: unknown; stats: Stats }>(`/api/models/${enc}`),
      api.get<{ agents: api.Agent[] }>('/api/agents').catch(() => ({ agents: [] as api.Agent[] })),
    ]);
    if (!scope.alive) return;
    const versions = versionList(d.versions ?? (d.model as { versions?: unknown })?.versions);
    const channels = channelList(d.channels ?? (d.model as { channels?: unknown })?.channels).sort((a, b) => a.channel.localeCompare(b.channel));
    const stats = d.stats ?? {};
    const vstats = new Map((stats.versions ?? []).map((s) => [s.number, s]));
    renderChannels(channels, versions);
    renderVersions(versions, channels, vstats);
    renderAgents(versions, stats, agents.agents ?? []);
  }

  function renderChannels(channels: Channel[], versions: Version[]): void {
    replace(chanSec, h('h2', { id: 'channels-title' }, 'Channels'),
      channels.length === 0 ? h('p', { class: 'muted' }, 'No channel set yet: promote a version.') :
        h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'channels-table' },
          h('caption', { class: 'sr-only' }, 'Channels and the versions they point at'),
          h('thead', null, h('tr', null, ['Channel', 'Version', 'SHA-256', 'Revision', 'Updated', ''].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, channels.map((c) => h('tr', { dataset: { channel: c.channel, version: c.number } },
            h('th', { scope: 'row' }, c.channel),
            h('td', { class: 'num' }, c.sha256 ? `v${c.number}` : '—'),
            h('td', null, h('code', null, shortSha(c.sha256))),
            h('td', { class: 'num' }, fmt(c.revision)),
            h('td', null, timeStr(c.updated_at)),
            h('td', null, api.canWrite() && c.sha256
              ? h('button', { type: 'button', class: 'small', 'aria-label': `Roll back ${c.channel}`, onclick: () => rollback(c, versions) }, 'Roll back…')
              : null)))))));
  }

  function renderVersions(versions: Version[], channels: Channel[], vstats: Map<number, VersionStats>): void {
    const onChannels = (v: Version) => channels.filter((c) => c.sha256 === v.sha256).map((c) => c.channel);
    replace(verSec, h('h2', { id: 'versions-title' }, 'Versions'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'versions-table' },
        h('caption', { class: 'sr-only' }, 'Versions, newest first'),
        h('thead', null, h('tr', null, ['Version', 'SHA-256', 'Channels', 'Signature', 'Model', 'Validation metrics', 'Agents / records / alert rate', 'Published', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, [...versions].sort((a, b) => b.number - a.number).map((v) => {
          const s = vstats.get(v.number);
          const raw = (v.summary?.metrics ?? {}) as Record<string, unknown>;
          const m = (raw.validation && typeof raw.validation === 'object' ? raw.validation : raw) as Record<string, unknown>;
          const mtxt = ['accuracy', 'f1', 'roc_auc'].filter((k) => typeof m[k] === 'number').map((k) => `${k} ${fmt(m[k], 3)}`).join(' · ');
          const mod = v.summary?.model;
          return h('tr', { dataset: { version: v.number } },
            h('th', { scope: 'row' }, `v${v.number}`),
            h('td', null, h('code', { title: v.sha256 }, shortSha(v.sha256))),
            h('td', null, onChannels(v).map((c) => h('span', { class: 'chip' }, c))),
            h('td', null, badge(v.signature || 'unsigned'), v.key_id ? h('small', { class: 'muted' }, ` ${v.key_id}`) : null),
            h('td', null, [mod?.type ?? v.summary?.kind, v.summary?.task, mod?.hidden?.length ? `[${mod.hidden.join(', ')}]` : null].filter(Boolean).join(' · ') || '—'),
            h('td', null, mtxt || '—'),
            h('td', null, s ? `${s.agents.length} / ${fmt(s.records)} / ${pct(s.alert_rate)}` : '—'),
            h('td', null, timeStr(v.created_at), v.publisher ? h('small', { class: 'muted' }, ` by ${v.publisher}`) : null),
            h('td', { class: 'nowrap' },
              api.canWrite() ? h('button', { type: 'button', class: 'small', 'aria-label': `Promote v${v.number}`, onclick: () => promote(v, channels) }, 'Promote…') : null,
              ' ',
              api.canWrite() ? h('button', { type: 'button', class: 'small', 'aria-label': `Evaluate v${v.number}`, onclick: () => evaluate(v) }, 'Evaluate') : null));
        })))));
  }

  function renderAgents(versions: Version[], stats: Stats, live: api.Agent[]): void {
    const num = (sha: string) => versions.find((v) => v.sha256 === sha || (sha && v.sha256.startsWith(sha)))?.number;
    const reported = stats.agents ?? [];
    const liveHere = live.filter((a) => a.model && (a.model.name === name || (a.model.sha256 && num(a.model.sha256)) || (a.model.version && num(a.model.version))));
    replace(agentsSec, h('h2', { id: 'agents-title' }, 'Agents running this model'),
      reported.length === 0 && liveHere.length === 0 ? h('p', { class: 'muted' }, 'No agent has reported on this model.') : null,
      reported.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'agents-stats' },
        h('caption', null, 'From the registry\'s reports'),
        h('thead', null, h('tr', null, ['Agent', 'Serving', 'Last report'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, reported.map((a) => h('tr', null, h('th', { scope: 'row' }, a.agent),
          h('td', null, a.serving.map((s) => h('span', { class: 'chip' }, `v${s.number ?? num(s.sha256) ?? '?'} ${s.role}${s.channel ? ' (' + s.channel + ')' : ''}: ${fmt(s.records)} records`))),
          h('td', null, timeStr(a.last_report))))))) : null,
      liveHere.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
        h('caption', null, 'Agents this console follows'),
        h('thead', null, h('tr', null, ['Agent', 'Version', 'Records', 'Alerts'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, liveHere.map((a) => h('tr', null, h('th', { scope: 'row' }, a.url),
          h('td', null, `v${a.model?.registry_version ?? num(a.model?.sha256 ?? a.model?.version ?? '') ?? '?'} · ${shortSha(a.model?.version)}`),
          h('td', { class: 'num' }, fmt(a.records)), h('td', { class: 'num' }, fmt(a.alerts))))))) : null);
  }

  async function promote(v: Version, channels: Channel[]): Promise<void> {
    const names = [...new Set(['stable', 'canary', ...channels.map((c) => c.channel)])];
    const sel = h('select', { id: 'promote-channel', name: 'channel' }, names.map((n) => h('option', { value: n }, n)), h('option', { value: '' }, 'other…'));
    const other = h('input', { type: 'text', id: 'promote-other', pattern: '[A-Za-z0-9._-]+', placeholder: 'channel name' });
    const otherField = field('Other channel', other);
    otherField.hidden = true;
    sel.addEventListener('change', () => {
      otherField.hidden = sel.value !== '';
      other.required = sel.value === '';
    });
    const current = (ch: string) => channels.find((c) => c.channel === ch);
    const note = h('p', { class: 'muted', 'aria-live': 'polite' });
    const upd = () => {
      const c = current(sel.value);
      note.textContent = c?.sha256 ? `${sel.value} now points at v${c.number}; it will point at v${v.number}.` : `${sel.value || 'The channel'} will point at v${v.number}.`;
    };
    sel.addEventListener('change', upd);
    upd();
    const ok = await confirmDialog(`Promote ${name} v${v.number}`, [
      h('p', null, 'Agents following the channel switch to this version within seconds.'),
      field('Channel', sel), otherField, note,
      h('p', null, 'Version ', h('code', null, shortSha(v.sha256)), ', signature ', badge(v.signature || 'unsigned')),
    ], 'Promote');
    if (!ok) return;
    const ch = sel.value || other.value.trim();
    if (!ch) return;
    try {
      await api.post(`/api/models/${enc}/channels/${encodeURIComponent(ch)}`, { version: v.number });
      toast(`${ch} → v${v.number}`);
    } catch (e) {
      toast(`Promotion failed: ${(e as Error).message}`, 'error');
    }
    await load();
  }

  async function rollback(c: Channel, _versions: Version[]): Promise<void> {
    const ok = await confirmDialog(`Roll back ${name}/${c.channel}`,
      h('p', null, `${c.channel} points at v${c.number}; rolling back returns it to the version before its latest promotion.`), 'Roll back');
    if (!ok) return;
    try {
      const r = await api.post<Channel>(`/api/models/${enc}/channels/${encodeURIComponent(c.channel)}/rollback`);
      toast(`${c.channel} rolled back${r && typeof r.number === 'number' ? ' to v' + r.number : ''}`);
    } catch (e) {
      toast(`Rollback failed: ${(e as Error).message}`, 'error');
    }
    await load();
  }

  async function evaluate(v: Version): Promise<void> {
    const ds = datasets.find((d) => d.format === v.summary?.schema_format) ?? datasets[0];
    if (!ds) return toast('No data set to evaluate on', 'error');
    try {
      const r = await api.post<{ id: string }>('/api/evaluations', { bundle: `registry:${name}:${v.number}`, dataset: ds.id, test: ds.tests[0]?.id });
      location.hash = `#/evaluations/${r.id}`;
    } catch (e) {
      toast((e as Error).message, 'error');
    }
  }

  await load();
  scope.interval(() => {
    // Refresh the figures, but not under a user's hands (open dialog, focus in a table).
    const busy = document.querySelector('dialog[open]') || root.contains(document.activeElement);
    if (!busy) void load().catch(() => {});
  }, 10000);
  markReady('model');
  return scope.dispose;
}
