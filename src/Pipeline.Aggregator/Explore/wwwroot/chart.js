// A small canvas chart for the explore page: stacked bars (log volume) and time-series lines (metric queries).
// Hand-written, no dependencies: axes with "nice" ticks, HiDPI canvas, hover hit-testing for a tooltip.
'use strict';

(function () {
  const PAD = { left: 52, right: 12, top: 8, bottom: 22 };
  const AXIS = '#8e9099';
  const GRID = 'rgba(142, 144, 153, 0.15)';
  const FONT = '11px system-ui, sans-serif';

  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

  function niceNumber(x) {
    if (x <= 0) { return 1; }
    const exp = Math.floor(Math.log10(x));
    const f = x / Math.pow(10, exp);
    const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nice * Math.pow(10, exp);
  }

  function formatValue(v) {
    const a = Math.abs(v);
    if (a >= 1e9) { return trim(v / 1e9) + 'G'; }
    if (a >= 1e6) { return trim(v / 1e6) + 'M'; }
    if (a >= 1e3) { return trim(v / 1e3) + 'k'; }
    if (a === 0 || a >= 1) { return trim(v); }
    return String(Number(v.toPrecision(3)));
  }

  function trim(v) { return String(Math.round(v * 100) / 100); }

  function pad2(n) { return n < 10 ? '0' + n : String(n); }

  function formatTime(seconds, span) {
    const d = new Date(seconds * 1000);
    const hm = pad2(d.getHours()) + ':' + pad2(d.getMinutes());
    if (span <= 600) { return hm + ':' + pad2(d.getSeconds()); }
    if (span <= 2 * 86400) { return hm; }
    return pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' + hm;
  }

  /** Sizes the canvas to its CSS box times the device pixel ratio and returns a context in CSS pixels. */
  function setup(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || canvas.parentElement.clientWidth || 600;
    const height = canvas.clientHeight || Number(canvas.getAttribute('height')) || 150;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.height = height + 'px';
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    return { ctx, width, height, plotW: width - PAD.left - PAD.right, plotH: height - PAD.top - PAD.bottom };
  }

  function drawAxes(g, start, end, max) {
    const { ctx, width, plotW, plotH } = g;
    const span = Math.max(end - start, 1);
    const x = (t) => PAD.left + ((t - start) / span) * plotW;
    const y = (v) => PAD.top + plotH - (max > 0 ? (v / max) * plotH : 0);

    // Y: about four nice ticks from 0.
    ctx.fillStyle = AXIS;
    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const yStep = niceNumber(max / 4);
    for (let v = 0; v <= max + yStep * 1e-9; v += yStep) {
      const py = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(PAD.left, py);
      ctx.lineTo(width - PAD.right, py);
      ctx.stroke();
      ctx.fillText(formatValue(v), PAD.left - 6, py);
    }

    // X: a time step giving labels about 90 px apart, aligned to the local clock.
    const wanted = span / Math.max(plotW / 90, 1);
    const xStep = TIME_STEPS.find((s) => s >= wanted) || Math.ceil(wanted / 86400) * 86400;
    const offset = -new Date(start * 1000).getTimezoneOffset() * 60;
    let t = Math.ceil((start + offset) / xStep) * xStep - offset;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (; t <= end; t += xStep) {
      const px = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, PAD.top);
      ctx.lineTo(px, PAD.top + plotH);
      ctx.stroke();
      const label = formatTime(t, span);
      const half = ctx.measureText(label).width / 2;
      if (px + half <= width && px - half >= 0) { ctx.fillText(label, px, PAD.top + plotH + 5); }
    }

    return { x, y };
  }

  /**
   * Stacked bars. data: { start, end, step (seconds), groups: [{ name, color, values: number[] (one per bucket) }] }.
   * Returns { bars, hit(clientX, clientY) -> tooltip text or null }.
   */
  function drawBars(canvas, data) {
    const g = setup(canvas);
    const buckets = Math.max(1, Math.round((data.end - data.start) / data.step) + 1);
    const totals = new Float64Array(buckets);
    for (const group of data.groups) {
      for (let i = 0; i < buckets; i++) { totals[i] += group.values[i] || 0; }
    }

    let max = 0;
    for (let i = 0; i < buckets; i++) { max = Math.max(max, totals[i]); }
    max = max > 0 ? niceNumber(max / 4) * Math.ceil(max / niceNumber(max / 4)) : 1;
    const axes = drawAxes(g, data.start, data.end + data.step, max);
    const barW = Math.max(1, (g.plotW / buckets) - 1);
    let bars = 0;
    for (let i = 0; i < buckets; i++) {
      if (totals[i] <= 0) { continue; }
      bars++;
      const px = axes.x(data.start + i * data.step);
      let base = 0;
      for (const group of data.groups) {
        const v = group.values[i] || 0;
        if (v <= 0) { continue; }
        const top = axes.y(base + v);
        g.ctx.fillStyle = group.color;
        g.ctx.fillRect(px, top, barW, axes.y(base) - top);
        base += v;
      }
    }

    const rect = () => canvas.getBoundingClientRect();
    return {
      bars,
      hit(clientX) {
        const r = rect();
        const i = Math.floor(((clientX - r.left - PAD.left) / g.plotW) * buckets);
        if (i < 0 || i >= buckets || totals[i] <= 0) { return null; }
        const lines = [formatTime(data.start + i * data.step, 0) + '  total ' + totals[i]];
        for (const group of data.groups) {
          if (group.values[i]) { lines.push(group.name + ': ' + group.values[i]); }
        }
        return lines.join('\n');
      },
    };
  }

  /**
   * Lines. data: { start, end, series: [{ name, color, visible, points: [[seconds, value], ...] }] }.
   * Returns { points, hit(clientX, clientY) -> tooltip text or null }.
   */
  function drawLines(canvas, data) {
    const g = setup(canvas);
    let max = 0;
    let min = 0;
    let points = 0;
    for (const s of data.series) {
      if (!s.visible) { continue; }
      for (const p of s.points) {
        if (Number.isFinite(p[1])) { max = Math.max(max, p[1]); min = Math.min(min, p[1]); }
      }
    }

    max = max > 0 ? niceNumber(max / 4) * Math.ceil(max / niceNumber(max / 4)) : 1;
    const axes = drawAxes(g, data.start, data.end, max);
    const { ctx } = g;
    ctx.lineWidth = 1.5;
    ctx.lineJoin = 'round';
    const step = data.step || 0;
    for (const s of data.series) {
      if (!s.visible) { continue; }
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.beginPath();
      let prev = null;
      for (const p of s.points) {
        if (!Number.isFinite(p[1])) { prev = null; continue; }
        const px = axes.x(p[0]);
        const py = axes.y(p[1]);
        // A gap longer than one step breaks the line, like Grafana with missing samples.
        if (prev === null || (step > 0 && p[0] - prev > step * 1.5)) { ctx.moveTo(px, py); } else { ctx.lineTo(px, py); }
        prev = p[0];
        points++;
      }
      ctx.stroke();
      if (s.points.length <= 60) {
        for (const p of s.points) {
          if (Number.isFinite(p[1])) { ctx.fillRect(axes.x(p[0]) - 1.5, axes.y(p[1]) - 1.5, 3, 3); }
        }
      }
    }

    return {
      points,
      hit(clientX) {
        const r = canvas.getBoundingClientRect();
        const t = data.start + ((clientX - r.left - PAD.left) / g.plotW) * (data.end - data.start);
        if (t < data.start || t > data.end) { return null; }
        let best = null;
        const lines = [];
        for (const s of data.series) {
          if (!s.visible || s.points.length === 0) { continue; }
          let near = s.points[0];
          for (const p of s.points) { if (Math.abs(p[0] - t) < Math.abs(near[0] - t)) { near = p; } }
          if (step > 0 && Math.abs(near[0] - t) > step) { continue; }
          best = best === null ? near[0] : best;
          lines.push(s.name + ': ' + formatValue(near[1]));
        }
        return best === null ? null : formatTime(best, 0) + '\n' + lines.slice(0, 20).join('\n');
      },
    };
  }

  window.ExploreChart = { drawBars, drawLines, formatValue };
})();
