// Series colours (WCAG AA against white), shared by charts and pages without loading uPlot.
export const COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7c3aed', '#b91c1c', '#0e7490', '#a16207', '#be185d'];

/** uPlot and the chart helpers, loaded on first use (keeps them out of the first page load). */
export const loadCharts = () => import('./charts');
