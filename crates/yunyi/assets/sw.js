// Yunyi's service worker: when the network is gone, a page asked for gets the offline page
// instead of the browser's error. Nothing else is cached: patient data never sits in a cache
// on a shared phone. `__ASSETS__` is the asset prefix, filled in when this file is served.
const CACHE = "yunyi-offline-v1";
const OFFLINE = "/offline";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll([OFFLINE, "__ASSETS__/app.css"])),
  );
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method === "GET" && request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE)));
  } else if (request.method === "GET" && request.url.endsWith("/app.css")) {
    event.respondWith(fetch(request).catch(() => caches.match(request)));
  }
});
