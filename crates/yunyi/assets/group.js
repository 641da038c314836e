// A patient group's conversation: a WebSocket to /api/v1/groups/{id}/ws?after=<last seen>.
// New messages are added in number order, each once; a moderator's decision or a vote
// replaces a message in place; a message no longer shown to this reader goes. After a lost
// connection the page reconnects with the last number it has. Without script (or before the
// socket opens) the forms post as usual; polls, reports and moderation stay forms.
(() => {
  const chat = document.getElementById('group-chat');
  if (!chat) return;
  const id = chat.dataset.group;
  const me = chat.dataset.me;
  const list = document.getElementById('messages');
  const form = document.getElementById('composer');
  const input = document.getElementById('message-text');
  const status = document.getElementById('chat-status');
  let last = Number(chat.dataset.last || 0);
  let socket = null;
  let retry = 500;

  // A message as the page shows it (polls and moderation come with the next page load).
  function item(m) {
    const li = document.createElement('li');
    li.className = 'message' + (String(m.member) === me ? ' mine' : '') + (m.status !== 'shown' ? ` ${m.status}` : '');
    li.dataset.seq = m.seq;
    li.id = `m-${m.seq}`;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = m.nickname;
    li.appendChild(who);
    const body = document.createElement('span');
    body.className = 'body';
    if (m.poll) {
      body.textContent = `${m.poll.question} — ` + m.poll.options.map((o) => `${o.text}: ${o.votes}`).join(' · ');
    } else {
      body.textContent = (m.kind === 'announcement' ? `${chat.dataset.tAnnouncement} ` : '') + m.body;
    }
    li.appendChild(body);
    if (m.status !== 'shown') {
      const tag = document.createElement('span');
      tag.className = 'meta';
      tag.textContent = chat.dataset[m.status === 'held' ? 'tHeld' : 'tHidden'] || m.status;
      li.appendChild(tag);
    }
    return li;
  }

  function add(m) {
    if (m.seq <= last) return;
    last = m.seq;
    const li = item(m);
    list.appendChild(li);
    li.scrollIntoView({ block: 'end' });
  }

  function replace(m) {
    const old = document.getElementById(`m-${m.seq}`);
    if (old) {
      // A poll keeps its voting form: only its figures change, on the next load.
      if (!m.poll) old.replaceWith(item(m));
      return;
    }
    // Released after the page passed its number: put it in order.
    const li = item(m);
    const after = Array.from(list.children).find((x) => Number(x.dataset.seq) > m.seq);
    list.insertBefore(li, after || null);
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/groups/${id}/ws?after=${last}`);
    socket.addEventListener('open', () => {
      retry = 500;
      chat.dataset.connected = 'true';
      if (status) status.textContent = '';
    });
    socket.addEventListener('message', (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === 'message') add(frame);
      else if (frame.type === 'changed') replace(frame);
      else if (frame.type === 'gone') {
        const old = document.getElementById(`m-${frame.seq}`);
        if (old) old.remove();
      } else if (frame.type === 'ack' && frame.status === 'held') {
        // The page explains why (and, for words of self-harm, where to find help).
        location.href = `/groups/${id}?held=${encodeURIComponent(frame.category || '')}#composer`;
      } else if (frame.type === 'error' && status) {
        // In the page's language when the page knows the code (muted, too fast, not a member).
        const known = frame.code && chat.dataset['t' + frame.code.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())];
        status.textContent = known || frame.message;
      }
    });
    socket.addEventListener('close', (event) => {
      chat.dataset.connected = 'false';
      if (event.code === 4401) {
        location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
        return;
      }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    });
  }

  // The newest messages are at the bottom: start there.
  list.scrollTop = list.scrollHeight;

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
  connect();
})();
