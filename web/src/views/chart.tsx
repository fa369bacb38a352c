import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * One question's answer distribution as a bar chart (uPlot). The bars are redrawn in place with
 * setData as stats arrive (at most 4 a second per question), never re-created.
 */
export function DistributionChart({ title, labels, counts }: { title: string; labels: string[]; counts: number[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = labels.join('\u0000');

  useEffect(() => {
    if (!host.current) return;
    const xs = labels.map((_, index) => index);
    const bars = uPlot.paths.bars!({ size: [0.6, 64] });
    plot.current = new uPlot(
      {
        width: Math.min(420, host.current.clientWidth || 320),
        height: 160,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [
          { values: (_u, splits) => splits.map((split) => (Number.isInteger(split) ? (labels[split] ?? '') : '')), splits: () => xs, size: 40 },
          { size: 32, incrs: [1, 2, 5, 10, 20, 50, 100] },
        ],
        series: [{}, { label: 'answers', fill: '#3b82f6', stroke: '#1d4ed8', paths: bars, points: { show: false } }],
      },
      [xs, counts],
      host.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key]);

  useEffect(() => {
    plot.current?.setData([labels.map((_, index) => index), counts]);
  }, [counts.join(','), key]);

  const total = counts.reduce((sum, count) => sum + count, 0);
  return (
    <figure class="chart" data-testid="distribution">
      <figcaption>{title}</figcaption>
      <div ref={host} aria-hidden="true" />
      {/* The same figures as text, for screen readers and tests. */}
      <ul class="sr-list">
        {labels.map((label, index) => (
          <li key={label}>
            {label}: {counts[index] ?? 0} of {total}
          </li>
        ))}
      </ul>
    </figure>
  );
}
