// Interactive charts (TradingView Lightweight Charts, static/vendor/lightweight-charts/): zoom, pan,
// crosshair values, trade markers, volume and an equity pane. Every element with data-chart="…" is one chart;
// its configuration is in data- attributes or a <script type="application/json"> block (no inline script).
//   backtest / bot: data-url is a JSON endpoint (strategies.charts.payload) answering bars, equity and markers
//     for a range. The first answer is the overview of the whole run; when a zoom needs finer bars than the
//     overview has, the visible range (plus a margin) is asked again and replaces those overview bars.
//   bot: data-tail names an element the live websocket swaps in each tick (bots/parts/chart.html); its
//     data-chart-tail JSON (newest candles, equity points and fills) is folded into the chart.
//   equity (dashboard): data-source names an element whose data-points JSON holds [[time, value], ...].
//   compare: data-source names a json_script block with one equity series per backtest run.
(function () {
  "use strict";
  var L = window.LightweightCharts;
  var UP = "#26a269", DOWN = "#e5534b", ACCENT = "#3fb6ff", EXIT = "#f0b429", MUTED = "#8b949e";

  function number(value, digits) {
    if (value === null || value === undefined || isNaN(value)) return "—";
    var abs = Math.abs(value);
    var places = digits !== undefined ? digits : abs >= 1000 ? 2 : abs >= 1 ? 4 : 8;
    var options = { minimumFractionDigits: Math.min(places, 2), maximumFractionDigits: places };
    return window.tradingbotLocale ? window.tradingbotLocale.number(value, options) : value.toLocaleString("en-US", options);
  }

  function utc(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function createChart(el, extra) {
    var options = {
      autoSize: true,
      layout: {
        background: { type: "solid", color: "#0b0f14" }, textColor: MUTED, attributionLogo: false,
        panes: { separatorColor: "#2a323c", separatorHoverColor: "rgba(63,182,255,0.2)" },
      },
      grid: { vertLines: { color: "#161c23" }, horzLines: { color: "#161c23" } },
      rightPriceScale: { borderColor: "#2a323c" },
      timeScale: { borderColor: "#2a323c", timeVisible: true, secondsVisible: false, rightOffset: 3 },
      crosshair: { mode: L.CrosshairMode.Normal },
      // The chart's own axis labels (month names) in the page's language, Gregorian years (static/js/locale.js).
      localization: { locale: window.tradingbotLocale ? window.tradingbotLocale.locale() : "en-u-ca-gregory" },
    };
    for (var key in extra || {}) options[key] = extra[key];
    return L.createChart(el, options);
  }

  // An equity scale that never magnifies noise: the visible range spans at least `share` of `base`
  // (2 % of the starting cash), so a 0.03 % move is a ripple, not a crash.
  function steadyScale(base, share) {
    return function (original) {
      var result = original();
      if (!result || !result.priceRange) return result;
      var low = result.priceRange.minValue, high = result.priceRange.maxValue;
      var reference = Math.abs(base() || (low + high) / 2) || 1;
      var span = reference * share;
      if (high - low < span) {
        var middle = (low + high) / 2;
        result.priceRange.minValue = middle - span / 2;
        result.priceRange.maxValue = middle + span / 2;
      }
      return result;
    };
  }

  function card(el) { return el.closest(".chart-card") || el.parentNode; }
  function part(el, name) { return card(el).querySelector("[data-chart-" + name + "]"); }

  function pow2ceil(x) { var p = 1; while (p < x) p *= 2; return p; }

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  // ---- price + volume + equity, with zoom that asks the server for finer bars -------------------------
  function PriceChart(el) {
    this.el = el;
    this.url = el.getAttribute("data-url");
    this.currency = el.getAttribute("data-currency") || "";
    this.labels = {
      entry: el.getAttribute("data-label-entry") || "entry", exit: el.getAttribute("data-label-exit") || "exit",
      equity: el.getAttribute("data-label-equity") || "Equity", volume: el.getAttribute("data-label-volume") || "Vol",
    };
    this.startCash = parseFloat(el.getAttribute("data-start-cash")) || null;
    this.overview = null;
    this.fine = null;
    this.requests = 0;
    this.pending = 0;
    var self = this;
    this.chart = createChart(el);
    this.candles = this.chart.addSeries(L.CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderUpColor: UP, borderDownColor: DOWN, wickUpColor: UP, wickDownColor: DOWN,
      priceLineVisible: false,
    });
    this.volume = this.chart.addSeries(L.HistogramSeries, {
      priceScaleId: "volume", priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false,
    });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.equity = this.chart.addSeries(L.BaselineSeries, {
      baseValue: { type: "price", price: this.startCash || 0 },
      topLineColor: UP, topFillColor1: "rgba(38,162,105,0.25)", topFillColor2: "rgba(38,162,105,0.02)",
      bottomLineColor: DOWN, bottomFillColor1: "rgba(229,83,75,0.02)", bottomFillColor2: "rgba(229,83,75,0.25)",
      lineWidth: 2, priceLineVisible: false,
      autoscaleInfoProvider: steadyScale(function () { return self.startCash; }, 0.02),
    }, 1);
    var panes = this.chart.panes();
    if (panes.length > 1) panes[1].setHeight(Math.max(90, Math.round(el.clientHeight * 0.3)));
    this.markers = L.createSeriesMarkers(this.candles, []);
    this.markerIndex = {};
    this.chart.subscribeCrosshairMove(function (param) { self.legend(param); });
    this.chart.timeScale().subscribeVisibleTimeRangeChange(debounce(function () { self.maybeRefine(); }, 250));
    var reset = part(el, "reset");
    if (reset) reset.addEventListener("click", function () { self.fine = null; self.draw(); self.chart.timeScale().fitContent(); });
    this.load();
  }

  PriceChart.prototype.fetch = function (params) {
    var url = new URL(this.url, window.location.href);
    for (var key in params) if (params[key] !== null && params[key] !== undefined) url.searchParams.set(key, params[key]);
    this.requests += 1;
    this.el.setAttribute("data-requests", String(this.requests));
    return fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || response.statusText);
          return body;
        });
      });
  };

  PriceChart.prototype.load = function () {
    var self = this;
    return this.fetch({ bars: 2000 }).then(function (data) {
      self.overview = data;
      self.fine = null;
      if (data.start_cash !== undefined && data.start_cash !== null) {
        self.startCash = data.start_cash;
        self.equity.applyOptions({ baseValue: { type: "price", price: data.start_cash } });
      }
      self.draw();
      self.chart.timeScale().fitContent();
      self.el.setAttribute("data-ready", "1");
    }).catch(function (error) { self.showError(error); });
  };

  PriceChart.prototype.showError = function (error) {
    var caption = part(this.el, "caption");
    if (caption) caption.textContent = String(error.message || error);
    this.el.setAttribute("data-error", String(error.message || error));
  };

  // The overview's bars outside the fine window, then the fine window's bars.
  PriceChart.prototype.merged = function (key) {
    var base = this.overview ? this.overview[key] : [];
    var fine = this.fine;
    if (!fine) return base.slice();
    var before = base.filter(function (row) { return row[0] < fine.from; });
    var after = base.filter(function (row) { return row[0] >= fine.to; });
    return before.concat(fine[key], after);
  };

  PriceChart.prototype.draw = function () {
    var bars = this.merged("bars");
    var equity = this.merged("equity");
    var markers = this.merged("markers");
    this.candles.setData(bars.map(function (b) { return { time: b[0], open: b[1], high: b[2], low: b[3], close: b[4] }; }));
    this.volume.setData(bars.map(function (b) {
      return { time: b[0], value: b[5], color: b[4] >= b[1] ? "rgba(38,162,105,0.45)" : "rgba(229,83,75,0.45)" };
    }));
    this.equity.setData(equity.map(function (p) { return { time: p[0], value: p[1] }; }));
    this.setMarkers(markers);
    this.lastBar = bars.length ? bars[bars.length - 1] : null;
    this.lastEquity = equity.length ? equity[equity.length - 1] : null;
    var shown = this.fine || this.overview;
    var caption = part(this.el, "caption");
    if (caption && shown) caption.textContent = shown.caption;
    this.el.setAttribute("data-bars", String(bars.length));
    this.el.setAttribute("data-bucket", String(shown ? shown.bucket : 0));
    this.el.setAttribute("data-markers", String(markers.length));
    this.legend({});
  };

  PriceChart.prototype.setMarkers = function (markers) {
    var index = {};
    // A marker is [bar time, "entry"|"exit", how many, first price, exit reasons].
    this.markers.setMarkers(markers.map(function (m) {
      (index[m[0]] = index[m[0]] || []).push(m);
      var entry = m[1] === "entry";
      return {
        time: m[0], position: entry ? "belowBar" : "aboveBar", shape: entry ? "arrowUp" : "arrowDown",
        color: entry ? ACCENT : EXIT, text: m[2] > 1 ? String(m[2]) : "", id: m[1] + m[0],
      };
    }));
    this.markerIndex = index;
  };

  PriceChart.prototype.legend = function (param) {
    var box = part(this.el, "legend");
    if (!box) return;
    var bar = null, equity = null, time = param && param.time;
    if (time !== undefined && param.seriesData) {
      bar = param.seriesData.get(this.candles) || null;
      var e = param.seriesData.get(this.equity);
      equity = e ? e.value : null;
    } else if (this.lastBar || this.lastEquity) {
      var b = this.lastBar;
      if (b) { bar = { open: b[1], high: b[2], low: b[3], close: b[4] }; time = b[0]; }
      if (this.lastEquity) { equity = this.lastEquity[1]; time = time || this.lastEquity[0]; }
    }
    if (time === undefined || time === null) { box.textContent = ""; return; }
    var parts = [utc(time)];
    if (bar && bar.open !== undefined) {
      parts.push("O " + number(bar.open) + "  H " + number(bar.high) + "  L " + number(bar.low) + "  C " + number(bar.close));
      var vol = this.volumeAt(time);
      if (vol !== null) parts.push(this.labels.volume + " " + number(vol, 2));
    }
    if (equity !== null && equity !== undefined) {
      var text = this.labels.equity + " " + number(equity, 2) + (this.currency ? " " + this.currency : "");
      if (this.startCash) text += " (" + (equity >= this.startCash ? "+" : "") + number((equity / this.startCash - 1) * 100, 2) + " %)";
      parts.push(text);
    }
    var here = this.markerIndex[time] || [];
    var labels = this.labels;
    here.forEach(function (m) {
      var entry = m[1] === "entry";
      parts.push((entry ? "▲ " : "▼ ") + (m[2] > 1 ? m[2] + " × " : "") + (entry ? labels.entry : labels.exit) +
        " " + number(m[3]) + (m[4] ? " (" + m[4] + ")" : ""));
    });
    box.textContent = parts.join(" · ");
  };

  PriceChart.prototype.volumeAt = function (time) {
    var bars = this.merged("bars");
    var lo = 0, hi = bars.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (bars[mid][0] === time) return bars[mid][5];
      if (bars[mid][0] < time) lo = mid + 1; else hi = mid - 1;
    }
    return null;
  };

  // After a zoom or pan settles: if the visible range deserves finer bars than it has, ask for them.
  PriceChart.prototype.maybeRefine = function () {
    if (!this.overview || !this.overview.bars.length) return;
    var range = this.chart.timeScale().getVisibleRange();
    if (!range) return;
    var tf = this.overview.timeframe_seconds;
    var from = Number(range.from), to = Number(range.to);
    var target = Math.max(200, Math.min(2000, Math.round(this.el.clientWidth)));  // about a bar per pixel
    var desired = pow2ceil(((to - from) / tf + 1) / target);
    var self = this;
    if (desired >= this.overview.bucket) {
      if (this.fine) { this.fine = null; this.redraw(range); }
      return;
    }
    if (this.fine && this.fine.bucket <= desired && desired <= this.fine.bucket * 2 &&
        from >= this.fine.from && to < this.fine.to) return;
    var span = to - from;
    var ticket = ++this.pending;
    this.fetch({
      from: Math.max(0, Math.floor(from - span / 2)), to: Math.ceil(to + span / 2), bars: 2 * target,
      align: this.overview.bucket_seconds,
    }).then(function (data) {
      if (ticket !== self.pending) return;  // a newer zoom asked already
      self.fine = data;
      self.redraw(self.chart.timeScale().getVisibleRange() || range);
    }).catch(function (error) { self.showError(error); });
  };

  // Redraw keeping the visible time range (the number of bars before it changes with the resolution).
  PriceChart.prototype.redraw = function (range) {
    this.draw();
    if (range) this.chart.timeScale().setVisibleRange({ from: range.from, to: range.to });
  };

  // ---- live: fold a bot's newest candles, equity and fills into the chart ------------------------------
  PriceChart.prototype.foldTail = function (tail) {
    if (!this.overview) return;
    var tf = this.overview.timeframe_seconds || tail.timeframe_seconds;
    var lastCandle = this.overview.last_candle || 0;
    var lastEquity = this.overview.last_equity || 0;
    var lastFill = this.overview.last_fill || 0;
    var bars = (tail.bars || []).filter(function (b) { return b[0] > lastCandle; });
    var equity = (tail.equity || []).filter(function (p) { return p[0] >= lastEquity; });
    var fills = (tail.fills || []).filter(function (f) { return f[0] > lastFill; });
    var missed = (bars.length && lastCandle && bars[0][0] > lastCandle + tf) ||
      (equity.length && lastEquity && equity[0][0] > lastEquity + tf && (tail.equity || []).length >= 20);
    if (missed) { this.load(); return; }  // messages were missed: ask for the whole picture again
    if (!bars.length && !equity.length && !fills.length) return;
    var parts = [this.overview];
    if (this.fine) parts.push(this.fine);
    parts.forEach(function (data) {
      bars.forEach(function (b) { foldBar(data.bars, data.bucket_seconds, b); });
      equity.forEach(function (p) { foldPoint(data.equity, data.bucket_seconds, p); });
      fills.forEach(function (f) { foldMarker(data.markers, data.bars, data.bucket_seconds, f); });
    });
    var newest = function (list, key, fallback) { return list.length ? list[list.length - 1][key] : fallback; };
    this.overview.last_candle = newest(bars, 0, lastCandle);
    this.overview.last_equity = newest(equity, 0, lastEquity);
    this.overview.last_fill = fills.length ? fills[fills.length - 1][0] : lastFill;
    if (this.fine && this.fine.to <= this.overview.last_candle) this.fine = null;  // the window is now in the past
    var range = this.chart.timeScale().getVisibleRange();
    var following = !range || !this.lastBar || Number(range.to) >= this.lastBar[0] - 1;
    this.draw();
    if (following) this.chart.timeScale().scrollToRealTime();
    else if (range) this.chart.timeScale().setVisibleRange(range);
    this.liveCandles = (this.liveCandles || 0) + bars.length;
    var caption = part(this.el, "caption");
    var label = this.el.getAttribute("data-label-live");
    if (caption && label && this.liveCandles) caption.textContent = (this.fine || this.overview).caption + " " + label.replace("%s", this.liveCandles);
    this.el.setAttribute("data-live-updates", String((parseInt(this.el.getAttribute("data-live-updates"), 10) || 0) + 1));
  };

  function bucketOf(time, seconds) { return Math.floor(time / seconds) * seconds; }

  function foldBar(list, seconds, b) {
    var time = bucketOf(b[0], seconds), last = list[list.length - 1];
    if (last && last[0] === time) {
      last[2] = Math.max(last[2], b[2]); last[3] = Math.min(last[3], b[3]); last[4] = b[4]; last[5] += b[5];
    } else if (!last || time > last[0]) {
      list.push([time, b[1], b[2], b[3], b[4], b[5]]);
    }
  }

  function foldPoint(list, seconds, p) {
    var time = bucketOf(p[0], seconds), last = list[list.length - 1];
    if (last && last[0] === time) last[1] = p[1];
    else if (!last || time > last[0]) list.push([time, p[1]]);
  }

  // A fill from the live tail: [id, time, "entry"|"exit", price, reason].
  function foldMarker(markers, bars, seconds, f) {
    var time = bucketOf(f[1], seconds);
    for (var k = bars.length - 1; k >= 0; k--) { if (bars[k][0] <= f[1]) { time = bars[k][0]; break; } }
    for (var i = markers.length - 1; i >= 0; i--) {
      if (markers[i][0] === time && markers[i][1] === f[2]) {
        markers[i][2] += 1;
        if (f[4] && markers[i][4].indexOf(f[4]) === -1) markers[i][4] = markers[i][4] ? markers[i][4] + ", " + f[4] : f[4];
        return;
      }
      if (markers[i][0] < time) break;
    }
    markers.push([time, f[2], 1, f[3], f[2] === "exit" ? (f[4] || "") : ""]);
    markers.sort(function (a, b) { return a[0] - b[0]; });
  }

  function watchTail(chart, id) {
    var seen = null;
    function check() {
      var el = document.getElementById(id);
      if (!el) return;
      var text = el.getAttribute("data-chart-tail");
      if (!text || text === seen) return;
      seen = text;
      try { chart.foldTail(JSON.parse(text)); } catch (e) { chart.showError(e); }
    }
    document.addEventListener("htmx:wsAfterMessage", check);
    document.addEventListener("htmx:afterSwap", check);
    var initial = document.getElementById(id);
    seen = initial ? initial.getAttribute("data-chart-tail") : null;  // the page's own data already has it
  }

  // ---- one equity line from a data-points attribute (the dashboard's total) ---------------------------
  function EquityLine(el) {
    var self = this;
    this.el = el;
    this.sourceId = el.getAttribute("data-source");
    this.chart = createChart(el);
    this.series = this.chart.addSeries(L.AreaSeries, {
      lineColor: ACCENT, topColor: "rgba(63,182,255,0.25)", bottomColor: "rgba(63,182,255,0.02)", lineWidth: 2,
      priceLineVisible: false, autoscaleInfoProvider: steadyScale(function () { return self.reference; }, 0.02),
    });
    this.seen = null;
    this.chart.subscribeCrosshairMove(function (param) { self.legend(param); });
    this.refresh();
    document.addEventListener("htmx:wsAfterMessage", function () { self.refresh(); });
  }

  EquityLine.prototype.refresh = function () {
    var source = document.getElementById(this.sourceId);
    if (!source) return;
    var text = source.getAttribute("data-points") || "[]";
    this.currency = source.getAttribute("data-currency") || "";
    if (text === this.seen) return;
    this.seen = text;
    var byTime = {};
    JSON.parse(text).forEach(function (p) { byTime[p[0]] = p[1]; });  // one value per second: the last
    var points = Object.keys(byTime).map(Number).sort(function (a, b) { return a - b; })
      .map(function (t) { return { time: t, value: byTime[t] }; });
    var range = this.points && this.points.length ? this.chart.timeScale().getVisibleRange() : null;
    var following = !range || Number(range.to) >= this.points[this.points.length - 1].time - 1;
    this.points = points;
    this.reference = points.length ? points[0].value : 0;
    this.series.setData(points);
    if (following) this.chart.timeScale().fitContent();
    else this.chart.timeScale().setVisibleRange(range);
    this.el.setAttribute("data-points-shown", String(points.length));
    this.el.setAttribute("data-ready", "1");
    var holder = card(this.el);
    if (holder && holder.id) holder.hidden = points.length === 0;
    this.el.classList.toggle("chart-empty", points.length < 2);
    this.legend({});
  };

  EquityLine.prototype.legend = function (param) {
    var box = part(this.el, "legend");
    if (!box) return;
    var point = null;
    if (param && param.time !== undefined && param.seriesData) {
      var value = param.seriesData.get(this.series);
      if (value) point = { time: param.time, value: value.value };
    } else if (this.points && this.points.length) {
      point = this.points[this.points.length - 1];
    }
    box.textContent = point ? utc(point.time) + " · " + number(point.value, 2) + (this.currency ? " " + this.currency : "") : "";
  };

  // ---- several runs' equity, as returns, on one chart --------------------------------------------------
  function CompareChart(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    var runs = source ? JSON.parse(source.textContent) : [];
    var chart = createChart(el, { rightPriceScale: { borderColor: "#2a323c" } });
    var series = runs.map(function (run) {
      var s = chart.addSeries(L.LineSeries, {
        color: run.colour, lineWidth: 2, priceLineVisible: false, title: "#" + run.id,
        priceFormat: { type: "custom", formatter: function (v) { return v.toFixed(2) + " %"; } },
        autoscaleInfoProvider: steadyScale(function () { return 100; }, 0.02),
      });
      s.setData(run.points.map(function (p) { return { time: p[0], value: p[1] }; }));
      return s;
    });
    chart.timeScale().fitContent();
    document.querySelectorAll(".swatch[data-colour]").forEach(function (sw) { sw.style.backgroundColor = sw.getAttribute("data-colour"); });
    var box = part(el, "legend");
    chart.subscribeCrosshairMove(function (param) {
      if (!box) return;
      if (param.time === undefined) { box.textContent = ""; return; }
      var parts = [utc(param.time)];
      runs.forEach(function (run, i) {
        var v = param.seriesData.get(series[i]);
        if (v) parts.push(run.label + " " + (v.value >= 0 ? "+" : "") + v.value.toFixed(2) + " %");
      });
      box.textContent = parts.join(" · ");
    });
    el.setAttribute("data-series", String(series.length));
    el.setAttribute("data-ready", "1");
  }

  function start() {
    if (!L) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.chartController) return;
      var kind = el.getAttribute("data-chart");
      if (kind === "backtest" || kind === "bot") {
        el.chartController = new PriceChart(el);
        if (el.getAttribute("data-tail")) watchTail(el.chartController, el.getAttribute("data-tail"));
      } else if (kind === "equity") {
        el.chartController = new EquityLine(el);
      } else if (kind === "compare") {
        el.chartController = new CompareChart(el);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
