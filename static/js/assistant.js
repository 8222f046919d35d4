// The assistant's command box: empty the input once a command was answered, and keep only the last few
// replies. Event listeners only (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  var KEEP = 3;
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || form.id !== "command-box" || !evt.detail.successful) return;
    var input = form.querySelector("#command-text");
    if (input) input.value = "";
    var replies = document.querySelectorAll("#command-reply > .assistant-reply");
    for (var i = KEEP; i < replies.length; i++) replies[i].remove();
  });
})();
