// The article editor's picture upload: the chosen file goes to /api/v1/articles/images as it
// is (same origin, the page's CSRF token), and the paragraph that shows it is put into the
// text where the cursor is, as a paragraph of its own. A caption may be written between the
// brackets. Without script the editor still saves text.
(() => {
  const box = document.getElementById('picture-upload');
  const input = document.getElementById('article-picture');
  const body = document.getElementById('body');
  const status = document.getElementById('picture-status');
  if (!box || !input || !body) return;
  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    const response = await fetch('/api/v1/articles/images', {
      method: 'POST',
      body: file,
      headers: { 'x-csrf-token': box.dataset.csrf, 'content-type': file.type || 'application/octet-stream' },
      credentials: 'same-origin',
    });
    input.value = '';
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      if (status) status.textContent = (box.dataset.tFailed || '') + (answer.detail || response.statusText);
      return;
    }
    const at = body.selectionStart ?? body.value.length;
    const before = body.value.slice(0, at).replace(/\s*$/, '');
    const after = body.value.slice(at).replace(/^\s*/, '');
    body.value = `${before}${before ? '\n\n' : ''}${answer.markdown}${after ? '\n\n' : ''}${after}`;
    if (status) status.textContent = '';
  });
})();
