// htmx settings for the Content-Security-Policy (script-src 'self', style-src 'self'): htmx must not inject
// its own <style> (the indicator rules are in app.css), evaluate code from attributes (hx-on, js: values,
// trigger filters) or run <script> tags it swaps in. Loaded right after htmx, before it initialises.
(function () {
  "use strict";
  htmx.config.includeIndicatorStyles = false;
  htmx.config.allowEval = false;
  htmx.config.allowScriptTags = false;
})();
