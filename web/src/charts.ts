// uPlot wrappers: line charts that follow their container's width, histograms with a threshold.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { COLORS } from './colors';
export { COLORS };

export interface SeriesSpec {
  label: string;
  color?: string;
  dash?: number[];
  points?: boolean; // points only (no line)
  bars?: boolean;
  fill?: string;
  scale?: string;
}

export interface ChartSpec {
  title: string; // for the accessible label
  xLabel?: string;
  yLabel?: string;
  y2Label?: string;
  xTime?: boolean;
  xInt?: boolean; // integer ticks on x (epochs)
  height?: number;
  series: SeriesSpec[];
  xRange?: [number, number] | (() => [number, number]);
  yRange?: [number, number];
  yMin0?: boolean;
  yLog?: boolean; // logarithmic y (zeros are not drawn)
  markers?: () => { x: number; label: string; color?: string }[]; // vertical lines
  legend?: boolean;
}

export interface Chart {
  el: HTMLElement;
  setData(data: (number | null)[][], resetScales?: boolean): void;
  destroy(): void;
}

export function chart(container: HTMLElement, spec: ChartSpec): Chart {
  container.classList.add('chart');
  container.setAttribute('role', 'img');
  container.setAttribute('aria-label', spec.title);
  container.dataset.points = '0';
  const height = spec.height ?? 240;
  const series: uPlot.Series[] = [{ label: spec.xLabel ?? (spec.xTime ? 'time' : 'x') }];
  spec.series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const ser: uPlot.Series = { label: s.label, stroke: color, width: 2, dash: s.dash, scale: s.scale ?? 'y' };
    if (s.points) {
      ser.paths = () => null;
      ser.points = { show: true, size: 7, stroke: color, fill: color };
    }
    if (s.bars) {
      ser.paths = uPlot.paths.bars!({ size: [0.95, Infinity], align: 0 });
      ser.fill = s.fill ?? color + '66';
      ser.width = 1;
      ser.points = { show: false };
    } else if (s.fill) {
      ser.fill = s.fill;
    }
    series.push(ser);
  });
  const markers = spec.markers;
  const hasY2 = spec.series.some((s) => s.scale === 'y2');
  const opts: uPlot.Options = {
    width: Math.max(200, container.clientWidth || 600),
    height,
    series,
    legend: { show: spec.legend !== false },
    cursor: { drag: { x: true, y: false } },
    scales: {
      ...(hasY2 ? { y2: { range: (_u: uPlot, _min: number, max: number): [number, number] => [0, max > 0 ? max * 1.1 : 1] } } : {}),
      x: {
        time: !!spec.xTime,
        ...(typeof spec.xRange === 'function'
          ? { range: spec.xRange as () => [number, number] }
          : spec.xRange
            ? { range: spec.xRange }
            : {}),
      },
      y: spec.yLog
        ? { distr: 3 }
        : spec.yRange
        ? { range: spec.yRange }
        : spec.yMin0
          ? { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] }
          : {},
    },
    axes: [
      {
        label: spec.xLabel,
        stroke: '#334155',
        grid: { stroke: '#e2e8f0' },
        ...(spec.xInt ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : {}),
      },
      { label: spec.yLabel, stroke: '#334155', grid: { stroke: '#e2e8f0' }, size: 60 },
      ...(hasY2 ? [{ scale: 'y2', side: 1, label: spec.y2Label, stroke: '#334155', grid: { show: false }, size: 60 }] : []),
    ],
    hooks: markers
      ? {
          draw: [
            (u: uPlot) => {
              const ctx = u.ctx;
              for (const m of markers()) {
                if (!Number.isFinite(m.x)) continue;
                const x = Math.round(u.valToPos(m.x, 'x', true));
                if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
                ctx.save();
                ctx.strokeStyle = m.color ?? '#111827';
                ctx.lineWidth = 2 * devicePixelRatio;
                ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
                ctx.beginPath();
                ctx.moveTo(x, u.bbox.top);
                ctx.lineTo(x, u.bbox.top + u.bbox.height);
                ctx.stroke();
                ctx.fillStyle = m.color ?? '#111827';
                ctx.textAlign = 'left';
                ctx.textBaseline = 'alphabetic';
                ctx.font = `${12 * devicePixelRatio}px sans-serif`;
                ctx.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
                ctx.restore();
              }
            },
          ],
        }
      : {},
  };
  const empty: uPlot.AlignedData = [[], ...spec.series.map(() => [])] as unknown as uPlot.AlignedData;
  const u = new uPlot(opts, empty, container);
  let lastW = 0;
  const ro = new ResizeObserver(() => {
    const w = Math.max(200, Math.floor(container.clientWidth));
    if (w !== lastW) {
      lastW = w;
      u.setSize({ width: w, height });
    }
  });
  ro.observe(container);
  return {
    el: container,
    setData(data, resetScales = true) {
      u.setData(data as uPlot.AlignedData, resetScales);
      const n = data[0]?.length ?? 0;
      container.dataset.points = String(n);
    },
    destroy() {
      ro.disconnect();
      u.destroy();
    },
  };
}
