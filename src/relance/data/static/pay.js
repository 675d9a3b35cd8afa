/* The payment page's optional help. Everything works without it; with it:
   - the card number is shown in groups as it is typed;
   - the card form is checked before it is sent (the server's checks, with the server's
     words, read from the form's data-msg-* attributes so they are in the page's language);
   - a form cannot be sent twice by a double click;
   - the result of the last action gets the focus, so screen readers read it.
   No inline script: the page's Content-Security-Policy allows this file only. */
(function () {
  "use strict";

  var MAX_YEARS_AHEAD = 20;

  function digitsOf(text) {
    return (text || "").replace(/[\s-]/g, "");
  }

  function within(digits, width, low, high) {
    if (digits.length < width) return false;
    var value = parseInt(digits.slice(0, width), 10);
    return value >= low && value <= high;
  }

  /* Mirrors relance.domain.cards.brand_of. */
  function brandOf(digits) {
    if (!/^\d+$/.test(digits)) return "unknown";
    var two = digits.slice(0, 2);
    if (two === "34" || two === "37") return "amex";
    if (digits.charAt(0) === "4") return "visa";
    if (within(digits, 2, 51, 55) || within(digits, 4, 2221, 2720)) return "mastercard";
    if (digits.indexOf("6011") === 0 || digits.indexOf("65") === 0 || within(digits, 3, 644, 649)) {
      return "discover";
    }
    return "unknown";
  }

  var LENGTHS = {
    visa: [13, 16, 19],
    mastercard: [16],
    amex: [15],
    discover: [16, 17, 18, 19]
  };

  function luhnValid(digits) {
    if (!/^\d+$/.test(digits)) return false;
    var total = 0;
    for (var i = 0; i < digits.length; i++) {
      var value = parseInt(digits.charAt(digits.length - 1 - i), 10);
      if (i % 2) value = value > 4 ? value * 2 - 9 : value * 2;
      total += value;
    }
    return total % 10 === 0;
  }

  function numberProblem(digits) {
    var brand = brandOf(digits);
    if (!luhnValid(digits) || digits.length < 12 || digits.length > 19) return "invalid_number";
    if (brand === "unknown") return "unsupported_brand";
    if (LENGTHS[brand].indexOf(digits.length) < 0) return "invalid_number";
    return null;
  }

  function readExpiry(text) {
    text = (text || "").trim();
    var found = /^(\d{1,2})\s*\/\s*(\d{4}|\d{2})$/.exec(text) || /^(\d{2})(\d{2})$/.exec(text);
    if (!found) return null;
    var month = parseInt(found[1], 10);
    var year = parseInt(found[2], 10);
    if (month < 1 || month > 12) return null;
    return { month: month, year: year < 100 ? 2000 + year : year };
  }

  function expiryProblem(text, today) {
    var expiry = readExpiry(text);
    if (!expiry) return "invalid_expiry";
    var ahead = (expiry.year - today.getFullYear()) * 12 + expiry.month - (today.getMonth() + 1);
    if (ahead < 0) return "expired";
    if (ahead > MAX_YEARS_AHEAD * 12) return "invalid_expiry";
    return null;
  }

  function cvcProblem(code, digits) {
    var brand = brandOf(digits);
    var lengths = brand === "unknown" ? [3, 4] : [brand === "amex" ? 4 : 3];
    code = (code || "").trim();
    return /^\d+$/.test(code) && lengths.indexOf(code.length) >= 0 ? null : "invalid_cvc";
  }

  function nameProblem(name) {
    var holder = (name || "").trim().replace(/\s+/g, " ");
    if (!holder) return "missing_name";
    if (holder.length > 100) return "invalid_name";
    return null;
  }

  /* "invalid_number" -> the form's data-msg-invalid-number */
  function message(form, code) {
    var key = "msg" + code.split("_").map(function (part) {
      return part.charAt(0).toUpperCase() + part.slice(1);
    }).join("");
    return form.dataset[key] || code;
  }

  function groups(digits) {
    var sizes = brandOf(digits) === "amex" ? [4, 6, 5] : [4, 4, 4, 4, 3];
    var parts = [];
    var at = 0;
    for (var i = 0; i < sizes.length && at < digits.length; i++) {
      parts.push(digits.slice(at, at + sizes[i]));
      at += sizes[i];
    }
    if (at < digits.length) parts.push(digits.slice(at));
    return parts.join(" ");
  }

  function formatNumber(input) {
    var caret = input.selectionStart === null ? input.value.length : input.selectionStart;
    var digitsBefore = digitsOf(input.value.slice(0, caret)).replace(/\D/g, "").length;
    var digits = input.value.replace(/\D/g, "").slice(0, 19);
    var formatted = groups(digits);
    if (formatted === input.value) return;
    input.value = formatted;
    var position = 0;
    var seen = 0;
    while (position < formatted.length && seen < digitsBefore) {
      if (/\d/.test(formatted.charAt(position))) seen++;
      position++;
    }
    if (document.activeElement === input) input.setSelectionRange(position, position);
  }

  function showProblems(form, problems) {
    var order = ["name", "number", "expiry", "cvc"];
    var summary = form.querySelector("#card-errors");
    var list = summary ? summary.querySelector("ul") : null;
    if (list) list.textContent = "";
    order.forEach(function (name) {
      var input = form.querySelector("#card-" + name);
      var error = form.querySelector("#card-" + name + "-error");
      if (!input || !error) return;
      var field = input.closest(".field");
      var code = problems[name];
      if (code) {
        error.textContent = message(form, code);
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        if (field) field.classList.add("invalid");
        if (list) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = "#card-" + name;
          link.textContent = error.textContent;
          item.appendChild(link);
          list.appendChild(item);
        }
      } else {
        error.textContent = "";
        error.hidden = true;
        input.removeAttribute("aria-invalid");
        if (field) field.classList.remove("invalid");
      }
    });
    if (summary) {
      summary.hidden = !list || !list.children.length;
      if (!summary.hidden) {
        summary.setAttribute("tabindex", "-1");
        summary.focus();
      }
    }
  }

  /* What read_card would refuse, field by field: {number: "invalid_number", ...}. */
  function cardProblems(values, today) {
    var digits = digitsOf(values.number);
    var problems = {};
    [
      ["name", nameProblem(values.name)],
      ["number", numberProblem(digits)],
      ["expiry", expiryProblem(values.expiry, today)],
      ["cvc", cvcProblem(values.cvc, digits)]
    ].forEach(function (pair) {
      if (pair[1]) problems[pair[0]] = pair[1];
    });
    return problems;
  }

  function checkCard(form) {
    var value = function (name) {
      var input = form.elements.namedItem(name);
      return input ? input.value : "";
    };
    var problems = cardProblems(
      { name: value("name"), number: value("number"), expiry: value("expiry"), cvc: value("cvc") },
      new Date()
    );
    showProblems(form, problems);
    return Object.keys(problems).length === 0;
  }

  function guardAgainstDoubleSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      if (form.dataset.sent === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "true";
      var buttons = form.querySelectorAll("button[type=submit]");
      /* Disabled after the submission has started, so nothing is left out of it. */
      window.setTimeout(function () {
        buttons.forEach(function (button) {
          button.disabled = true;
          button.setAttribute("aria-busy", "true");
        });
      }, 0);
    });
  }

  function start() {
    var card = document.getElementById("card-form");
    if (card) {
      /* Our messages, not the browser's generic ones. */
      card.noValidate = true;
      var number = card.querySelector("#card-number");
      if (number) {
        number.addEventListener("input", function () {
          formatNumber(number);
        });
      }
      card.addEventListener("submit", function (event) {
        if (!checkCard(card)) event.preventDefault();
      });
    }
    document.querySelectorAll("form[method=post]").forEach(guardAgainstDoubleSubmit);

    /* Coming back with the Back button shows the page from the cache: let it be used again. */
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      document.querySelectorAll("form[data-sent]").forEach(function (form) {
        delete form.dataset.sent;
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
        });
      });
    });

    var outcome = document.getElementById("outcome");
    if (outcome) outcome.focus();
  }

  /* Under Node, for the test that holds these checks to the server's (tests/unit). */
  if (typeof module === "object" && module.exports) {
    module.exports = { cardProblems: cardProblems, groups: groups };
    return;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
