/*
 * lookalike search-by-photo widget: one <script> tag adds a camera button to any storefront page.
 *
 *   <script src="https://search.shop.example/widget.js"
 *           data-api="https://search.shop.example"   (where `lookalike serve` answers; default: this file's origin)
 *           data-key="..."                           (optional: a read-only key, LOOKALIKE_READ_API_KEY)
 *           data-top-k="8"                           (optional: how many products to show)
 *           data-target="#photo-search"              (optional: where to put the button; default: after the tag)
 *           data-label="Search by photo"></script>
 *
 * Plain JavaScript, no build step, no requests to anyone but the search API. Everything the API returns
 * is shop data and is rendered as text (textContent, setAttribute on checked URLs), never as HTML.
 * The API must allow the shop's origin: LOOKALIKE_CORS_ORIGINS='["https://shop.example"]'.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) return;
  var config = {
    api: (script.getAttribute("data-api") || new URL(script.src, location.href).origin).replace(/\/+$/, ""),
    key: script.getAttribute("data-key") || "",
    topK: Math.max(1, Math.min(50, parseInt(script.getAttribute("data-top-k") || "8", 10) || 8)),
    target: script.getAttribute("data-target"),
    label: script.getAttribute("data-label") || "Search by photo",
  };
  var TEXT = {
    searching: "Searching for products like your photo…",
    exact: "We found it:",
    similar: "Products like your photo:",
    none: "We don't seem to carry this — here are the closest products.",
    nothing: "No products found.",
    notImage: "That file is not a photo we can read. Please choose a JPEG, PNG or WebP image.",
    failed: "Sorry, the photo search is not available right now.",
  };

  var CSS = [
    ":host { all: initial; display: inline-block; font: 15px/1.4 system-ui, sans-serif; color: #222; }",
    "button.camera { display: inline-flex; align-items: center; gap: .4em; padding: .5em .9em; border: 1px solid #888;",
    "  border-radius: 6px; background: #fff; cursor: pointer; font: inherit; }",
    "button.camera:hover { background: #f3f3f3; }",
    ".panel { margin-top: .6em; padding: .8em; border: 1px solid #ddd; border-radius: 8px; background: #fff;",
    "  max-width: 56em; box-shadow: 0 2px 10px rgba(0,0,0,.08); }",
    ".panel[hidden] { display: none; }",
    ".status { margin: 0 0 .6em; font-weight: 600; }",
    ".status.error { color: #a00; }",
    ".grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(10em, 1fr)); gap: .8em; }",
    ".product { display: block; color: inherit; text-decoration: none; border: 1px solid #eee; border-radius: 6px;",
    "  padding: .5em; overflow-wrap: anywhere; }",
    "a.product:hover { border-color: #999; }",
    ".product img { display: block; width: 100%; aspect-ratio: 1; object-fit: contain; background: #fafafa; }",
    "svg.icon { width: 1.2em; height: 1.2em; fill: none; stroke: currentColor; stroke-width: 2; }",
    ".title { display: block; margin-top: .3em; }",
    ".price { display: block; font-weight: 700; }",
    ".score { display: block; color: #777; font-size: 85%; }",
    ".close { float: right; border: 0; background: none; font-size: 1.2em; cursor: pointer; }",
  ].join("\n");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* Only http(s) URLs become links or image sources (never javascript:, data: or the like). */
  function safeUrl(value, base) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, base);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function price(hit) {
    if (typeof hit.price !== "number" || !isFinite(hit.price)) return "";
    var currency = typeof hit.currency === "string" && /^[A-Za-z]{3}$/.test(hit.currency) ? hit.currency : "";
    if (currency) {
      try {
        return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(hit.price);
      } catch (e) { /* an unknown code: fall through */ }
    }
    return hit.price.toFixed(2) + (currency ? " " + currency : "");
  }

  function headers() {
    return config.key ? { "X-API-Key": config.key } : {};
  }

  /* The product's image: the shop's own URL when it has one, else the API's copy (fetched with the key
     when one is set, since an <img> cannot send headers). */
  function showImage(img, hit) {
    var own = safeUrl(hit.image_link, location.href);
    var fromApi = safeUrl(hit.image_url, config.api + "/");
    if (own) {
      img.src = own;
    } else if (fromApi && !config.key) {
      img.src = fromApi;
    } else if (fromApi) {
      fetch(fromApi, { headers: headers() })
        .then(function (r) { return r.ok ? r.blob() : null; })
        .then(function (blob) { if (blob) img.src = URL.createObjectURL(blob); })
        .catch(function () {});
    }
  }

  function card(hit) {
    var href = safeUrl(hit.link, location.href);
    var node = el(href ? "a" : "div", "product");
    if (href) {
      node.setAttribute("href", href);
      node.setAttribute("rel", "noopener");
    }
    var img = el("img");
    img.alt = typeof hit.title === "string" ? hit.title : "";
    img.loading = "lazy";
    showImage(img, hit);
    node.appendChild(img);
    node.appendChild(el("span", "title", hit.title || hit.product_id));
    var p = price(hit);
    if (p) node.appendChild(el("span", "price", p));
    if (typeof hit.score === "number") node.appendChild(el("span", "score", "match " + hit.score.toFixed(2)));
    return node;
  }

  /* A camera drawn with SVG shapes (an emoji may have no font on the shopper's device). */
  function cameraIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var body = document.createElementNS(ns, "path");
    body.setAttribute("d", "M3 8h4l2-3h6l2 3h4v11H3z");
    var lens = document.createElementNS(ns, "circle");
    lens.setAttribute("cx", "12");
    lens.setAttribute("cy", "13");
    lens.setAttribute("r", "3.5");
    svg.appendChild(body);
    svg.appendChild(lens);
    return svg;
  }

  function build() {
    var host = el("lookalike-widget");
    var root = host.attachShadow({ mode: "open" });
    root.appendChild(el("style", null, CSS));
    var button = el("button", "camera");
    button.type = "button";
    button.setAttribute("aria-label", config.label);
    button.appendChild(cameraIcon());
    button.appendChild(el("span", null, config.label));
    var input = el("input");
    input.type = "file";
    input.accept = "image/*";
    input.hidden = true;
    var panel = el("div", "panel");
    panel.hidden = true;
    var close = el("button", "close", "\u00D7");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    var status = el("p", "status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var grid = el("div", "grid");
    panel.appendChild(close);
    panel.appendChild(status);
    panel.appendChild(grid);
    root.appendChild(button);
    root.appendChild(input);
    root.appendChild(panel);

    function say(text, isError) {
      panel.hidden = false;
      status.textContent = text;
      status.className = isError ? "status error" : "status";
      host.setAttribute("data-state", isError ? "error" : "ok");
    }

    function show(body) {
      var hits = Array.isArray(body && body.hits) ? body.hits : [];
      grid.replaceChildren();
      if (!hits.length) return say(TEXT.nothing, false);
      say(TEXT[body.match] || TEXT.similar, false);
      host.setAttribute("data-match", String(body.match || ""));
      hits.forEach(function (hit) { grid.appendChild(card(hit)); });
    }

    function search(file) {
      grid.replaceChildren();
      say(TEXT.searching, false);
      host.setAttribute("data-state", "busy");
      if (file.type && file.type.indexOf("image/") !== 0) return say(TEXT.notImage, true);
      var form = new FormData();
      form.append("file", file, file.name || "photo");
      form.append("top_k", String(config.topK));
      fetch(config.api + "/search/image", { method: "POST", body: form, headers: headers(), mode: "cors" })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (r.ok) return show(body);
            say(r.status === 422 || r.status === 413 ? TEXT.notImage : TEXT.failed, true);
          });
        })
        .catch(function () { say(TEXT.failed, true); });
    }

    button.addEventListener("click", function () { input.click(); });
    input.addEventListener("change", function () {
      if (input.files && input.files[0]) search(input.files[0]);
      input.value = "";
    });
    close.addEventListener("click", function () { panel.hidden = true; });
    return host;
  }

  function mount() {
    var host = build();
    var target = config.target ? document.querySelector(config.target) : null;
    if (target) target.appendChild(host);
    else script.parentNode.insertBefore(host, script.nextSibling);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
