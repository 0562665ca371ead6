// The service worker of the door-to-door page (scope /screening/): pages and static files are
// fetched from the network when there is one and kept, and answered from what was kept when
// there is none, so the page opens in a basement. Visits never pass through here: the page
// queues them in IndexedDB and posts them itself.
var CACHE = "fangkong-screening-v2";

self.addEventListener("install", function (event) {
  self.skipWaiting();
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(["/screening/work/"]); }).catch(function () {}));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// The page sends the addresses of what it needs to open offline (same origin only).
self.addEventListener("message", function (event) {
  var keep = (event.data && event.data.keep) || [];
  var mine = keep.filter(function (url) { return new URL(url, self.location.href).origin === self.location.origin; });
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(mine); }).catch(function () {}));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var page = url.pathname === "/screening/work/" || url.pathname === "/screening/manifest.webmanifest";
  if (!page && url.pathname.indexOf("/static/") !== 0) { return; }
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, {ignoreSearch: page, ignoreVary: true}).then(function (hit) { return hit || Response.error(); });
    })
  );
});
