// Enishi's segment builder: the live count. The builder works without this file (its buttons
// post the form back); where the browser runs it, every edit posts the same form (with its
// anti-forgery token) to /segment-preview and shows the answer: the count, a sample of
// members, and the condition that is wrong. Text is only ever set as text, never as markup.
(function () {
  'use strict';
  var form = document.getElementById('builder');
  if (!form || !window.fetch || !window.URLSearchParams || !window.FormData) {
    return;
  }
  var count = document.getElementById('count');
  var sample = document.getElementById('sample');
  var ruleError = document.getElementById('rule-error');
  var text = document.getElementById('text');
  var textWas = form.querySelector('input[name=text_was]');
  var timer = null;
  var asked = 0;

  function clearMarks() {
    Array.prototype.forEach.call(form.querySelectorAll('.bad'), function (el) {
      el.classList.remove('bad');
    });
    Array.prototype.forEach.call(form.querySelectorAll('.live-error'), function (el) {
      el.parentNode.removeChild(el);
    });
    ruleError.textContent = '';
  }

  function showSample(members) {
    while (sample.firstChild) {
      sample.removeChild(sample.firstChild);
    }
    members.forEach(function (m, i) {
      if (i > 0) {
        sample.appendChild(document.createTextNode(', '));
      }
      var a = document.createElement('a');
      a.href = '/customers/' + encodeURIComponent(String(m.id));
      a.textContent = m.name;
      sample.appendChild(a);
    });
  }

  function show(answer) {
    clearMarks();
    count.textContent = answer.count === null ? '—' : String(answer.count);
    showSample(answer.sample || []);
    if (answer.error) {
      var node = answer.error.path === null ? null
        : form.querySelector('[data-path="' + String(answer.error.path).replace(/[^0-9.]/g, '') + '"]');
      if (node) {
        node.classList.add('bad');
        var p = document.createElement('p');
        p.className = 'error live-error';
        p.setAttribute('role', 'alert');
        p.textContent = answer.error.message;
        node.appendChild(p);
      } else {
        ruleError.textContent = answer.error.message;
        if (answer.error.text) {
          text.classList.add('bad');
        }
      }
    } else if (answer.from_text) {
      text.classList.remove('bad');
    }
    if (!answer.from_text && !answer.error) {
      // The text form follows the conditions as they are edited.
      text.value = answer.text;
      textWas.value = answer.text;
    }
  }

  function ask() {
    var body = new URLSearchParams(new FormData(form));
    body.set('do', 'count');
    var mine = ++asked;
    form.setAttribute('aria-busy', 'true');
    fetch(form.getAttribute('data-preview'), {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json' }
    }).then(function (r) {
      return r.json();
    }).then(function (answer) {
      if (mine === asked && answer && 'count' in answer) {
        show(answer);
      }
    }).catch(function () {
      // The buttons still work; the count is shown after the next post.
    }).then(function () {
      if (mine === asked) {
        form.removeAttribute('aria-busy');
      }
    });
  }

  function later(event) {
    var name = event.target.name || '';
    // The name and description do not change the count, nor does the field to add next.
    if (name === 'name' || name === 'description' || name.indexOf('pick.') === 0) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 400);
  }

  form.addEventListener('input', later);
  form.addEventListener('change', later);
  form.setAttribute('data-live', 'on');
}());
