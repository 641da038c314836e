// The consultation chat: a WebSocket to /api/v1/consultations/{id}/ws?after=<last seen>.
// Messages are shown in number order, each once; after a lost connection the page reconnects
// with the last number it has, so it catches up without loss or duplicates. Sending goes over
// the socket; pictures are uploaded with the same-origin API (CSRF token from the page).
(() => {
  const chat = document.getElementById('chat');
  if (!chat) return;
  const id = chat.dataset.consultation;
  const me = chat.dataset.me;
  const list = document.getElementById('messages');
  const form = document.getElementById('send-form');
  const input = document.getElementById('message-text');
  const status = document.getElementById('chat-status');
  const imageInput = document.getElementById('image-input');
  let last = Number(chat.dataset.last || 0);
  let socket = null;
  let retry = 500;

  function show(m) {
    if (m.seq <= last) return;
    last = m.seq;
    const li = document.createElement('li');
    li.className = 'message' + (String(m.sender_id) === me ? ' mine' : '');
    li.dataset.seq = m.seq;
    if (m.kind === 'image') {
      const img = document.createElement('img');
      img.src = `/api/v1/consultations/${id}/messages/${m.seq}/image`;
      img.alt = '';
      li.appendChild(img);
    } else {
      const body = document.createElement('span');
      body.className = 'body';
      body.textContent = m.body;
      li.appendChild(body);
    }
    list.appendChild(li);
    li.scrollIntoView({ block: 'end' });
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: 'read', seq: m.seq }));
    }
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/consultations/${id}/ws?after=${last}`);
    socket.addEventListener('open', () => {
      retry = 500;
      chat.dataset.connected = 'true';
      if (status) status.textContent = '';
    });
    socket.addEventListener('message', (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === 'message') show(frame);
      else if (frame.type === 'status') {
        const tag = document.getElementById('status');
        if (!tag || tag.dataset.status === frame.status) return;
        tag.dataset.status = frame.status;
        // Open states are shown in place; an ended one reloads the page (its forms go),
        // unless a call rang or ran on this page.
        const label = tag.getAttribute(`data-t-${frame.status}`);
        if (label) tag.textContent = label;
        else if (!call.active()) location.reload();
      } else if (frame.type === 'signal') call.onSignal(frame.data);
      else if (frame.type === 'error' && status) status.textContent = frame.message;
    });
    socket.addEventListener('close', (event) => {
      chat.dataset.connected = 'false';
      // 4401: the session ended (signed out, revoked, expired): sign in again, no retrying.
      if (event.code === 4401) {
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    });
  }

  if (form && input) {
    form.addEventListener('submit', (event) => {
      if (!socket || socket.readyState !== WebSocket.OPEN) return; // the plain form posts
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      socket.send(JSON.stringify({ type: 'message', text, client_id: String(Date.now()) }));
      input.value = '';
    });
  }

  if (imageInput) {
    imageInput.addEventListener('change', async () => {
      const file = imageInput.files && imageInput.files[0];
      if (!file) return;
      const response = await fetch(`/api/v1/consultations/${id}/images`, {
        method: 'POST',
        body: file,
        headers: { 'x-csrf-token': chat.dataset.csrf, 'content-type': file.type || 'application/octet-stream' },
        credentials: 'same-origin',
      });
      imageInput.value = '';
      if (!response.ok && status) {
        const problem = await response.json().catch(() => ({}));
        status.textContent = problem.detail || response.statusText;
      }
    });
  }

  // Video calls: WebRTC between the two browsers, with this server relaying the offer, the
  // answer and the ICE candidates over the chat's socket.
  const call = (() => {
    const box = document.getElementById('call');
    if (!box) return { active: () => false, onSignal: () => {} };
    const stateLine = document.getElementById('call-state');
    const videos = document.getElementById('videos');
    const incoming = document.getElementById('incoming-call');
    // Entries are RTCIceServer objects (TURN ones with time-limited credentials).
    const iceServers = JSON.parse(box.dataset.ice || '[]');
    let pc = null;
    let local = null;
    let pendingOffer = null;
    const pendingCandidates = [];

    function setState(state, text) {
      box.dataset.state = state;
      if (stateLine) stateLine.textContent = text || '';
    }
    function signal(data) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'signal', data }));
    }
    function record(event) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'call', event }));
    }
    async function media() {
      try {
        local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      } catch (e) {
        const key = e && e.name === 'NotFoundError' ? 'tNodevice' : e && e.name === 'NotAllowedError' ? 'tDenied' : 'tFailed';
        setState('error', box.dataset[key]);
        throw e;
      }
      document.getElementById('local-video').srcObject = local;
    }
    function peer() {
      pc = new RTCPeerConnection({ iceServers });
      local.getTracks().forEach((t) => pc.addTrack(t, local));
      pc.addEventListener('icecandidate', (e) => { if (e.candidate) signal({ kind: 'candidate', candidate: e.candidate.toJSON() }); });
      pc.addEventListener('track', (e) => { document.getElementById('remote-video').srcObject = e.streams[0]; });
      pc.addEventListener('connectionstatechange', () => {
        if (!pc) return;
        if (pc.connectionState === 'connected') setState('connected', box.dataset.tConnected);
        else if (pc.connectionState === 'failed') setState('failed', box.dataset.tFailed);
      });
      videos.hidden = false;
    }
    async function flushCandidates() {
      while (pendingCandidates.length) await pc.addIceCandidate(pendingCandidates.shift());
    }
    function close(state) {
      if (pc) pc.close();
      pc = null;
      if (local) local.getTracks().forEach((t) => t.stop());
      local = null;
      videos.hidden = true;
      incoming.hidden = true;
      setState(state, box.dataset.tEnded);
    }
    document.getElementById('start-call').addEventListener('click', async () => {
      if (pc) return;
      await media();
      peer();
      setState('calling', box.dataset.tCalling);
      record('start');
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      signal({ kind: 'offer', sdp: offer.sdp });
    });
    document.getElementById('answer-call').addEventListener('click', async () => {
      if (!pendingOffer) return;
      incoming.hidden = true;
      await media();
      peer();
      await pc.setRemoteDescription({ type: 'offer', sdp: pendingOffer });
      pendingOffer = null;
      await flushCandidates();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      signal({ kind: 'answer', sdp: answer.sdp });
    });
    document.getElementById('hang-up').addEventListener('click', () => {
      signal({ kind: 'bye' });
      record('end');
      close('ended');
    });
    return {
      // Once a call rang or ran on this page, the page is not reloaded under the user.
      active: () => pc !== null || pendingOffer !== null || box.dataset.state !== 'idle',
      async onSignal(data) {
        if (!data) return;
        if (data.kind === 'offer') {
          pendingOffer = data.sdp;
          incoming.hidden = false;
          setState('ringing', '');
        } else if (data.kind === 'answer' && pc) {
          await pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
          await flushCandidates();
        } else if (data.kind === 'candidate') {
          if (pc && pc.remoteDescription) await pc.addIceCandidate(data.candidate);
          else pendingCandidates.push(data.candidate);
        } else if (data.kind === 'bye') {
          pendingOffer = null;
          close('ended');
        }
      },
    };
  })();

  connect();
})();
