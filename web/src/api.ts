// The console's JSON API (docs/api.md): session + CSRF, fetch helpers, server-sent events.

export interface Session {
  user: string;
  role: string;
  csrf: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

let session: Session | null = null;
let onUnauthorized: () => void = () => {};

export function currentSession(): Session | null {
  return session;
}

export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export function canWrite(): boolean {
  return !!session && session.role !== 'reader';
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session) headers['X-CSRF-Token'] = session.csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const msg =
      data && typeof data === 'object' && 'error' in data
        ? String((data as { error: unknown }).error)
        : `${res.status} ${res.statusText}`;
    if (res.status === 401 && path !== '/api/login' && path !== '/api/session') {
      session = null;
      onUnauthorized();
    }
    throw new ApiError(res.status, msg);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});

export async function loadSession(): Promise<Session | null> {
  try {
    session = await request<Session>('GET', '/api/session');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) session = null;
    else throw e;
  }
  return session;
}

export async function login(cred: { password: string } | { token: string }): Promise<Session> {
  session = await request<Session>('POST', '/api/login', cred);
  return session;
}

export async function logout(): Promise<void> {
  try {
    await post('/api/logout');
  } finally {
    session = null;
    closeEvents();
  }
}

// ---- server-sent events: one EventSource, many listeners ------------------------------------

type Listener = (data: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
let es: EventSource | null = null;
const EVENT_TYPES = ['alert', 'agents', 'run', 'evaluation'];
let statusListener: (up: boolean) => void = () => {};

export function onEventStatus(fn: (up: boolean) => void): void {
  statusListener = fn;
}

export function openEvents(): void {
  if (es) return;
  es = new EventSource('/api/events', { withCredentials: true });
  es.onopen = () => statusListener(true);
  es.onerror = () => {
    statusListener(false);
    if (es && es.readyState === EventSource.CLOSED) {
      // The server refused the stream (session ended?): re-check and reopen.
      es = null;
      window.setTimeout(async () => {
        if (await loadSession().catch(() => null)) openEvents();
        else onUnauthorized();
      }, 2000);
    }
  };
  for (const type of EVENT_TYPES) {
    es.addEventListener(type, (ev) => {
      const set = listeners.get(type);
      if (!set || set.size === 0) return;
      let data: unknown;
      try {
        data = JSON.parse((ev as MessageEvent).data);
      } catch {
        return;
      }
      for (const fn of set) fn(data);
    });
  }
}

export function closeEvents(): void {
  es?.close();
  es = null;
}

/** Subscribe to one event type; returns the unsubscribe function. */
export function on(type: string, fn: Listener): () => void {
  let set = listeners.get(type);
  if (!set) listeners.set(type, (set = new Set()));
  set.add(fn);
  return () => set!.delete(fn);
}

// ---- shapes (as far as the pages use them) --------------------------------------------------

export interface HistoryRow {
  epoch: number;
  lr?: number;
  train_loss?: number;
  valid_loss?: number;
  elapsed_s?: number;
}

export interface Run {
  id: string;
  status: string;
  dataset: string;
  model: string;
  task: string;
  params: Record<string, unknown>;
  started?: string;
  finished?: string | null;
  epochs_total?: number;
  last?: HistoryRow | null;
  best_valid_loss?: number | null;
  error?: string | null;
  history?: HistoryRow[];
  log_tail?: string;
  bundle?: string | null;
  evaluation?: string | null;
}

export interface Dataset {
  id: string;
  format: string;
  train: string;
  tests: { id: string; path: string }[];
}

export interface Alert {
  time: string;
  record_time?: number | string;
  input?: string;
  position?: number;
  id?: string;
  src?: string;
  sport?: string;
  dst?: string;
  dport?: string;
  proto?: string;
  class: string;
  score: number;
  threshold: number;
  model?: string;
  version?: string;
  probabilities?: Record<string, number>;
  reasons?: { feature: string; value?: unknown; contribution: number }[];
  agent?: string;
  // Metric alerts (type "metric"): the series, its value and the range the detector expected.
  type?: string;
  series?: string;
  value?: number;
  expected?: { low: number; high: number };
}

// GET /api/series?agent=&key=: a metric series the agent watches (it alerted), oldest first.
export interface SeriesPoints {
  series: string;
  alerts: number;
  last_alert: number;
  points: [number, number | null, number | null, number | null, number | null][]; // time (s), value, score, low, high
}

export interface Agent {
  url: string;
  up: boolean;
  error?: string | null;
  model?: { name?: string; version?: string; sha256?: string; registry_version?: number; channel?: string; type?: string } | null;
  records?: number;
  alerts?: number;
  malformed?: number;
  records_per_s?: number;
  alerts_per_s?: number;
  mix?: { proto?: Record<string, number>; service?: Record<string, number> };
  hosts?: { host: string; value: number }[];
}
