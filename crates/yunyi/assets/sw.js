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

// Web Push: the server's message (decrypted by the browser) shown as a notification; a tap
// opens where it leads, in a Yunyi tab already open when there is one. A message told twice
// carries the same tag and replaces itself.
self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (e) {
    message = {};
  }
  const title = message.title || "云医";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: message.body || "",
      tag: message.tag,
      icon: "__ASSETS__/icon.svg",
      data: { link: message.link || "/notifications" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const link = (event.notification.data && event.notification.data.link) || "/notifications";
  // Only a path of this site.
  const target = new URL(link.startsWith("/") && !link.startsWith("//") ? link : "/notifications", self.location.origin);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((tabs) => {
      const open = tabs.find((t) => new URL(t.url).origin === target.origin && "navigate" in t);
      return open ? open.navigate(target.href).then((t) => t && t.focus()) : self.clients.openWindow(target.href);
    }),
  );
});
