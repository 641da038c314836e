// A remote consultation's page: the inviting doctor attaches the scan of a consent signed on
// paper. The form sends the file to the same-origin API with who signed and who witnessed; the
// server checks the file by its bytes. On success the page shows the recorded consent; on a
// refusal, the page's own message (in its language).
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.consentScan) return;
  event.preventDefault();
  const file = form.querySelector('input[type=file]').files[0];
  const status = form.querySelector('[role=status]');
  if (!file) {
    status.textContent = form.dataset.error;
    return;
  }
  const query = new URLSearchParams({
    signer: form.elements.signer.value,
    witness: form.elements.witness.value,
  });
  const response = await fetch(`${form.dataset.consentScan}?${query}`, {
    method: 'PUT',
    body: file,
    headers: { 'x-csrf-token': document.body.dataset.csrf, 'content-type': file.type || 'application/octet-stream' },
    credentials: 'same-origin',
  });
  if (response.ok) {
    window.location.reload();
    return;
  }
  status.textContent = form.dataset.error;
});

// The session's video room: a WebSocket to /api/v1/remote-consultations/{id}/room carries the
// WebRTC signalling; the pictures go browser to browser, each to every other (a mesh of at
// most six). Whoever is in the room offers a connection to each newcomer, so two sides never
// offer to each other at once. Screen sharing replaces the camera's track in every connection
// (no renegotiation), so a specialist can show an image on their screen.
(() => {
  const box = document.getElementById('room');
  if (!box) return;
  box.hidden = false;
  // With this script the room is how one joins; the plain form stays for pages without it.
  const joinButton = document.getElementById('join');
  if (joinButton) joinButton.closest('form').hidden = true;
  const t = (key) => box.dataset[key] || '';
  const iceServers = JSON.parse(box.dataset.ice || '[]');
  const grid = document.getElementById('room-videos');
  const actions = document.getElementById('room-actions');
  const enter = document.getElementById('room-enter');
  const shareButton = document.getElementById('share-screen');
  const stateLine = document.getElementById('room-state');
  // The uplink each browser spends on pictures, shared among the connections it sends to.
  const UPLINK_BPS = 1500000;
  const peers = new Map(); // conn → { pc, figure, pending: [], stream }
  const early = new Map(); // conn → ICE candidates that came before its offer
  let socket = null;
  let local = null;
  let screen = null;
  let ending = null;

  function setState(state, text) {
    box.dataset.state = state;
    stateLine.textContent = text || '';
  }
  function partName(part) {
    return t(`t${part.charAt(0).toUpperCase()}${part.slice(1)}`);
  }
  function tile(name, part, muted) {
    const figure = document.createElement('figure');
    figure.className = 'tile';
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = muted;
    const caption = document.createElement('figcaption');
    caption.textContent = part ? `${name} · ${partName(part)}` : name;
    figure.append(video, caption);
    grid.append(figure);
    return figure;
  }
  // The page says how many others it sees and hears (a test waits for this).
  function recount() {
    const live = [...peers.values()].filter((p) => p.stream && p.pc.connectionState === 'connected');
    box.dataset.remoteStreams = String(live.length);
    if (box.dataset.state === 'error' || !socket) return;
    if (peers.size === 0) setState('waiting', t('tWaiting'));
    else if (live.length === peers.size) setState('connected', t('tConnected'));
    else setState('connecting', t('tConnecting'));
  }
  // Each connection gets its share of the uplink, so six people still fit one line.
  async function budget() {
    const each = Math.floor(UPLINK_BPS / Math.max(1, peers.size));
    for (const p of peers.values()) {
      for (const sender of p.pc.getSenders()) {
        if (!sender.track || sender.track.kind !== 'video') continue;
        const params = sender.getParameters();
        if (!params.encodings || !params.encodings.length) continue;
        params.encodings[0].maxBitrate = each;
        await sender.setParameters(params).catch(() => {});
      }
    }
  }
  function send(to, data) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'signal', to, data }));
  }
  function peerFor(conn, name, part) {
    let p = peers.get(conn);
    if (p) return p;
    const pc = new RTCPeerConnection({ iceServers });
    p = { pc, figure: tile(name, part, false), pending: early.get(conn) || [], stream: null };
    early.delete(conn);
    peers.set(conn, p);
    const shown = screen ? screen.getVideoTracks()[0] : null;
    local.getTracks().forEach((track) => pc.addTrack(track.kind === 'video' && shown ? shown : track, local));
    pc.addEventListener('icecandidate', (e) => { if (e.candidate) send(conn, { kind: 'candidate', candidate: e.candidate.toJSON() }); });
    pc.addEventListener('track', (e) => {
      p.stream = e.streams[0];
      p.figure.querySelector('video').srcObject = e.streams[0];
      recount();
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') setState('failed', t('tFailed'));
      recount();
      if (pc.connectionState === 'connected') budget();
    });
    return p;
  }
  function drop(conn) {
    const p = peers.get(conn);
    if (!p) return;
    p.pc.close();
    p.figure.remove();
    peers.delete(conn);
    recount();
    budget();
  }
  async function flush(p) {
    while (p.pending.length) await p.pc.addIceCandidate(p.pending.shift());
  }
  async function onSignal(frame) {
    const data = frame.data || {};
    if (data.kind === 'offer') {
      const p = peerFor(frame.from, frame.name, frame.part);
      await p.pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
      await flush(p);
      const answer = await p.pc.createAnswer();
      await p.pc.setLocalDescription(answer);
      send(frame.from, { kind: 'answer', sdp: answer.sdp });
    } else if (data.kind === 'answer') {
      const p = peers.get(frame.from);
      if (!p) return;
      await p.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
      await flush(p);
    } else if (data.kind === 'candidate') {
      const p = peers.get(frame.from);
      if (p && p.pc.remoteDescription) await p.pc.addIceCandidate(data.candidate);
      else if (p) p.pending.push(data.candidate);
      else early.set(frame.from, [...(early.get(frame.from) || []), data.candidate]);
    }
  }
  async function offerTo(frame) {
    const p = peerFor(frame.conn, frame.name, frame.part);
    const offer = await p.pc.createOffer();
    await p.pc.setLocalDescription(offer);
    send(frame.conn, { kind: 'offer', sdp: offer.sdp });
  }
  function teardown(state, text) {
    for (const conn of [...peers.keys()]) drop(conn);
    early.clear();
    if (local) local.getTracks().forEach((track) => track.stop());
    if (screen) screen.getTracks().forEach((track) => track.stop());
    local = null;
    screen = null;
    socket = null;
    grid.replaceChildren();
    grid.hidden = true;
    actions.hidden = true;
    enter.hidden = false;
    box.dataset.remoteStreams = '0';
    setState(state, text);
  }
  async function join() {
    enter.hidden = true;
    try {
      local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (e) {
      const key = e && e.name === 'NotFoundError' ? 'tNodevice' : e && e.name === 'NotAllowedError' ? 'tDenied' : 'tFailed';
      enter.hidden = false;
      setState('error', t(key));
      return;
    }
    grid.hidden = false;
    actions.hidden = false;
    tile(t('tYou'), '', true).querySelector('video').srcObject = local;
    setState('connecting', t('tConnecting'));
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}${box.dataset.room}`);
    socket = ws;
    let opened = false;
    ending = null;
    ws.addEventListener('open', () => { opened = true; });
    ws.addEventListener('message', (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === 'welcome') recount();
      else if (frame.type === 'joined') offerTo(frame);
      else if (frame.type === 'left') drop(frame.conn);
      else if (frame.type === 'signal') onSignal(frame);
      else if (frame.type === 'replaced' || frame.type === 'ended') ending = frame.type;
    });
    ws.addEventListener('close', (event) => {
      if (socket !== ws) return;
      if (event.code === 4401) {
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
      if (ending === 'ended') {
        teardown('ended', t('tEnded'));
        location.reload();
      } else if (ending === 'replaced') teardown('replaced', t('tReplaced'));
      else teardown('error', opened ? t('tFailed') : t('tRefused'));
    });
  }
  function leave() {
    const ws = socket;
    teardown('idle', '');
    if (ws) ws.close();
  }
  async function useTrack(track) {
    for (const p of peers.values()) {
      const sender = p.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
      if (sender) await sender.replaceTrack(track);
    }
    grid.querySelector('video').srcObject = screen || local;
  }
  async function stopSharing() {
    if (!screen) return;
    screen.getTracks().forEach((track) => track.stop());
    screen = null;
    shareButton.textContent = shareButton.dataset.label;
    box.dataset.sharing = 'false';
    if (local) await useTrack(local.getVideoTracks()[0]);
  }
  async function share() {
    if (screen) {
      await stopSharing();
      return;
    }
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
    } catch (e) {
      return; // The user chose not to share.
    }
    const track = screen.getVideoTracks()[0];
    track.addEventListener('ended', stopSharing);
    shareButton.dataset.label = shareButton.dataset.label || shareButton.textContent;
    shareButton.textContent = shareButton.dataset.tStop;
    await useTrack(track);
    // Set once every connection sends the screen (a test waits for it).
    box.dataset.sharing = 'true';
  }
  enter.addEventListener('click', join);
  document.getElementById('room-leave').addEventListener('click', leave);
  if (navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) shareButton.addEventListener('click', share);
  else shareButton.hidden = true;
  window.addEventListener('pagehide', () => { if (socket) socket.close(); });
})();
