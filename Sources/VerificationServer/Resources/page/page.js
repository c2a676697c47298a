// Verigate hosted page: the countdown and the live result (Server-Sent Events, WHATWG HTML §9.2).
// Everything else is plain forms rendered by the server; without this script the page still
// works, only without live updates.
(function () {
  'use strict';
  var body = document.body;
  var status = document.getElementById('status');
  var countdown = document.getElementById('countdown');
  var expires = Date.parse(body.dataset.expires || '');
  var timer = null;

  function say(text) { if (status && text) { status.textContent = text; } }
  function remove(id) { var el = document.getElementById(id); if (el) { el.parentNode.removeChild(el); } }

  // A final status, shown in place: no reload. The texts were rendered by the server.
  function finish(state) {
    if (timer) { clearInterval(timer); }
    var text = document.querySelector('#finals [data-status="' + state + '"]');
    body.dataset.state = state;
    if (status) {
      status.className = 'status status-' + state;
      say(text ? text.textContent : state);
    }
    ['check-form', 'actions', 'timer', 'instruction', 'call-link', 'key-code', 'keycode-label', 'key-code-spoken', 'error'].forEach(remove);
    if (state !== 'approved') {
      var restart = document.getElementById('restart-form');
      if (restart) { restart.hidden = false; }
    }
  }

  if (countdown && !isNaN(expires)) {
    var tick = function () {
      var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      countdown.textContent = Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0');
      countdown.setAttribute('datetime', 'PT' + left + 'S');
      if (left === 0) {
        clearInterval(timer);
        say(body.dataset.timeUp);
        var inputs = document.querySelectorAll('#check-form input, #check-form button');
        for (var i = 0; i < inputs.length; i++) { inputs[i].disabled = true; }
      }
    };
    timer = setInterval(tick, 1000);
    tick();
  }

  if (body.dataset.events && window.EventSource) {
    var source = new EventSource(body.dataset.events);
    source.addEventListener('status', function (e) {
      var data = JSON.parse(e.data);
      if (data.status === 'pending') { say(status && status.dataset.waiting); return; }
      source.close();
      if (data.status === 'approved' && body.dataset.redirects) {
        window.location.assign(body.dataset.done); // the server adds the signed result
      } else {
        finish(data.status);
      }
    });
    source.addEventListener('event', function (e) {
      var data = JSON.parse(e.data);
      if (data.event === 'check_failed') { window.location.replace(body.dataset.self); }
    });
    // A form the user sends navigates anyway; its answer must not race with a live update.
    document.addEventListener('submit', function () { source.close(); });
    source.onerror = function () {
      if (source.readyState === EventSource.CONNECTING) { say(body.dataset.reconnecting); }
    };
  }
})();
