/* Time limits (WCAG 2.2.1): warn before the idle limit ends the session, offer to extend it,
   and keep what was typed in the page's forms in this tab's sessionStorage so that nothing is
   lost when the session does end. A file, not an inline script: the CSP is script-src 'self'. */
(function () {
  "use strict";

  var TOUCHED = "heart-session-touched"; // shared by the tabs: any page load resets the limit
  var DRAFT = "heart-draft:";
  var PENDING = "heart-draft-pending";
  var warning = document.getElementById("session-warning");
  if (!warning) {
    return;
  }

  function storage(kind) {
    try {
      return window[kind];
    } catch (error) {
      return null; // storage disabled: warn and extend still work, drafts are not kept
    }
  }
  var local = storage("localStorage");
  var tab = storage("sessionStorage");

  /* The session's idle clock: every request the server answers saves the session again. */
  var idleSeconds = Number(warning.dataset.idleSeconds) || 1800;
  var warnSeconds = Math.min(Number(warning.dataset.warnSeconds) || 300, idleSeconds / 4);
  var touchedAt = Date.now();

  function touched() {
    touchedAt = Date.now();
    if (local) {
      local.setItem(TOUCHED, String(touchedAt));
    }
  }

  function lastTouch() {
    var shared = local ? Number(local.getItem(TOUCHED)) || 0 : 0;
    return Math.max(touchedAt, shared);
  }

  /* Drafts: one entry per form, keyed by the page and the form's action: every field of every
     POST form but passwords, files, hidden fields and the CSRF token (forms marked
     data-no-draft, such as the header's language and logout forms, hold nothing typed). */
  function draftForms() {
    return Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
      return (
        form !== warning &&
        (form.getAttribute("method") || "").toLowerCase() === "post" &&
        !form.hasAttribute("data-no-draft")
      );
    });
  }

  function draftKey(form) {
    return DRAFT + location.pathname + "|" + (form.getAttribute("action") || "");
  }

  function kept(field) {
    var type = (field.type || "").toLowerCase();
    return (
      field.name &&
      !field.disabled &&
      ["hidden", "password", "submit", "button", "reset", "file", "image"].indexOf(type) === -1 &&
      field.name !== "csrfmiddlewaretoken"
    );
  }

  function saveDraft(form) {
    if (!tab) {
      return;
    }
    var values = {};
    var any = false;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!kept(field)) {
        return;
      }
      any = true;
      var key = field.name + (field.type === "radio" || field.type === "checkbox" ? "=" + field.value : "");
      if (field.type === "radio" || field.type === "checkbox") {
        values[key] = field.checked;
      } else if (field.type === "select-multiple") {
        values[key] = Array.prototype.filter
          .call(field.options, function (option) {
            return option.selected;
          })
          .map(function (option) {
            return option.value;
          });
      } else {
        values[key] = field.value;
      }
    });
    if (any) {
      tab.setItem(draftKey(form), JSON.stringify(values));
    }
  }

  function restoreDraft(form) {
    var saved = tab && tab.getItem(draftKey(form));
    if (!saved) {
      return;
    }
    var values;
    try {
      values = JSON.parse(saved);
    } catch (error) {
      return;
    }
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!kept(field)) {
        return;
      }
      if (field.type === "radio" || field.type === "checkbox") {
        var key = field.name + "=" + field.value;
        if (key in values) {
          field.checked = values[key];
        }
      } else if (field.type === "select-multiple") {
        if (Array.isArray(values[field.name])) {
          Array.prototype.forEach.call(field.options, function (option) {
            option.selected = values[field.name].indexOf(option.value) !== -1;
          });
        }
      } else if (field.name in values) {
        field.value = values[field.name];
      }
    });
  }

  function clearDrafts() {
    if (!tab) {
      return;
    }
    for (var i = tab.length - 1; i >= 0; i -= 1) {
      var key = tab.key(i);
      if (key && (key.indexOf(DRAFT) === 0 || key === PENDING)) {
        tab.removeItem(key);
      }
    }
  }

  /* A draft goes once the server says its submit went through (a status message and no
     error); after an error, or the login page, it stays. */
  function settlePending() {
    var pending = tab && tab.getItem(PENDING);
    if (!pending) {
      return;
    }
    var failed = document.querySelector('main [role="alert"] .message');
    var succeeded = document.querySelector('main [role="status"] .message');
    if (succeeded && !failed) {
      tab.removeItem(pending);
    }
    tab.removeItem(PENDING);
  }

  function watchForms() {
    draftForms().forEach(function (form) {
      restoreDraft(form);
      form.addEventListener("input", function () {
        saveDraft(form);
      });
      form.addEventListener("change", function () {
        saveDraft(form);
      });
      form.addEventListener("submit", function () {
        if (tab) {
          saveDraft(form);
          tab.setItem(PENDING, draftKey(form));
        }
      });
    });
    // Logging out on a shared van laptop leaves no notes behind in the tab.
    var logout = document.querySelector('header form[action$="/logout/"]');
    if (logout) {
      logout.addEventListener("submit", clearDrafts);
    }
  }

  /* A status region that already holds text when the page loads is not read out by most
     screen readers: put the text back in a moment later, as a change they announce. */
  function announceMessages() {
    Array.prototype.forEach.call(document.querySelectorAll("main > .messages"), function (region) {
      if (!region.children.length) {
        return;
      }
      var nodes = Array.prototype.slice.call(region.childNodes);
      nodes.forEach(function (node) {
        region.removeChild(node);
      });
      window.setTimeout(function () {
        nodes.forEach(function (node) {
          region.appendChild(node);
        });
      }, 250);
    });
  }

  /* The warning. */
  var button = warning.querySelector("button");
  var left = warning.querySelector("[data-session-left]");
  var returnFocus = null;

  function showWarning(secondsLeft) {
    var minutes = Math.ceil(secondsLeft / 60);
    // The words come from the template, in the page's language.
    var text =
      secondsLeft > 90
        ? warning.dataset.minutesLeft.replace("{n}", minutes)
        : warning.dataset.secondsLeft.replace("{n}", Math.max(0, Math.ceil(secondsLeft)));
    if (left.textContent !== text) {
      left.textContent = text;
    }
    if (warning.hidden) {
      warning.hidden = false;
      returnFocus = document.activeElement;
      button.focus();
    }
  }

  function hideWarning() {
    if (warning.hidden) {
      return;
    }
    warning.hidden = true;
    if (returnFocus && typeof returnFocus.focus === "function" && document.contains(returnFocus)) {
      returnFocus.focus();
    }
    returnFocus = null;
  }

  function toLogin() {
    draftForms().forEach(saveDraft);
    var next = location.pathname + location.search + location.hash;
    location.assign(warning.dataset.loginUrl + "?next=" + encodeURIComponent(next));
  }

  function tick() {
    var secondsLeft = idleSeconds - (Date.now() - lastTouch()) / 1000;
    if (secondsLeft <= 0) {
      window.clearInterval(timer);
      toLogin();
    } else if (secondsLeft <= warnSeconds) {
      showWarning(secondsLeft);
    } else {
      hideWarning(); // another tab extended it
    }
  }

  warning.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    window
      .fetch(warning.action, {
        method: "POST",
        body: new FormData(warning),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
      .then(function (response) {
        if (!response.ok) {
          toLogin();
          return;
        }
        touched();
        hideWarning();
      })
      .catch(function () {
        left.textContent = warning.dataset.unreachable;
      })
      .then(function () {
        button.disabled = false;
      });
  });

  touched();
  settlePending();
  watchForms();
  announceMessages();
  var timer = window.setInterval(tick, 1000);
})();
