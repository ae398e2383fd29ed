// dnnalign book: typeset the page's math with KaTeX (vendored under _static/katex/).
// Sphinx loads this file as its `mathjax_path` on pages with math only. It renders
// Sphinx's inline \( ... \) spans and display \[ ... \] divs (a div without delimiters,
// such as an amsmath environment, is display math). A formula KaTeX cannot read is left
// as its source and reported on the console, where the browser test sees it.
(function () {
  "use strict";
  var base = document.currentScript.src.replace(/dnnalign\/katex-math\.js.*$/, "katex/");
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "katex.min.css";
  document.head.appendChild(css);

  function source(el) {
    var tex = el.textContent.trim();
    var display = el.tagName === "DIV";
    if (tex.startsWith("\\(") && tex.endsWith("\\)")) {
      tex = tex.slice(2, -2);
    } else if (tex.startsWith("\\[") && tex.endsWith("\\]")) {
      tex = tex.slice(2, -2);
      display = true;
    }
    return { tex: tex, display: display };
  }

  function render() {
    document.querySelectorAll("span.math, div.math").forEach(function (el) {
      var math = source(el);
      try {
        window.katex.render(math.tex, el, { displayMode: math.display, throwOnError: true });
        el.classList.add("math-rendered");
      } catch (err) {
        console.error("math not typeset: " + err.message);
      }
    });
  }

  var script = document.createElement("script");
  script.src = base + "katex.min.js";
  script.onload = function () {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", render);
    } else {
      render();
    }
  };
  document.head.appendChild(script);
})();
