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
        if (tag && tag.dataset.status !== frame.status) location.reload();
      } else if (frame.type === 'error' && status) status.textContent = frame.message;
    });
    socket.addEventListener('close', () => {
      chat.dataset.connected = 'false';
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

  connect();
})();
