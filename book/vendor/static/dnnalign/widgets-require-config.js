// Loaded between require.js and the ipywidgets html-manager (embed-amd.js) on pages with
// widgets. The html-manager derives the URL of its lazily loaded icon fonts from its
// require.js module path; without this mapping that path is taken relative to the page
// (e.g. notebooks/@jupyter-widgets/...) and the fonts 404. Map it to the vendored copy
// next to this file's folder (_static/html-manager), whatever the page's depth.
(function () {
  var here = document.currentScript.src;
  var staticDir = here.slice(0, here.lastIndexOf("/dnnalign/"));
  require.config({
    paths: { "@jupyter-widgets/html-manager/dist": staticDir + "/html-manager" },
  });
})();
